"""Cursors: opaque, round-tripping, and refused with one clear error when tampered with."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import column

from alejandria.errors import AlejandriaError, InvalidRequest
from alejandria.library.pages import (
    MAX_LIMIT,
    Order,
    Page,
    SortKey,
    clamp_limit,
    decode_cursor,
    encode_cursor,
)


def _cursor(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_cursor_round_trips_and_is_url_safe():
    cursor = encode_cursor("posts.newest", ["2024-01-01T09:00:00+00:00", 17])
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(cursor, "posts.newest", 2) == ["2024-01-01T09:00:00+00:00", 17]


@pytest.mark.parametrize("cursor", [
    "", "not base64 at all!", "%%%", _cursor([1, 2]), _cursor({"o": "posts.newest"}),
    _cursor({"o": "posts.newest", "k": [1]}), _cursor({"o": "posts.newest", "k": "x"}),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(), "A" * 5000,
])
def test_a_malformed_cursor_is_an_invalid_request(cursor):
    with pytest.raises(InvalidRequest, match="cursor"):
        decode_cursor(cursor, "posts.newest", 2)


def test_a_cursor_of_another_order_is_refused():
    with pytest.raises(InvalidRequest, match="another list or sort"):
        decode_cursor(encode_cursor("posts.title", ["a", 1]), "posts.newest", 2)


def test_invalid_request_is_an_alejandria_error_and_a_value_error():
    assert issubclass(InvalidRequest, AlejandriaError) and issubclass(InvalidRequest, ValueError)


@pytest.mark.parametrize("values", [["x", 1], [None, "1"], [None, True], ["2024-13-01", 1],
                                    [5, 1]])
def test_values_of_the_wrong_type_are_refused(values):
    from datetime import datetime

    order = Order("t", (SortKey(column("published_at"), nullable=True, kind=datetime),
                        SortKey(column("id"))))
    with pytest.raises(InvalidRequest):
        order.after(encode_cursor("t", values))


def test_a_null_key_in_a_non_nullable_column_is_refused():
    order = Order("t", (SortKey(column("title"), kind=str), SortKey(column("id"))))
    with pytest.raises(InvalidRequest):
        order.after(encode_cursor("t", [None, 1]))


def test_limits_are_clamped():
    assert [clamp_limit(n) for n in (-5, 0, 1, 50, 200, 201, 10_000)] == [1, 1, 1, 50, 200,
                                                                          MAX_LIMIT, MAX_LIMIT]


def test_a_page_as_json():
    class Item:
        def as_json(self) -> dict[str, int]:
            return {"id": 1}

    assert Page([Item()], "abc").as_json() == {"items": [{"id": 1}], "next": "abc"}
    assert Page[Item]([]).as_json() == {"items": [], "next": None}

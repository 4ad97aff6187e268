"""Keyset pagination: a page of items, and the opaque cursor that asks for the next one.

A cursor is the URL-safe base64 (unpadded) of JSON naming the sort order and the last row's
sort key, id last: ``{"o": "newest", "k": ["2024-05-01T10:00:00+00:00", 42]}``. The next page
is the rows strictly after that key in that order (``after``), never an OFFSET: a page stays
right while rows are added, and costs the same however deep it is. The id breaks every tie,
so each row comes exactly once. NULLs sort last in both directions.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.engine import Row

from alejandria.errors import InvalidRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: A cursor longer than this is not one we made.
_MAX_CURSOR_CHARS = 4096


class JsonItem(Protocol):
    def as_json(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=JsonItem)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of ``items``; ``next`` is the cursor of the page after it (None: the last)."""

    items: list[T]
    next: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"items": [item.as_json() for item in self.items], "next": self.next}


@dataclass(frozen=True)
class SortKey:
    """One column of an order: its expression, direction, whether it may be NULL, and the
    type its cursor value must have (``datetime`` travels as an ISO string)."""

    expression: ColumnElement[Any]
    descending: bool = False
    nullable: bool = False
    kind: type = int

    def order_by(self) -> ColumnElement[Any]:
        ordered = self.expression.desc() if self.descending else self.expression.asc()
        return ordered.nulls_last()

    def encode(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    def decode(self, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if self.kind is datetime and isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                raise _bad_cursor() from None
        if self.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise _bad_cursor()
        if self.kind is not datetime and isinstance(value, self.kind):
            return value
        raise _bad_cursor()


@dataclass(frozen=True)
class Order:
    """A named order of rows: its sort keys, the last one unique (the id)."""

    name: str
    keys: tuple[SortKey, ...]

    def order_by(self) -> list[ColumnElement[Any]]:
        return [key.order_by() for key in self.keys]

    def after(self, cursor: str) -> ColumnElement[bool]:
        """The rows strictly after the cursor's key, in this order."""
        values = decode_cursor(cursor, self.name, len(self.keys))
        decoded = [key.decode(value) for key, value in zip(self.keys, values, strict=True)]
        return after(self.keys, decoded)

    def cursor_of(self, values: Sequence[Any]) -> str:
        return encode_cursor(self.name, [key.encode(value)
                                         for key, value in zip(self.keys, values, strict=True)])


def after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """``(k1, k2, ...) > (v1, v2, ...)`` in the keys' directions, NULLs last: the OR, over
    each key, of "every earlier key equal and this one strictly after"."""
    alternatives: list[ColumnElement[bool]] = []
    equal_so_far: list[ColumnElement[bool]] = []
    for key, value in zip(keys, values, strict=True):
        column = key.expression
        if value is None:  # NULLs come last: nothing is after NULL but more NULLs
            strictly: ColumnElement[bool] = false()
            same: ColumnElement[bool] = column.is_(None)
        else:
            beyond = column < value if key.descending else column > value
            strictly = or_(beyond, column.is_(None)) if key.nullable else beyond
            same = column == value
        alternatives.append(and_(*equal_so_far, strictly))
        equal_so_far.append(same)
    return or_(*alternatives)


def clamp_limit(limit: int) -> int:
    """``limit`` within 1..``MAX_LIMIT``."""
    return max(1, min(MAX_LIMIT, int(limit)))


def encode_cursor(order: str, key: list[Any]) -> str:
    raw = json.dumps({"o": order, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, order: str, length: int) -> list[Any]:
    """The key in ``cursor``; ``InvalidRequest`` for anything we did not make for ``order``."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > _MAX_CURSOR_CHARS:
        raise _bad_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _bad_cursor() from None
    if not isinstance(data, dict) or not isinstance(data.get("k"), list):
        raise _bad_cursor()
    if data.get("o") != order:
        raise InvalidRequest("this page cursor is for another list or sort order: start again "
                             "from the first page")
    key: list[Any] = data["k"]
    if len(key) != length:
        raise _bad_cursor()
    return key


def _bad_cursor() -> InvalidRequest:
    return InvalidRequest("invalid page cursor: use the 'next' value of a page as it is")


def build_page(rows: Sequence[Row[Any]], limit: int, order: Order,
               key_of: Callable[[Row[Any]], Sequence[Any]],
               make: Callable[[Row[Any]], T]) -> Page[T]:
    """The page of the first ``limit`` rows (the query fetched ``limit + 1``: one more says
    there is a next page), with the cursor after its last row."""
    shown = rows[:limit]
    items = [make(row) for row in shown]
    more = len(rows) > limit and bool(shown)
    return Page(items, order.cursor_of(key_of(shown[-1])) if more else None)

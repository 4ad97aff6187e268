"""ReadAhead: fetching runs ahead on a thread; order, failures and early exits are kept."""

from __future__ import annotations

import threading
import time

import pytest

from alejandria.sync.read_ahead import ReadAhead


def test_items_arrive_in_order_per_key_and_failures_are_per_key():
    def fetch(key: str):
        if key == "bad":
            yield "partial"
            raise ValueError("corrupt")
        yield from (f"{key}{i}" for i in range(3))

    keys = ["a", "bad", "b"]
    with ReadAhead(keys, fetch, depth=2) as ahead:
        assert list(ahead.items("a")) == ["a0", "a1", "a2"]
        got = []
        with pytest.raises(ValueError, match="corrupt"):
            got.extend(ahead.items("bad"))
        assert got == ["partial"]
        assert list(ahead.items("b")) == ["b0", "b1", "b2"]


def test_abandoned_key_is_skipped_by_the_next_one():
    keys = ["a", "b"]
    with ReadAhead(keys, lambda k: (f"{k}{i}" for i in range(50)), depth=4) as ahead:
        first = ahead.items("a")
        assert next(first) == "a0"
        assert list(ahead.items("b"))[:2] == ["b0", "b1"]


def test_fetching_runs_ahead_while_the_consumer_works():
    fetched: list[str] = []
    keys = ["a", "b"]

    def fetch(key: str):
        fetched.append(key)
        yield key

    with ReadAhead(keys, fetch) as ahead:
        assert list(ahead.items("a")) == ["a"]
        deadline = time.monotonic() + 5
        while "b" not in fetched and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fetched == ["a", "b"]


def test_close_stops_a_fetcher_blocked_on_a_full_queue():
    def endless(_key: str):
        while True:
            yield "x"

    ahead = ReadAhead(["k"], endless, depth=1)
    with ahead:
        next(ahead.items("k"))
    assert not any(t.name == "alejandria-read-ahead" for t in threading.enumerate())

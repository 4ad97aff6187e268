"""What the web app keeps in memory between requests: encoded answers (a post's detail) and
checked API tokens, valid while the archive has not changed.

Both are checked against the core ``ChangeFeed``: an entry is tagged with the feed's
generation read before the database was, and is served only while it is still the
generation, so a change committed anywhere (another web worker, a Celery worker, the CLI,
another host) empties the cache within the time Postgres takes to notify. Writes committed
through this process move the generation on at once (the feed counts its engine's commits,
and ``bump_after_writes`` each successful unsafe request before its answer starts), so a
client always reads its own writes from the worker that made them. While the feed is not
listening nothing is kept or served.

A checked token is also kept no longer than ``TOKEN_TTL_S``: its last-used time is written
by a real check, which then happens at least that often, and an expiry time passes by
itself (without a change to notify).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, Protocol, TypeVar

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send


class ChangeFeed(Protocol):
    """What the caches need of core's ``ChangeFeed`` (``Archive.change_feed()``)."""

    @property
    def generation(self) -> int | None: ...

    def bump(self) -> None: ...

    def start(self) -> object: ...

    def stop(self) -> None: ...


T = TypeVar("T")

TOKEN_TTL_S = 30.0
#: The longest an answer is kept even with no news of a change: a backstop, should a
#: notification ever be lost on its way.
VIEW_TTL_S = 60.0
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class GenerationCache(Generic[T]):
    """A bounded LRU whose entries hold for one generation of ``feed`` (and until their own
    deadline, if they have one)."""

    def __init__(self, feed: ChangeFeed | None, *, max_entries: int = 4096,
                 max_bytes: int = 64 * 1024 * 1024) -> None:
        self.feed = feed
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[T, float | None, int]] = OrderedDict()
        self._generation: int | None = None
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def generation(self) -> int | None:
        """Read before reading the database; give it to ``put`` with what was read."""
        return self.feed.generation if self.feed is not None else None

    def get(self, key: Hashable) -> T | None:
        current = self.generation()
        with self._lock:
            if current is None or current != self._generation:
                self._clear(current)
                self.misses += 1
                return None
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            value, deadline, _size = found
            if deadline is not None and time.monotonic() >= deadline:
                self._drop(key)
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, generation: int | None, value: T, *, size: int = 0,
            ttl_s: float | None = None) -> None:
        """Keep ``value`` if nothing changed since ``generation`` was read."""
        if generation is None or size > self.max_bytes // 4:
            return
        with self._lock:
            current = self.generation()
            if current != generation:
                return
            if self._generation != current:
                self._clear(current)
            if key in self._entries:
                self._drop(key)
            deadline = time.monotonic() + ttl_s if ttl_s is not None else None
            self._entries[key] = (value, deadline, size)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                oldest = next(iter(self._entries))
                self._drop(oldest)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _drop(self, key: Hashable) -> None:
        _value, _deadline, size = self._entries.pop(key)
        self._bytes -= size

    def _clear(self, generation: int | None) -> None:
        self._entries.clear()
        self._bytes = 0
        self._generation = generation


class WebCaches:
    """The app's caches, over one change feed (``app.state.caches``); None: no caching."""

    def __init__(self, feed: ChangeFeed | None, *, max_entries: int = 4096,
                 max_bytes: int = 64 * 1024 * 1024) -> None:
        self.feed = feed
        self.views: GenerationCache[bytes] = GenerationCache(
            feed, max_entries=max_entries, max_bytes=max_bytes)
        self.tokens: GenerationCache[Any] = GenerationCache(feed, max_entries=1024)

    def bump(self) -> None:
        if self.feed is not None:
            self.feed.bump()

    def start(self) -> None:
        """Listen for changes (the feed also counts this process's own commits at once)."""
        if self.feed is not None:
            self.feed.start()

    def stop(self) -> None:
        if self.feed is not None:
            self.feed.stop()


def bump_after_writes(app: ASGIApp, caches: WebCaches) -> ASGIApp:
    """An ASGI wrapper: when an unsafe request's answer starts (its transaction committed by
    then), move the generation on, so this worker never serves what it cached before its own
    write; the client cannot ask again before it has the answer."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method", "GET") in SAFE_METHODS:
            await app(scope, receive, send)
            return

        async def send_after_bump(message: Message) -> None:
            # a refused request (401, 403, 415, a failed login...) changed nothing readers see
            if message["type"] == "http.response.start" and message["status"] < 400:
                caches.bump()
            await send(message)

        await app(scope, receive, send_after_bump)

    return wrapped

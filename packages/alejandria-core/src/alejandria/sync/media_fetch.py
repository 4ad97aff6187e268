"""Fetching and storing a batch's new files on several threads, when the source allows it.

The pipeline writes rows on one thread. A file costs a download, a hash and a write into the
store, none of which needs that thread or the database, so for a source whose ``open_media``
may run on several threads at once (``media_concurrency`` above 1) a window of the new files
is fetched and stored ahead, in the order the pipeline will ask for them (the batch being
written first, then the part after the next checkpoint), and the pipeline only records each
one when it gets to it. With ``media_concurrency`` 1 (the default)
each file is fetched on the writing thread when it is asked for, as ``open_media`` promises.

A file stored ahead by a batch that then fails is a complete, correct file that has no row
yet: the next sync finds it in the store and records it. An error of one file (``ItemRejected``
for a file the source cannot serve, a ``MediaError``) is raised when that file is asked for,
exactly as if it had been fetched then.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from alejandria.models import MediaIn

Stored = TypeVar("Stored")

#: Files fetched ahead per worker thread: enough that the threads keep working while the writer
#: spends a batch's time in the database (2 left them idle; 4 was 5-10 % faster in the Patreon
#: bench, 8 no faster than 4). They are stored files, not memory.
WINDOW_PER_WORKER = 4


class MediaFetcher(Generic[Stored]):
    """Runs ``store_file`` for planned files on ``workers`` threads, a window ahead."""

    def __init__(self, store_file: Callable[[MediaIn], Stored], *, workers: int,
                 window: int | None = None) -> None:
        self._store_file = store_file
        self.workers = max(1, workers)
        self._window = max(1, window or WINDOW_PER_WORKER * self.workers)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._planned: deque[MediaIn] = deque()  # not yet submitted, in order
        self._futures: dict[str, Future[Stored]] = {}  # submitted, not yet taken

    @property
    def parallel(self) -> bool:
        return self.workers > 1

    def plan(self, media: Iterable[MediaIn], *, first: bool = False) -> None:
        """Start on these files, in the order ``take`` will ask for them (once per key);
        ``first``: before the files planned earlier that are not started yet (the files the
        writer needs now go before those of a part it has only looked at)."""
        if not self.parallel:
            return
        with self._lock:
            ordered: dict[str, MediaIn] = {}
            for item in media:
                if item.key not in self._futures:
                    ordered.setdefault(item.key, item)
            if first:
                self._planned = deque([*ordered.values(), *(
                    item for item in self._planned if item.key not in ordered)])
            else:
                waiting = {item.key for item in self._planned}
                self._planned.extend(item for key, item in ordered.items()
                                     if key not in waiting)
            self._fill()

    def take(self, media: MediaIn) -> Stored:
        """The stored file for ``media``: fetched ahead, or now on this thread."""
        with self._lock:
            future = self._futures.pop(media.key, None)
            if future is None and any(item.key == media.key for item in self._planned):
                self._planned = deque(item for item in self._planned if item.key != media.key)
            self._fill()
        if future is None:
            return self._store_file(media)
        return future.result()

    def discard(self, keys: Iterable[str]) -> None:
        """Forget planned files that will not be asked for after all (their post did not
        change); those under way finish in the background."""
        keys = set(keys)
        if not keys or not self.parallel:
            return
        with self._lock:
            for key in keys:
                future = self._futures.pop(key, None)
                if future is not None:
                    future.cancel()
            if any(item.key in keys for item in self._planned):
                self._planned = deque(item for item in self._planned if item.key not in keys)
            self._fill()

    def cancel(self) -> None:
        """Forget what was planned and not taken (a batch failed): files not started are not
        fetched; those under way finish in the background."""
        with self._lock:
            self._planned.clear()
            futures, self._futures = list(self._futures.values()), {}
        for future in futures:
            future.cancel()

    def close(self) -> None:
        self.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _fill(self) -> None:
        while self._planned and len(self._futures) < self._window:
            item = self._planned.popleft()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="media-fetch")
            self._futures[item.key] = self._pool.submit(self._store_file, item)

"""Downloading the next few files while the pipeline stores the current one.

The pipeline asks for one file at a time (``Source.open_media``) and hashes, writes and fsyncs
it before asking for the next. Files the sync will ask for are known once the listing is read,
so a few worker threads fetch a window of them ahead, into unlinked temporary files, and
``open_media`` hands the finished file over. Only files of posts the cursor does not know are
planned, so a sync that finds nothing new still downloads nothing. A download's error (after
the client's retries and a signature refresh) is raised by ``take`` exactly as a direct
download would raise it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from alejandria.models import MediaIn


class MediaPrefetch:
    """A sliding window of ``window`` files, fetched by ``workers`` threads, in plan order."""

    def __init__(self, download: Callable[[MediaIn], BinaryIO], *, workers: int,
                 window: int) -> None:
        self._download = download
        self._window = max(window, 1)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="patreon-media")
        self._lock = threading.Lock()
        self._order: list[MediaIn] = []
        self._index: dict[str, int] = {}
        self._futures: dict[int, Future[BinaryIO]] = {}
        self._submitted = 0  # items [0, _submitted) were submitted or skipped
        self._position = 0  # one past the furthest item taken

    def plan(self, media: Iterable[MediaIn]) -> None:
        """Add files in the order the pipeline will ask for them."""
        with self._lock:
            for item in media:
                if item.key not in self._index:
                    self._index[item.key] = len(self._order)
                    self._order.append(item)
            self._fill()

    def take(self, media: MediaIn) -> BinaryIO | None:
        """The prefetched file (rewound), or None when it is not planned or not started."""
        with self._lock:
            index = self._index.get(media.key)
            if index is None:
                return None
            future = self._futures.pop(index, None)
            if index >= self._position:
                self._discard(range(self._position, index))
                self._position = index + 1
            self._submitted = max(self._submitted, index + 1)  # never fetched later
            self._fill()
        if future is None:
            return None
        return future.result()

    def close(self) -> None:
        with self._lock:
            self._discard(list(self._futures))
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _fill(self) -> None:
        limit = min(len(self._order), self._position + self._window)
        while self._submitted < limit:
            item = self._order[self._submitted]
            self._futures[self._submitted] = self._pool.submit(self._download, item)
            self._submitted += 1

    def _discard(self, indexes: Iterable[int]) -> None:
        """Drop files the pipeline did not ask for (their key was already stored)."""
        for index in list(indexes):
            future = self._futures.pop(index, None)
            if future is not None:
                future.add_done_callback(_close_result)


def _close_result(future: Future[BinaryIO]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()

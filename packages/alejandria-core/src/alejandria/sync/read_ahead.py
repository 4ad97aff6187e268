"""Fetch the next items on a background thread while the pipeline writes the current ones.

Extraction (PDF text, HTTP) and writing (Postgres computing vectors in its own process) use
different resources, so overlapping them brings a sync close to the speed of the slower of the
two instead of their sum. The queue is bounded, so the fetcher runs at most ``depth`` items
ahead, and it stops as soon as the pipeline stops reading.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K")

_END = object()
_POLL_S = 0.1


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ReadAhead(Generic[K, T]):
    """Runs ``fetch(key)`` for each key in order on one thread; ``items(key)`` replays them.

    Use as a context manager; call ``items`` for the keys in the same order. An exception
    raised by ``fetch(key)`` is re-raised by ``items(key)``, and the next key goes on. A key
    whose items were not all read (the writer failed halfway) is skipped by the next call.
    """

    def __init__(self, keys: Sequence[K], fetch: Callable[[K], Iterable[T]],
                 depth: int = 256) -> None:
        self._keys = list(keys)
        self._fetch = fetch
        self._queue: queue.Queue[tuple[int, object]] = queue.Queue(maxsize=depth)
        self._reading = -1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alejandria-read-ahead",
                                        daemon=True)

    def __enter__(self) -> ReadAhead[K, T]:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the fetcher and wait for it (it notices within ``_POLL_S``)."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                self._thread.join(_POLL_S)

    def items(self, key: K) -> Iterator[T]:
        """The items ``fetch(key)`` yielded, as they arrive."""
        self._reading += 1
        if self._keys[self._reading] is not key:
            raise ValueError("items() must be called for the keys in order")
        while True:
            index, entry = self._queue.get()
            if index < self._reading:
                continue  # left over from a key the writer gave up on
            if entry is _END:
                return
            if isinstance(entry, _Failure):
                raise entry.error
            yield entry  # type: ignore[misc]

    def _put(self, index: int, entry: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put((index, entry), timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        for index, key in enumerate(self._keys):
            try:
                for item in self._fetch(key):
                    if not self._put(index, item):
                        return
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                if not self._put(index, _Failure(exc)):
                    return
                continue
            if not self._put(index, _END):
                return

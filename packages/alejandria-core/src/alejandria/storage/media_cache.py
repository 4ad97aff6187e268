"""A bounded local cache of a remote media store's files, for tools that need a path.

ffmpeg, Whisper and PDF engines read files, not streams; the web app serves thumbnails from
disk. A remote store (S3) copies what they need here, under ``<data_dir>/cache`` of *this*
machine (never shared between hosts), and the oldest copies are removed once the cache holds
more than its budget (least recently used first: a copy is touched on every use). A copy in
use by this process (``pinned``) is never removed; a copy is written to a temp file and
renamed, so a reader never sees a partial one.

Another process on the same machine may evict a copy this one holds open: the open
descriptor keeps reading (POSIX), and a tool opening the path again finds it missing and the
job is retried. The budget is checked after each new copy, so it is exceeded at most by the
copies in use at once.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: ``fetch(path)`` writes the whole object to ``path`` (a temp file the cache renames).
Fetch = Callable[[Path], None]


class MediaCache:
    """Copies of remote objects by name (``media/ab/cd/<sha256>``), at most ``max_bytes``."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._pins: Counter[Path] = Counter()
        #: Bytes held, as estimated since the last scan (None: not scanned yet).
        self._held: int | None = None

    def get(self, name: str, fetch: Fetch) -> Path:
        """The copy of ``name``, fetched first when missing (not pinned: the caller reads it
        at once, as the web app does with a thumbnail)."""
        with self.pinned(name, fetch) as path:
            return path

    @contextmanager
    def pinned(self, name: str, fetch: Fetch) -> Iterator[Path]:
        """The copy of ``name``, kept while the context is open."""
        path = self.root / name
        with self._lock:
            self._pins[path] += 1
        try:
            if path.is_file():
                with contextlib.suppress(FileNotFoundError):
                    os.utime(path)  # most recently used
            if not path.is_file():
                self._fetch(path, fetch)
            yield path
        finally:
            with self._lock:
                self._pins[path] -= 1
                if not self._pins[path]:
                    del self._pins[path]
            self._evict()

    def _fetch(self, path: Path, fetch: Fetch) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
        temp = Path(temp_name)
        try:
            fetch(temp)
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        with self._lock:
            if self._held is not None:
                self._held += path.stat().st_size

    def _evict(self) -> None:
        """Remove the least recently used copies until the cache fits its budget."""
        with self._lock:
            if self._held is not None and self._held <= self.max_bytes:
                return
        files: list[tuple[float, int, Path]] = []
        for path in self.root.rglob("*") if self.root.is_dir() else []:
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file() and not path.name.startswith("."):
                files.append((st.st_mtime, st.st_size, path))
        held = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if held <= self.max_bytes:
                break
            with self._lock:  # checked with the unlink: a thread may pin it at any time
                if path in self._pins:
                    continue
                path.unlink(missing_ok=True)
            held -= size
        with self._lock:
            self._held = held

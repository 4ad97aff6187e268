"""The content-addressed media store: ``media/ab/cd/<sha256>``.

Bytes are hashed while they stream into a temporary file in the same directory tree, fsynced
and atomically renamed into place, so a file at its final path is always complete and correct:
a process killed mid-download leaves only a temp file (swept later), never a partial file.

Durability can be deferred (``sync=False``): a caller that stores many files before it commits
the rows naming them (the sync pipeline) calls ``sync_pending`` once before each commit. On
Linux that is one ``syncfs`` of the store's filesystem instead of two fsyncs per file (file and
directory), which measured 0.8 vs 0.3 ms per file of 256 KB; elsewhere it fsyncs each pending
file and directory. Until then a crash may leave a final path holding fewer bytes than its name
promises (no row names it yet); ``put_*`` sees the wrong size and writes the file again.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from alejandria.errors import StorageFull, TooLarge

CHUNK_SIZE = 1024 * 1024
MB = 1024 * 1024
#: Free space is checked again after this many bytes of one file (``statvfs`` is cheap, but
#: not free per 1 MB chunk).
FREE_CHECK_BYTES = 16 * MB


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


class MediaStore:
    """``max_file_bytes``: the largest file stored (None: no limit); ``min_free_bytes``: the
    free space kept on the store's disk (0: no check); ``free_space`` measures it (tests)."""

    def __init__(self, root: Path, *, max_file_bytes: int | None = None,
                 min_free_bytes: int = 0,
                 free_space: Callable[[Path], int] = free_bytes) -> None:
        self.root = root
        self.max_file_bytes = max_file_bytes
        self.min_free_bytes = min_free_bytes
        self._free_space = free_space
        self._tmp = root / "tmp"
        #: Directories known to exist: a mkdir per stored file cost 0.7 ms (measured).
        self._made: set[Path] = set()
        self._lock = threading.Lock()
        #: Files stored with ``sync=False`` since the last ``sync_pending``.
        self._pending: list[Path] = []

    def _ensure_dir(self, directory: Path) -> None:
        if directory not in self._made:
            directory.mkdir(parents=True, exist_ok=True)
            self._made.add(directory)

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_stream(self, stream: BinaryIO, *, max_bytes: int | None = None,
                   sync: bool = True) -> tuple[str, int, bool]:
        """Store the stream's bytes; return ``(sha256, size, created)``."""
        return self.put_chunks(iter(lambda: stream.read(CHUNK_SIZE), b""), max_bytes=max_bytes,
                               sync=sync)

    def put_bytes(self, data: bytes, *, sync: bool = True) -> tuple[str, int, bool]:
        return self.put_chunks([data], sync=sync)

    def put_chunks(self, chunks: Iterable[bytes], *, max_bytes: int | None = None,
                   sync: bool = True) -> tuple[str, int, bool]:
        """Store the bytes; with ``sync=False`` they are durable only after ``sync_pending``.
        Safe to call from several threads at once. ``max_bytes``: the caller's own limit, on
        top of the store's ``max_file_bytes``."""
        self._ensure_dir(self._tmp)
        self._check_space()
        digest = hashlib.sha256()
        size = 0
        unchecked = 0
        fd, tmp_name = tempfile.mkstemp(prefix="incoming-", dir=self._tmp)
        tmp_path = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(f"file is larger than the limit of {max_bytes} bytes")
                    if self.max_file_bytes is not None and size > self.max_file_bytes:
                        raise TooLarge(f"the file is larger than the limit of "
                                       f"{self.max_file_bytes // MB:,} MB: raise "
                                       "ALEJANDRIA_MAX_DOWNLOAD_MB to store it")
                    unchecked += len(chunk)
                    if unchecked >= FREE_CHECK_BYTES:
                        unchecked = 0
                        self._check_space()
                    digest.update(chunk)
                    out.write(chunk)
                if sync:
                    out.flush()
                    os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            final = self.path_for(sha256)
            if _has_size(final, size):
                tmp_path.unlink()
                return sha256, size, False
            self._ensure_dir(final.parent)
            os.replace(tmp_path, final)
            if sync:
                _fsync_path(final.parent)
            else:
                with self._lock:
                    self._pending.append(final)
            return sha256, size, True
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise

    def _check_space(self) -> None:
        """``StorageFull`` when the store's disk has less free space than ``min_free_bytes``."""
        if self.min_free_bytes <= 0:
            return
        free = self._free_space(self._tmp)
        if free < self.min_free_bytes:
            raise StorageFull(f"only {free // MB:,} MB free on the disk of {self.root}, less "
                              f"than the {self.min_free_bytes // MB:,} MB kept free "
                              "(ALEJANDRIA_MIN_FREE_DISK_MB): free some space, or lower that "
                              "setting")

    def sync_pending(self) -> None:
        """Make every file stored with ``sync=False`` so far durable, names included."""
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        if _syncfs is not None:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                if _syncfs(fd) == 0:
                    return
            finally:
                os.close(fd)
        for path in pending:  # no syncfs here (or it failed): one file at a time
            _fsync_path(path)
            _fsync_path(path.parent)

    def verify(self, sha256: str) -> bool:
        """Re-hash a stored file; False when it is missing or its bytes changed."""
        path = self.path_for(sha256)
        try:
            with path.open("rb") as handle:
                return hashlib.file_digest(handle, "sha256").hexdigest() == sha256
        except FileNotFoundError:
            return False


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def _fsync_path(path: Path) -> None:
    """fsync a file or a directory (where the platform allows opening one)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_syncfs() -> Callable[[int], int] | None:
    """Linux's ``syncfs(fd)``: flush one filesystem (None where there is none)."""
    try:  # the running program's symbols, libc's among them (not on Windows)
        function: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError, TypeError):
        return None
    return function


_syncfs = _load_syncfs()

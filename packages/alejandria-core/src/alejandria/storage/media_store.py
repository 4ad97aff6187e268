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

This is the ``file`` backend of the ``BlobStore`` interface (``alejandria.plugin_types``), the
default; ``s3_store`` is the other one core ships. Derived files (thumbnails) live beside the
store, under ``<data_dir>/derived``, where processors write them.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from alejandria.errors import MediaError, StorageFull, TooLarge
from alejandria.plugin_types import BlobInfo

CHUNK_SIZE = 1024 * 1024
MB = 1024 * 1024
#: Free space is checked again once this many bytes were written since the last check, or
#: ``FREE_CHECK_S`` after it, whichever comes first: a ``statvfs`` per file cost a sync of small
#: files 1.6% of its fetch threads' time (py-spy), and per 1 MB chunk would cost more.
FREE_CHECK_BYTES = 16 * MB
FREE_CHECK_S = 1.0
#: The clock of those checks (a test's fake one replaces this, not ``time.monotonic``).
_clock = time.monotonic

#: What ``_put`` takes as a chunk of a file: bytes, or a view of a reused read buffer.
Chunk = bytes | bytearray | memoryview


_SHA256 = re.compile(r"[0-9a-f]{64}")


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def check_sha256(sha256: str) -> str:
    """``sha256`` when it is a lower-case hex SHA-256, else ``MediaError`` (never a path)."""
    if not _SHA256.fullmatch(sha256):
        raise MediaError(f"not a SHA-256 hash: {sha256[:80]!r}")
    return sha256


def derived_key(key: str) -> str:
    """A derived file's key, checked: relative, ``/``-separated, no ``..`` or empty parts
    (``thumbnails/ab/cd/<sha256>/150.webp``); ``MediaError`` otherwise."""
    parts = PurePosixPath(key).parts
    if (not parts or key.startswith("/") or "\\" in key or "\0" in key
            or any(part in ("", ".", "..") for part in parts) or len(parts) != key.count("/") + 1):
        raise MediaError(f"not a derived file key: {key[:120]!r}")
    return key


def too_large(size: int, max_bytes: int | None, max_file_bytes: int | None) -> None:
    """``TooLarge`` once ``size`` bytes pass the caller's or the store's limit."""
    if max_bytes is not None and size > max_bytes:
        raise TooLarge(f"file is larger than the limit of {max_bytes} bytes")
    if max_file_bytes is not None and size > max_file_bytes:
        raise TooLarge(f"the file is larger than the limit of "
                       f"{max_file_bytes // MB:,} MB: raise "
                       "ALEJANDRIA_MAX_DOWNLOAD_MB to store it")


def read_file_range(path: Path, start: int = 0, length: int | None = None,
                    chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """``length`` bytes (or the rest) of the file at ``path`` from ``start``, in chunks;
    ``FileNotFoundError`` at once (not at the first chunk) when there is no file."""
    handle = path.open("rb")
    handle.seek(start)
    return _chunks_of(handle, path, length, chunk_size)


def _chunks_of(handle: BinaryIO, path: Path, length: int | None,
               chunk_size: int) -> Iterator[bytes]:
    with handle:
        remaining = length
        while remaining is None or remaining > 0:
            chunk = handle.read(chunk_size if remaining is None else min(chunk_size, remaining))
            if not chunk:
                if remaining:
                    raise OSError(f"{path} ended {remaining} bytes early")
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


class MediaStore:
    """``max_file_bytes``: the largest file stored (None: no limit); ``min_free_bytes``: the
    free space kept on the store's disk (0: no check); ``free_space`` measures it (tests)."""

    remote = False

    def __init__(self, root: Path, *, max_file_bytes: int | None = None,
                 min_free_bytes: int = 0,
                 free_space: Callable[[Path], int] = free_bytes,
                 derived_root: Path | None = None) -> None:
        self.root = root
        #: Where processors' derived files lie (``<data_dir>/derived``).
        self.derived_root = derived_root if derived_root is not None else root.parent / "derived"
        self.max_file_bytes = max_file_bytes
        self.min_free_bytes = min_free_bytes
        self._free_space = free_space
        self._tmp = root / "tmp"
        #: Directories known to exist: a mkdir per stored file cost 0.7 ms (measured).
        self._made: set[Path] = set()
        self._lock = threading.Lock()
        #: Files stored with ``sync=False`` since the last ``sync_pending``.
        self._pending: list[Path] = []
        #: Bytes written by any file since the free space was last checked, and when it was
        #: (None: check before the next write).
        self._unchecked = 0
        self._checked_at: float | None = None

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
        return self._put(_stream_chunks(stream), max_bytes=max_bytes, sync=sync)

    def put_bytes(self, data: bytes, *, sync: bool = True) -> tuple[str, int, bool]:
        return self._put([data], sync=sync)

    def put_chunks(self, chunks: Iterable[bytes], *, max_bytes: int | None = None,
                   sync: bool = True) -> tuple[str, int, bool]:
        """Store the bytes; with ``sync=False`` they are durable only after ``sync_pending``.
        Safe to call from several threads at once. ``max_bytes``: the caller's own limit, on
        top of the store's ``max_file_bytes``."""
        return self._put(chunks, max_bytes=max_bytes, sync=sync)

    def _put(self, chunks: Iterable[Chunk], *, max_bytes: int | None = None,
             sync: bool = True) -> tuple[str, int, bool]:
        """``put_chunks`` for any bytes-like chunks; each one is consumed (hashed and written)
        before the next is asked for, so a reader may hand out one reused buffer."""
        self._ensure_dir(self._tmp)
        self._check_space_when_due(0)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(prefix="incoming-", dir=self._tmp)
        tmp_path = Path(tmp_name)
        try:
            try:
                for chunk in chunks:
                    size += len(chunk)
                    if ((max_bytes is not None and size > max_bytes)
                            or (self.max_file_bytes is not None
                                and size > self.max_file_bytes)):
                        too_large(size, max_bytes, self.max_file_bytes)
                    self._check_space_when_due(len(chunk))
                    digest.update(chunk)
                    _write_all(fd, chunk)
                if sync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            sha256 = digest.hexdigest()
            final = self.path_for(sha256)
            if _has_size(final, size):
                tmp_path.unlink()
                return sha256, size, False
            self._ensure_dir(final.parent)
            os.replace(tmp_path, final)
            if sync:
                fsync_path(final.parent)
            else:
                with self._lock:
                    self._pending.append(final)
            return sha256, size, True
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise

    def _check_space_when_due(self, written: int) -> None:
        """Count ``written`` bytes; check the free space when a check is due (see
        ``FREE_CHECK_BYTES``): before the first write, and before any write after a check
        that failed."""
        if self.min_free_bytes <= 0:
            return
        with self._lock:
            self._unchecked += written
            now = _clock()
            due = (self._checked_at is None or self._unchecked >= FREE_CHECK_BYTES
                   or now - self._checked_at >= FREE_CHECK_S)
            if due:
                self._unchecked = 0
                self._checked_at = now
        if due:
            try:
                self._check_space()
            except StorageFull:
                self._checked_at = None
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
            fsync_path(path)
            fsync_path(path.parent)

    def verify(self, sha256: str) -> bool:
        """Re-hash a stored file; False when it is missing or its bytes changed."""
        path = self.path_for(sha256)
        try:
            with path.open("rb") as handle:
                return hashlib.file_digest(handle, "sha256").hexdigest() == sha256
        except FileNotFoundError:
            return False

    # -- the rest of the BlobStore interface ------------------------------------------------

    @property
    def url(self) -> str:
        return self.root.absolute().as_uri()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path_for(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, sha256: str, start: int = 0,
             length: int | None = None) -> Iterator[bytes]:
        return read_file_range(self.path_for(check_sha256(sha256)), start, length)

    def local_file(self, sha256: str) -> Path | None:
        path = self.path_for(sha256)
        return path if path.is_file() else None

    @contextmanager
    def local_path(self, sha256: str) -> Iterator[Path]:
        path = self.path_for(sha256)
        if not path.is_file():
            raise FileNotFoundError(f"media {sha256} is missing from {self.root}")
        yield path

    def delete(self, sha256: str) -> None:
        self.path_for(sha256).unlink(missing_ok=True)

    def iter_blobs(self) -> Iterator[BlobInfo]:
        for path in self.root.glob("??/??/*"):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file():
                yield BlobInfo(path.name, st.st_size, st.st_mtime)

    def presigned_url(self, sha256: str, ttl_s: int, *, content_type: str | None = None,
                      disposition: str | None = None) -> str | None:
        return None

    def origin(self) -> str | None:
        return None

    def put_derived(self, key: str, source: Path) -> None:
        target = self.derived_root / derived_key(key)
        if source.absolute() == target.absolute():
            return  # written in place (ProcessorContext.derived_dir is this folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as data:
                shutil.copyfileobj(data, out, CHUNK_SIZE)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def derived_path(self, key: str) -> Path:
        path = self.derived_root / derived_key(key)
        if not path.is_file():
            raise FileNotFoundError(f"derived file {key} is missing")
        return path

    def delete_derived(self, sha256: str) -> None:
        check_sha256(sha256)
        derived = self.derived_root
        for processor_dir in derived.glob("*") if derived.is_dir() else []:
            shutil.rmtree(processor_dir / sha256[:2] / sha256[2:4] / sha256, ignore_errors=True)

    def incomplete_uploads(self) -> list[BlobInfo]:
        """Temp files of downloads that never finished (``tmp/incoming-*``)."""
        found = []
        for path in self._tmp.glob("*") if self._tmp.is_dir() else []:
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file():
                found.append(BlobInfo(path.name, st.st_size, st.st_mtime))
        return found

    def remove_incomplete(self, upload: BlobInfo) -> None:
        if "/" in upload.name or upload.name in ("", ".", ".."):
            raise MediaError(f"not a temp file name: {upload.name!r}")
        (self._tmp / upload.name).unlink(missing_ok=True)

    def check(self) -> str:
        """The folder exists (or can be made) and is writable."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MediaError(f"cannot create the media folder {self.root}: {exc}") from exc
        if not os.access(self.root, os.W_OK):
            raise MediaError(f"the media folder {self.root} is not writable: fix its "
                             "permissions or set ALEJANDRIA_MEDIA_URL")
        return f"a folder, {free_bytes(self.root) // MB:,} MB free: {self.root}"


#: The ``file`` backend's name in the ``BlobStore`` family.
LocalMediaStore = MediaStore


def _stream_chunks(stream: BinaryIO) -> Iterator[Chunk]:
    """The stream's bytes, read into one reused ``CHUNK_SIZE`` buffer (no allocation per
    chunk): each view is valid until the next is asked for. A stream without a working
    ``readinto`` is read with ``read``."""
    view = memoryview(bytearray(CHUNK_SIZE))
    try:
        read = stream.readinto(view)  # type: ignore[attr-defined]  # most file objects have it
    except (AttributeError, NotImplementedError, io.UnsupportedOperation):
        yield from iter(lambda: stream.read(CHUNK_SIZE), b"")
        return
    while read:
        yield view[:read]
        read = stream.readinto(view)  # type: ignore[attr-defined]
    if read is None:  # a non-blocking stream with nothing ready: not the end of the file
        raise BlockingIOError("the stream had no data ready; the store needs a blocking one")


def _write_all(fd: int, data: Chunk) -> None:
    """Write all of ``data`` to ``fd`` straight from its buffer (``os.write`` may write less)."""
    written = os.write(fd, data)
    if written < len(data):
        remaining = memoryview(data)[written:]
        while remaining:
            remaining = remaining[os.write(fd, remaining):]


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def fsync_path(path: Path) -> None:
    """fsync a file or a directory (where the platform allows opening one)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_syncfs() -> Callable[[int], int] | None:
    """Linux's ``syncfs(fd)``: flush one filesystem (None where there is none)."""
    try:  # the running program's symbols, libc's among them (not on Windows)
        function: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError, TypeError):
        return None
    return function


_syncfs = load_syncfs()

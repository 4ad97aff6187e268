"""Copying blobs named by their SHA-256, incrementally, and checking them.

A blob whose destination exists with the expected size is not copied again: names are
content hashes and blobs never change, so a daily backup of a large archive copies only what
is new. A blob that is copied is hashed on the way and lands under its name only when its
bytes match it (temp file, then an atomic rename), so a damaged source file is reported and
never stored as if it were good.

Durability comes once per run, before the manifest that names the blobs is written: one
``syncfs`` of the destination's filesystem on Linux (one fsync per file and folder elsewhere),
as the media store does. Until then a crash may leave a renamed blob short of bytes; its size
then differs and the next run copies it again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from alejandria.storage.media_store import fsync_path, load_syncfs

if TYPE_CHECKING:
    from alejandria.plugin_types import BlobStore

CHUNK = 1024 * 1024
#: Blobs copied at once: file system calls and hashing release the GIL, and a disk serves
#: several small reads at once faster than one after another.
DEFAULT_WORKERS = 4
BATCH = 4096


class Outcome(Enum):
    COPIED = "copied"
    PRESENT = "present"
    MISSING = "missing"
    CORRUPT = "corrupt"


@dataclass(frozen=True)
class BlobCopy:
    """Copy ``source`` to ``dest`` if ``dest`` lacks it; its bytes must hash to ``sha256``.
    ``reader``: where the bytes come from instead of a file (a remote media store's
    ``read``); it raises ``FileNotFoundError`` for a missing blob."""

    sha256: str
    source: Path | None
    dest: Path
    size: int
    reader: Callable[[], Iterable[bytes]] | None = None


@dataclass
class CopyReport:
    copied: int = 0
    copied_bytes: int = 0
    present: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"copied": self.copied, "copied_bytes": self.copied_bytes,
                "present": self.present, "missing": self.missing, "corrupt": self.corrupt}


#: ``progress(done, total)``.
Progress = Callable[[int, int], None]


def copy_blobs(copies: Sequence[BlobCopy], tmp_dir: Path, *,
               progress: Progress | None = None, workers: int = DEFAULT_WORKERS) -> CopyReport:
    """Copy every blob its destination lacks, then make the copies durable. ``tmp_dir`` must
    be on the destinations' filesystem (the copies are renamed from there)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    report = CopyReport()
    made: set[Path] = set()
    lock = threading.Lock()
    total = len(copies)

    def one(item: BlobCopy) -> tuple[BlobCopy, Outcome]:
        return item, _copy_one(item, tmp_dir, made, lock)

    def outcomes() -> Iterable[tuple[BlobCopy, Outcome]]:
        if workers <= 1:
            yield from map(one, copies)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            # in batches: ``map`` submits everything at once (a future per blob)
            for start in range(0, total, BATCH):
                yield from pool.map(one, copies[start:start + BATCH])

    written: list[Path] = []
    for done, (item, outcome) in enumerate(outcomes(), 1):
        if outcome is Outcome.COPIED:
            written.append(item.dest)
            report.copied += 1
            report.copied_bytes += item.size
        elif outcome is Outcome.PRESENT:
            report.present += 1
        elif outcome is Outcome.MISSING:
            report.missing.append(item.sha256)
        else:
            report.corrupt.append(item.sha256)
        if progress is not None:
            progress(done, total)
    if written:
        make_durable(tmp_dir, written)
    return report


def _copy_one(item: BlobCopy, tmp_dir: Path, made: set[Path], lock: threading.Lock) -> Outcome:
    try:
        if item.dest.stat().st_size == item.size:
            return Outcome.PRESENT
    except FileNotFoundError:
        pass
    chunks: Iterable[bytes] | None = None
    try:
        if item.reader is not None:
            chunks = item.reader()
            source = None
        else:
            assert item.source is not None
            source = item.source.open("rb")
    except FileNotFoundError:
        return Outcome.MISSING
    fd, tmp_name = tempfile.mkstemp(prefix="blob-", dir=tmp_dir)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        if chunks is not None:
            with os.fdopen(fd, "wb") as out:
                for piece in chunks:
                    digest.update(piece)
                    out.write(piece)
        else:
            assert source is not None
            buffer = bytearray(CHUNK)
            view = memoryview(buffer)
            with source, os.fdopen(fd, "wb") as out:
                while read := source.readinto(buffer):
                    chunk = view[:read]
                    digest.update(chunk)
                    out.write(chunk)
        if digest.hexdigest() != item.sha256:
            tmp.unlink()
            return Outcome.CORRUPT
        parent = item.dest.parent
        if parent not in made:
            parent.mkdir(parents=True, exist_ok=True)
            with lock:
                made.add(parent)
        os.replace(tmp, item.dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Outcome.COPIED


def upload_blobs(store: BlobStore, sources: Mapping[str, tuple[Path, int]], *,
                 workers: int = DEFAULT_WORKERS,
                 progress: Progress | None = None) -> CopyReport:
    """Put each backup blob (``sha256: (file, size)``) the store lacks into ``store``; the
    store hashes what it uploads, and a blob that does not hash to its name is reported
    corrupt (and removed again, if it was new)."""
    report = CopyReport()
    items = sorted(sources.items())

    def one(entry: tuple[str, tuple[Path, int]]) -> Outcome:
        sha256, (path, size) = entry
        if store.size(sha256) == size:
            return Outcome.PRESENT
        try:
            with path.open("rb") as handle:
                stored, _size, created = store.put_stream(handle)
        except FileNotFoundError:
            return Outcome.MISSING
        if stored != sha256:
            if created:
                store.delete(stored)
            return Outcome.CORRUPT
        return Outcome.COPIED

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for done, ((sha256, (_path, size)), outcome) in enumerate(
                zip(items, pool.map(one, items), strict=True), 1):
            if outcome is Outcome.COPIED:
                report.copied += 1
                report.copied_bytes += size
            elif outcome is Outcome.PRESENT:
                report.present += 1
            elif outcome is Outcome.MISSING:
                report.missing.append(sha256)
            else:
                report.corrupt.append(sha256)
            if progress is not None:
                progress(done, len(items))
    store.sync_pending()
    return report


def make_durable(root: Path, paths: Iterable[Path]) -> None:
    """Flush ``paths`` (files just written under ``root``'s filesystem) and their names."""
    if _syncfs is not None:
        fd = os.open(root, os.O_RDONLY)
        try:
            if _syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    folders: set[Path] = set()
    for path in paths:
        fsync_path(path)
        folders.add(path.parent)
    for folder in folders:
        fsync_path(folder)


def hash_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def check_blob(path: Path, sha256: str, size: int | None = None) -> str | None:
    """None when ``path`` holds the bytes named ``sha256``; otherwise what is wrong."""
    try:
        if size is not None and path.stat().st_size != size:
            return f"has {path.stat().st_size} bytes instead of {size}"
        actual = hash_file(path)
    except FileNotFoundError:
        return "is missing"
    except OSError as exc:
        return f"cannot be read ({exc})"
    if actual != sha256:
        return f"is corrupt (its bytes hash to {actual[:12]}…)"
    return None


_syncfs = load_syncfs()

__all__ = ["BlobCopy", "CopyReport", "Outcome", "check_blob", "copy_blobs", "hash_file",
           "make_durable"]

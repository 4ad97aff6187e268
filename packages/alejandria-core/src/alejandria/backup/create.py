"""Making a snapshot: a consistent dump, the blobs it needs, then its manifest.

The media list, the row counts and the dump come from one exported snapshot of the database
(``pg_export_snapshot`` in a repeatable-read transaction, and ``pg_dump --snapshot``): the
manifest names exactly the media files the dump's rows name, even while a sync writes.
Derived files (thumbnails) are kept by content too; one unchanged since the last backup (same
size and modification time) keeps the hash recorded then instead of being read again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from alejandria.backup.blobs import BlobCopy, CopyReport, copy_blobs, hash_file
from alejandria.backup.database import dump_database, table_counts
from alejandria.backup.location import Location
from alejandria.backup.manifest import DUMP_NAME, DerivedFile, Manifest, write_manifest
from alejandria.backup.pgtools import server_major, target_for, tools_for
from alejandria.backup.retention import Policy, PruneReport, prune
from alejandria.context import ArchiveContext
from alejandria.plugin_types import BlobStore

#: ``progress(phase, done, total)``: phases "database", "derived", "blobs", "prune".
Progress = Callable[[str, int, int], None]

DERIVED_DIR = "derived"


def _quiet(_phase: str, _done: int, _total: int) -> None:
    return None


@dataclass
class BackupReport:
    snapshot: Path
    manifest: Manifest
    blobs: CopyReport
    pruned: PruneReport | None

    @property
    def ok(self) -> bool:
        return not (self.manifest.missing or self.manifest.corrupt)

    def as_dict(self) -> dict[str, object]:
        return {"snapshot": str(self.snapshot), "name": self.manifest.name,
                "created_at": self.manifest.created_at.isoformat(),
                "dump_bytes": self.manifest.dump_size, "media": len(self.manifest.media),
                "derived": len(self.manifest.derived), "blobs": self.blobs.as_dict(),
                "pruned": self.pruned.as_dict() if self.pruned else None}


def key_fingerprint(key: bytes) -> str:
    """A short name of a secret key (never the key): tells which key a backup needs."""
    return hashlib.sha256(b"alejandria-key-fingerprint:" + key).hexdigest()[:16]


def current_key_fingerprint(data_dir: Path) -> str | None:
    from alejandria.storage.credentials import load_key

    key = load_key(data_dir, create=False)
    return None if key is None else key_fingerprint(key)


def create_backup(context: ArchiveContext, *, to: Path | None = None,
                  policy: Policy | None = None, prune_after: bool = True,
                  now: datetime | None = None, progress: Progress = _quiet,
                  workers: int | None = None) -> BackupReport:
    """Back the archive up into the location ``to`` (default: the settings'), then apply the
    retention ``policy`` (default: the settings') unless ``prune_after`` is False."""
    settings = context.settings
    location = Location((to or settings.backup_location).expanduser().resolve())
    location.create()
    now = now or datetime.now(UTC)
    with location.locked():
        previous = location.snapshots()
        folder = location.new_snapshot_dir(now)
        try:
            manifest, report = _snapshot(context, location, folder, now, progress,
                                         previous[-1][1] if previous else None, workers)
            write_manifest(folder, manifest)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        pruned = None
        if prune_after:
            progress("prune", 0, 1)
            pruned = prune(location, policy or Policy.from_settings(settings))
            progress("prune", 1, 1)
    return BackupReport(folder, manifest, report, pruned)


def _snapshot(context: ArchiveContext, location: Location, folder: Path, now: datetime,
              progress: Progress, previous: Manifest | None,
              workers: int | None) -> tuple[Manifest, CopyReport]:
    settings = context.settings
    engine = context.engine
    major, version = server_major(engine)
    tools = tools_for(major, bin_dir=settings.pg_bin_dir,
                      embedded=context.database.embedded is not None)
    dump_path = folder / DUMP_NAME
    progress("database", 0, 1)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot_id = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
            media = {str(sha): int(size) for sha, size in conn.execute(
                text("SELECT sha256, size FROM media_files ORDER BY sha256")).all()}
            counts = table_counts(conn)
            # the dump reads the same snapshot, which lives as long as this transaction
            dump_database(tools, target_for(engine, context.database.description), dump_path,
                          snapshot=snapshot_id)
    progress("database", 1, 1)
    dump_sha256 = hash_file(dump_path)
    # a remote store's derived files (thumbnails) live in it, not here: process backfill
    # makes them again after a restore
    derived = ({} if context.media.remote
               else _derived_files(settings.data_dir, previous, progress))
    copies = [_blob_copy(context.media, sha, location.blob_path(sha), size)
              for sha, size in media.items()]
    by_blob: dict[str, list[str]] = {}
    for relative, item in derived.items():
        if item.sha256 not in by_blob and item.sha256 not in media:
            copies.append(BlobCopy(item.sha256, settings.data_dir / relative,
                                   location.blob_path(item.sha256), item.size))
        by_blob.setdefault(item.sha256, []).append(relative)
    report = copy_blobs(copies, location.tmp, workers=workers or 4,
                        progress=lambda done, total: progress("blobs", done, total))
    missing = set(report.missing)
    corrupt = set(report.corrupt)
    for sha in missing | corrupt:  # a thumbnail removed meanwhile is simply not kept
        for relative in by_blob.get(sha, ()):
            derived.pop(relative, None)
    has_credentials = counts.get("source_credentials", 0) > 0
    manifest = Manifest(
        name=folder.name, created_at=now, alejandria_version=_version(),
        server_version=version, dump_sha256=dump_sha256, dump_size=dump_path.stat().st_size,
        counts=counts,
        media={sha: size for sha, size in media.items() if sha not in missing | corrupt},
        derived=derived,
        key_fingerprint=current_key_fingerprint(settings.data_dir) if has_credentials else None,
        missing=sorted(missing & media.keys()), corrupt=sorted(corrupt & media.keys()))
    return manifest, report


def _blob_copy(store: BlobStore, sha256: str, dest: Path, size: int) -> BlobCopy:
    """A copy from the store: its own file where it is local (the fast path), else read
    through the store."""
    path = store.local_file(sha256)
    if path is not None:
        return BlobCopy(sha256, path, dest, size)
    return BlobCopy(sha256, None, dest, size, reader=lambda: store.read(sha256))


def _derived_files(data_dir: Path, previous: Manifest | None,
                   progress: Progress) -> dict[str, DerivedFile]:
    """Every file under ``<data_dir>/derived`` with its hash (reused from ``previous`` when
    its size and modification time are unchanged)."""
    root = data_dir / DERIVED_DIR
    known = previous.derived if previous else {}
    found: dict[str, DerivedFile] = {}
    if not root.is_dir():
        return found
    paths = [Path(base) / name for base, _dirs, names in os.walk(root) for name in names
             if not name.startswith(".")]
    for index, path in enumerate(paths, 1):
        relative = path.relative_to(data_dir).as_posix()
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        old = known.get(relative)
        if old is not None and old.size == stat.st_size and old.mtime_ns == stat.st_mtime_ns:
            found[relative] = old
        else:
            try:
                found[relative] = DerivedFile(hash_file(path), stat.st_size, stat.st_mtime_ns)
            except FileNotFoundError:
                continue
        if index % 256 == 0 or index == len(paths):
            progress("derived", index, len(paths))
    return found


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("alejandria-core")
    except metadata.PackageNotFoundError:
        return "0.0.0"


__all__ = ["BackupReport", "create_backup", "current_key_fingerprint", "key_fingerprint"]

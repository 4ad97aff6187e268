"""Putting a snapshot back into an archive.

Into an empty archive, or, with ``force``, over one that has content. Either way the database
as it is is dumped first (the safety copy, in ``<data_dir>/restore-safety/<time>``): if any
step after the database is emptied fails (a truncated dump, a server that refuses it), the
database is emptied again and the safety copy restored, and the error says so. The safety copy
of a replaced archive is kept (the message names it); that of an empty one is removed.

Order: the backup's blobs go into the media store first (added by content: nothing there is
replaced or removed, so the files of a replaced archive stay until ``media gc``), then the
database is replaced, then migrations bring an older backup's schema up to date.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from alejandria.backup import BackupError
from alejandria.backup.blobs import BlobCopy, CopyReport, copy_blobs, hash_file, upload_blobs
from alejandria.backup.create import current_key_fingerprint
from alejandria.backup.database import dump_database, restore_database, table_counts, wipe
from alejandria.backup.location import location_of, resolve_snapshot
from alejandria.backup.manifest import DUMP_NAME, Manifest, read_manifest
from alejandria.backup.pgtools import PgTools, Target, server_major, target_for, tools_for
from alejandria.context import ArchiveContext
from alejandria.plugin_types import MigrationSpec
from alejandria.storage.changes import announce_change
from alejandria.storage.media_store import MediaStore

#: ``progress(phase, done, total)``: phases "check", "blobs", "safety copy", "database".
Progress = Callable[[str, int, int], None]

SAFETY_DIR = "restore-safety"
#: Tables whose rows make an archive "not empty".
CONTENT_TABLES = ("creators", "posts", "media_files", "users", "source_credentials")


def _quiet(_phase: str, _done: int, _total: int) -> None:
    return None


@dataclass
class RestoreReport:
    snapshot: Path
    manifest: Manifest
    blobs: CopyReport
    counts: dict[str, int] = field(default_factory=dict)
    safety_copy: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"snapshot": str(self.snapshot), "name": self.manifest.name,
                "counts": self.counts, "blobs": self.blobs.as_dict(),
                "safety_copy": str(self.safety_copy) if self.safety_copy else None,
                "warnings": self.warnings}


def archive_contents(context: ArchiveContext) -> dict[str, int]:
    """What makes the archive not empty: rows of the content tables, files in the media
    store (``media files on disk``); empty dict when there is nothing."""
    found: dict[str, int] = {}
    with context.engine.connect() as conn:
        present = set(conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
        for table in CONTENT_TABLES:
            if table in present:
                rows = int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
                if rows:
                    found[table] = rows
    stored = sum(1 for _blob in context.media.iter_blobs())
    if stored:
        found["media files on disk"] = stored
    return found


def restore_backup(context: ArchiveContext, backup: Path, *, force: bool = False,
                   migrations: Mapping[str, MigrationSpec] | None = None,
                   progress: Progress = _quiet, workers: int = 4) -> RestoreReport:
    """Restore the snapshot ``backup`` (a snapshot folder, or a location: its newest) into
    this archive; ``BackupError`` before anything changes when the archive has content and
    ``force`` is not given, or when the backup is incomplete or damaged."""
    settings = context.settings
    snapshot = resolve_snapshot(backup)
    manifest = read_manifest(snapshot)
    location = location_of(snapshot)
    dump = snapshot / DUMP_NAME
    progress("check", 0, 1)
    _check_backup(snapshot, manifest, dump, location.blob_path)
    contents = archive_contents(context)
    if contents and not force:
        what = ", ".join(f"{count:,} {name}" for name, count in contents.items())
        raise BackupError(f"the archive is not empty ({what}): restore into an empty "
                          "archive (a new ALEJANDRIA_DATA_DIR and database), or add --force "
                          "to replace it (a safety copy of it is kept)")
    engine = context.engine
    major, _version = server_major(engine)
    tools = tools_for(major, bin_dir=settings.pg_bin_dir,
                      embedded=context.database.embedded is not None)
    target = target_for(engine, context.database.description)
    progress("check", 1, 1)

    store = context.media
    derived = [BlobCopy(item.sha256, location.blob_path(item.sha256),
                        settings.data_dir / relative, item.size)
               for relative, item in manifest.derived.items()]
    total = len(manifest.media) + len(derived)
    if isinstance(store, MediaStore):
        media = [BlobCopy(sha, location.blob_path(sha), store.path_for(sha), size)
                 for sha, size in manifest.media.items()]
        # each set is staged on its own filesystem (the media store may be a mount of its own)
        blobs = copy_blobs(media, store.root / "tmp", workers=workers,
                           progress=lambda done, _total: progress("blobs", done, total))
    else:
        blobs = upload_blobs(store, {sha: (location.blob_path(sha), size)
                                     for sha, size in manifest.media.items()},
                             workers=workers,
                             progress=lambda done, _total: progress("blobs", done, total))
    staging = settings.data_dir / ".restore-tmp"
    try:
        more = copy_blobs(derived, staging, workers=workers,
                          progress=lambda done, _total: progress(
                              "blobs", len(manifest.media) + done, total))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if store.remote:  # thumbnails belong in the shared store, where every host finds them
        for relative in manifest.derived:
            local = settings.data_dir / relative
            if local.is_file() and relative.startswith("derived/"):
                store.put_derived(relative.removeprefix("derived/"), local)
    blobs.copied += more.copied
    blobs.copied_bytes += more.copied_bytes
    blobs.present += more.present
    blobs.missing += more.missing
    blobs.corrupt += more.corrupt
    if blobs.missing or blobs.corrupt:
        bad = (blobs.missing + blobs.corrupt)[:3]
        raise BackupError(f"the backup's blob(s) {', '.join(bad)} are missing or corrupt in "
                          f"{location.blobs}; nothing was restored into the database: run "
                          "'alejandria backup verify' and use another backup")

    safety = settings.data_dir / SAFETY_DIR / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    safety.mkdir(parents=True)
    progress("safety copy", 0, 1)
    dump_database(tools, target, safety / DUMP_NAME)
    progress("safety copy", 1, 1)
    progress("database", 0, 1)
    try:
        wipe(engine)
        restore_database(tools, target, dump)
        _migrate(context, migrations)
    except BaseException as exc:
        _roll_back(context, tools, target, safety / DUMP_NAME, exc)
        raise  # pragma: no cover - _roll_back raises
    progress("database", 1, 1)
    context._capabilities = None  # pgvector may have come or gone with the restored schema
    context.content_changed()
    announce_change(engine, "restore")  # the web app's caches: no trigger saw the tables go
    with engine.connect() as conn:
        counts = table_counts(conn)
    report = RestoreReport(snapshot, manifest, blobs, counts)
    if contents:
        report.safety_copy = safety
    else:
        shutil.rmtree(safety, ignore_errors=True)
    if manifest.key_fingerprint and \
            manifest.key_fingerprint != current_key_fingerprint(settings.data_dir):
        report.warnings.append(
            "the stored credentials were encrypted with another secret key than this "
            "archive's: put the original key back (ALEJANDRIA_SECRET_KEY, or secret.key in "
            f"{settings.data_dir}), or set the credentials again with "
            "'alejandria credentials set'")
    return report


def _check_backup(snapshot: Path, manifest: Manifest, dump: Path,
                  blob_path: Callable[[str], Path]) -> None:
    if not dump.is_file():
        raise BackupError(f"the backup {snapshot} has no {DUMP_NAME}: use another backup")
    if dump.stat().st_size != manifest.dump_size or hash_file(dump) != manifest.dump_sha256:
        raise BackupError(f"the database dump {dump} is damaged (its size or SHA-256 differs "
                          "from the manifest's): use another backup")
    lacking = [sha for sha, size in manifest.blobs().items() if not _has_size(blob_path(sha),
                                                                              size)]
    if lacking:
        raise BackupError(f"the backup {snapshot} lacks {len(lacking)} of its blob(s) (e.g. "
                          f"{lacking[0]}): run 'alejandria backup verify' and use another "
                          "backup")


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def _migrate(context: ArchiveContext, migrations: Mapping[str, MigrationSpec] | None) -> None:
    """Bring an older backup's schema (core's and the plugins') up to date."""
    from alejandria.storage.migrate import upgrade
    from alejandria.storage.schema_stamp import fingerprint, is_stamped

    specs = dict(migrations) if migrations is not None else context.plugins.migrations()
    if not is_stamped(context.engine, fingerprint(specs.values())):
        upgrade(context.engine, specs)


def _roll_back(context: ArchiveContext, tools: PgTools, target: Target, safety_dump: Path,
               error: BaseException) -> None:
    reason = str(error) if isinstance(error, BackupError) else f"{type(error).__name__}: {error}"
    try:
        wipe(context.engine)
        restore_database(tools, target, safety_dump)
        announce_change(context.engine, "restore")
    except Exception as again:  # noqa: BLE001 - any failure: say where the copy is
        raise BackupError(
            f"the restore failed ({reason}) and putting the archive back failed too "
            f"({again}): the archive as it was is in {safety_dump}; restore it with pg_restore "
            "into an empty database") from error
    context.engine.dispose()
    raise BackupError(f"the restore failed ({reason}); the archive was put back as it was "
                      f"(its safety copy: {safety_dump.parent})") from error


__all__ = ["CONTENT_TABLES", "RestoreReport", "archive_contents", "restore_backup"]

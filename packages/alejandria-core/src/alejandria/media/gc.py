"""Garbage collection of the media store: files no post references any more.

A file is removed only after a grace period, so nothing a running sync is about to link (or
has written but not yet committed) disappears under it: unreferenced rows older than the grace
period, stored files without a row, and what interrupted uploads left (temp files of a local
store, multipart uploads of an S3 store: aborted).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.engine import Engine

from alejandria.plugin_types import BlobStore
from alejandria.settings import Settings
from alejandria.storage.audit import Trigger, record_now
from alejandria.storage.schema import media_files, post_media

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class GcReport:
    rows_removed: list[str] = field(default_factory=list)
    orphan_files_removed: list[str] = field(default_factory=list)
    temp_files_removed: int = 0
    bytes_freed: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "rows_removed": self.rows_removed,
                "orphan_files_removed": self.orphan_files_removed,
                "temp_files_removed": self.temp_files_removed, "bytes_freed": self.bytes_freed}


def collect_garbage(engine: Engine, store: BlobStore, settings: Settings, *,
                    grace: timedelta = timedelta(days=7), dry_run: bool = False,
                    trigger: Trigger | None = None) -> GcReport:
    """Remove what no post references, once older than ``grace``. ``trigger``: who asked; a
    run that is not a dry run then leaves one audit row with what it removed (counts and
    bytes; the scheduled cleanup passes none)."""
    report = GcReport(dry_run=dry_run)
    cutoff = time.time() - grace.total_seconds()
    unreferenced = (
        select(media_files.c.id, media_files.c.sha256, media_files.c.size)
        .where(~exists().where(post_media.c.media_id == media_files.c.id),
               media_files.c.first_seen_at < func.now() - grace)
    )
    with engine.begin() as conn:
        rows = conn.execute(unreferenced.with_for_update(skip_locked=True)).all()
        if rows and not dry_run:
            conn.execute(delete(media_files).where(media_files.c.id.in_([r.id for r in rows])))
    for row in rows:
        report.rows_removed.append(row.sha256)
        report.bytes_freed += row.size
        if not dry_run:
            _remove_file_and_derivatives(store, settings, row.sha256)
    with engine.connect() as conn:
        known = set(conn.execute(select(media_files.c.sha256)).scalars())
    for blob in store.iter_blobs():
        if blob.name not in known and blob.modified < cutoff:
            report.orphan_files_removed.append(blob.name)
            report.bytes_freed += blob.size
            if not dry_run:
                _remove_file_and_derivatives(store, settings, blob.name)
    for upload in store.incomplete_uploads():
        if upload.modified < cutoff:
            report.temp_files_removed += 1
            report.bytes_freed += upload.size
            if not dry_run:
                store.remove_incomplete(upload)
    if trigger is not None and not dry_run:
        record_now(engine, trigger, "media.gc", entity_type="media",
                   changes={"rows_removed": len(report.rows_removed),
                            "orphan_files_removed": len(report.orphan_files_removed),
                            "temp_files_removed": report.temp_files_removed,
                            "bytes_freed": report.bytes_freed, "grace_s": grace.total_seconds()})
    return report


def _remove_file_and_derivatives(store: BlobStore, settings: Settings, sha256: str) -> None:
    """The stored file and every processor's files derived from it. ``sha256`` is a name
    the store listed: one that is not a hash (a stray file) has no derived files."""
    store.delete(sha256)
    if _SHA256.fullmatch(sha256):
        store.delete_derived(sha256)

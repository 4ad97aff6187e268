"""The ``backup`` job type: what beat runs on ``ALEJANDRIA_BACKUP_SCHEDULE``."""

from __future__ import annotations

from typing import Any

from alejandria.backup.create import create_backup
from alejandria.context import ArchiveContext
from alejandria.queue.runner import Progress, quiet


def backup(context: ArchiveContext, *, to: str | None = None,
           progress: Progress = quiet) -> dict[str, Any]:
    """A backup into ``to`` (default ``ALEJANDRIA_BACKUP_DIR``), then the retention policy.
    Media files missing or corrupt in the store are listed in the result (the backup is
    made all the same); ``backup verify`` proves it restores."""
    from pathlib import Path

    report = create_backup(
        context, to=Path(to) if to else None,
        progress=lambda phase, done, total: progress(done, total) if phase == "blobs" else None)
    result = report.as_dict()
    result["missing"] = report.manifest.missing
    result["corrupt"] = report.manifest.corrupt
    return result

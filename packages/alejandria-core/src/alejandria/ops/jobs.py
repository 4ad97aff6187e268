"""The upkeep job types: ``cleanup`` (daily: old jobs, lost jobs, unreferenced media) and
``noop`` (measures the queue's own overhead)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alejandria.context import ArchiveContext
from alejandria.media.gc import collect_garbage
from alejandria.queue.runner import Progress, quiet
from alejandria.queue.submit import recover_lost


def cleanup(context: ArchiveContext, progress: Progress = quiet) -> dict[str, Any]:
    settings = context.settings
    removed = context.jobs.delete_completed(timedelta(days=settings.keep_jobs_days))
    recovered = recover_lost(context)
    garbage = collect_garbage(context.engine, context.media, settings)
    return {"jobs_removed": removed, "jobs_recovered": recovered, "media": garbage.as_dict()}


def noop(context: ArchiveContext, progress: Progress = quiet) -> dict[str, Any]:
    """Does nothing: measures the queue's own overhead."""
    return {}

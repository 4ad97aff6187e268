"""The sync job types: ``sync`` (one sync on a worker) and ``daily_sync`` (a sync of every
subscription, queued at low priority)."""

from __future__ import annotations

from typing import Any

from alejandria.context import ArchiveContext
from alejandria.queue.runner import Progress, quiet
from alejandria.queue.submit import submit_many
from alejandria.sync.service import run_sync
from alejandria.sync.subscriptions import subscriptions


def sync(context: ArchiveContext, *, source: str, targets: list[str],
         options: dict[str, Any] | None = None, progress: Progress = quiet) -> dict[str, Any]:
    report = run_sync(context, source, targets, options=options,
                      progress=lambda event: progress(event.done, event.total))
    return {**report.model_dump(mode="json"), "ok": report.ok}


def daily_sync(context: ArchiveContext, progress: Progress = quiet) -> dict[str, Any]:
    """Queue an incremental sync of everything the user has synced before (low priority)."""
    entries = subscriptions(context.engine)
    submit_many(context, "sync", [{"source": entry["source"], "targets": entry["targets"]}
                                  for entry in entries], priority=1)
    progress(len(entries), len(entries))
    return {"queued": len(entries)}

"""The work jobs do: plain functions of an open ``Archive``, each returning JSON.

They are idempotent (running one twice leaves the same rows and files), which is what makes
``acks_late`` redelivery after a worker dies safe.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alejandria.api import Archive


#: ``progress(done, total)``: how far a job is (shown by ``jobs list`` and a waiting CLI).
Progress = Callable[[int, int | None], None]


def _quiet(_done: int, _total: int | None) -> None:
    return None


def sync(archive: Archive, *, source: str, targets: list[str],
         options: dict[str, Any] | None = None, progress: Progress = _quiet) -> dict[str, Any]:
    report = archive.sync(source, *targets, options=options,
                          progress=lambda event: progress(event.done, event.total))
    return {**report.model_dump(mode="json"), "ok": report.ok}


def process_media(archive: Archive, *, processor: str | None = None,
                  source: str | None = None, progress: Progress = _quiet) -> dict[str, Any]:
    return archive.process_media(
        processor=processor, source=source,
        progress=lambda done, total, _label: progress(done, total)).as_dict()


def download_embeds(archive: Archive, progress: Progress = _quiet) -> dict[str, Any]:
    report = archive.download_embeds()
    return {"downloaded": report.downloaded, "reused": report.reused,
            "rescheduled": report.rescheduled,
            "failed": [error.model_dump() for error in report.failed]}


def cleanup(archive: Archive, progress: Progress = _quiet) -> dict[str, Any]:
    from alejandria.queue.submit import recover_lost

    removed = archive.jobs.delete_completed(timedelta(days=archive.settings.keep_jobs_days))
    recovered = recover_lost(archive)
    garbage = archive.collect_garbage()
    return {"jobs_removed": removed, "jobs_recovered": recovered, "media": garbage.as_dict()}


def daily_sync(archive: Archive, progress: Progress = _quiet) -> dict[str, Any]:
    """Queue an incremental sync of everything the user has synced before (low priority)."""
    from alejandria.queue.submit import submit_many

    subscriptions = archive.subscriptions()
    submit_many(archive, "sync", [{"source": subscription["source"],
                                   "targets": subscription["targets"]}
                                  for subscription in subscriptions], priority=1)
    progress(len(subscriptions), len(subscriptions))
    return {"queued": len(subscriptions)}


def embed(archive: Archive, progress: Progress = _quiet) -> dict[str, Any]:
    """Embed every chunk and transcript lacking a vector for the configured model."""
    return archive.embed_backfill(progress=lambda done, total: progress(done, total)).as_dict()


def noop(archive: Archive, progress: Progress = _quiet) -> dict[str, Any]:
    """Does nothing: measures the queue's own overhead."""
    return {}


JobFunction = Callable[..., dict[str, Any]]

#: Job type → (function, queue).
JOB_TYPES: dict[str, tuple[JobFunction, str]] = {
    "sync": (sync, "sources"),
    "process_media": (process_media, "media"),
    "download_embeds": (download_embeds, "media"),
    "cleanup": (cleanup, "sources"),
    "daily_sync": (daily_sync, "sources"),
    "embed": (embed, "search"),
    "noop": (noop, "sources"),
}
QUEUES = ("sources", "media", "transcription", "search")

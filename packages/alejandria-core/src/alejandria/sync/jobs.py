"""The sync job types: ``sync`` (one sync on a worker) and ``daily_sync`` (a sync of every
subscription, queued at low priority)."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from alejandria.context import ArchiveContext
from alejandria.queue.runner import Progress, quiet
from alejandria.queue.submit import submit_many
from alejandria.sync.service import run_sync
from alejandria.sync.subscriptions import subscriptions

if TYPE_CHECKING:
    from alejandria.sync.pipeline import ProgressEvent


def sync(context: ArchiveContext, *, source: str, targets: list[str],
         options: dict[str, Any] | None = None, progress: Progress = quiet) -> dict[str, Any]:
    report = run_sync(context, source, targets, options=options,
                      progress=JobProgress(progress))
    return {**report.model_dump(mode="json"), "ok": report.ok}


class JobProgress:
    """A sync's progress as its job shows it (``progress_current/progress_total``): the
    targets done, or, for a sync of one target (one creator, one book), the posts of that
    target (the total ``None`` while the source has not said how many; at the end, the posts
    it handled of as many). Posts are passed on at most once per ``INTERVAL_S``, so the row
    is not written more often than that for them."""

    INTERVAL_S = 1.0

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._posts: int | None = None
        self._passed = -math.inf

    def __call__(self, event: ProgressEvent) -> None:
        if event.stage == "posts":
            if event.total == 1:
                self._posts_of_the_one_target(event)
        elif event.stage == "done" and self._posts is not None:
            self._progress(self._posts, self._posts)
        else:
            self._progress(event.done, event.total)

    def _posts_of_the_one_target(self, event: ProgressEvent) -> None:
        self._posts = event.posts
        now = time.monotonic()
        if now - self._passed >= self.INTERVAL_S:
            self._passed = now
            self._progress(event.posts, event.posts_expected)


def daily_sync(context: ArchiveContext, progress: Progress = quiet) -> dict[str, Any]:
    """Queue an incremental sync of everything the user has synced before (low priority)."""
    entries = subscriptions(context.engine)
    submit_many(context, "sync", [{"source": entry["source"], "targets": entry["targets"]}
                                  for entry in entries], priority=1)
    progress(len(entries), len(entries))
    return {"queued": len(entries)}

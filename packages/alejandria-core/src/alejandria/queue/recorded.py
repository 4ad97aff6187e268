"""Work run in this process, recorded in ``jobs`` like a queued job.

Without a broker, ``alejandria sync`` runs the sync itself (with its progress bar) instead of
submitting a job; recording it here keeps ``jobs list`` the history of what ran, as the README
promises, broker or not. An interrupted run (Ctrl-C) is recorded as failed, saying so.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alejandria.queue.host import JobHost


@dataclass
class RecordedJob:
    """The row of a job run here; set ``result`` before the block ends."""

    id: int
    result: dict[str, Any] = field(default_factory=dict)


@contextmanager
def recorded_job(host: JobHost, job_type: str, payload: dict[str, Any], *,
                 priority: int = 5) -> Iterator[RecordedJob]:
    """A ``jobs`` row for the work done in the block: running while it runs, then completed
    with ``job.result`` or failed with the error that ended it."""
    queue = host.job_type(job_type).queue
    job = RecordedJob(host.jobs.create(job_type, payload, queue=queue, priority=priority,
                                       task_id=str(uuid.uuid4())))
    host.jobs.started(job.id)
    try:
        yield job
    except Exception as exc:
        host.jobs.failed(job.id, exc)
        raise
    except BaseException:
        host.jobs.failed(job.id, InterruptedError("interrupted before it finished"))
        raise
    host.jobs.completed(job.id, job.result)

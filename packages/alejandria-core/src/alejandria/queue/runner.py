"""Running a job: the same code inline (no broker) and inside a Celery task.

Transient errors retry with exponential backoff and jitter; a source's ``RateLimited`` waits
its ``retry_after``; permanent errors (bad input, expired credentials, bugs) fail at once with
their message. Every step is mirrored in the ``jobs`` row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError

from alejandria.errors import (
    ItemRejected,
    MediaError,
    RateLimited,
    SourceAuthError,
    SourceError,
)
from alejandria.net.backoff import backoff
from alejandria.queue.running import RunningMark

if TYPE_CHECKING:
    from alejandria.queue.host import JobHost
    from alejandria.queue.ledger import JobStore

#: A job type's function: ``function(host, *, progress, **kwargs) -> JSON``.
JobFunction = Callable[..., dict[str, Any]]
#: ``progress(done, total)``: how far a job is (shown by ``jobs list`` and a waiting CLI).
Progress = Callable[[int, int | None], None]


def quiet(_done: int, _total: int | None) -> None:
    """The progress of a job nobody watches."""
    return None


MAX_RETRIES = 5
BACKOFF_BASE_S = 10.0
BACKOFF_MAX_S = 3600.0

#: Errors worth trying again later: the site or the network may recover.
TRANSIENT = (SourceError, MediaError, OperationalError, ConnectionError, TimeoutError)
#: Errors that will fail the same way every time.
PERMANENT = (ItemRejected, SourceAuthError)


class RetryLater(Exception):
    """Raised by ``run_job`` when the job should run again after ``delay_s``."""

    def __init__(self, error: BaseException, delay_s: float) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay_s = delay_s


def retry_delay(error: BaseException, attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1``: Retry-After, else backoff with jitter."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return float(error.retry_after)
    return backoff(attempt - 1, base=BACKOFF_BASE_S, cap=BACKOFF_MAX_S)


class ProgressWriter:
    """Writes a job's progress to its row, at most twice a second (and always at the end);
    the job is marked running before its first progress."""

    INTERVAL_S = 0.5

    def __init__(self, jobs: JobStore, job_id: int, mark: RunningMark) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.mark = mark
        self._last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last >= self.INTERVAL_S or (total is not None and done >= total):
            self._last = now
            self.mark.write()
            self.jobs.progress(self.job_id, done, total)


def run_job(host: JobHost, job_id: int, function: JobFunction, kwargs: dict[str, Any],
            attempt: int, max_retries: int = MAX_RETRIES) -> dict[str, Any] | None:
    """Run one attempt of a job. Returns its result (None when it was cancelled); raises
    ``RetryLater`` for a transient failure with retries left, or the error itself."""
    jobs = host.jobs
    if not jobs.may_run(job_id):
        return None
    mark = RunningMark(jobs, job_id)
    try:
        result = function(host, progress=ProgressWriter(jobs, job_id, mark), **kwargs)
    except PERMANENT as exc:
        jobs.failed(job_id, exc, unmarked_s=mark.finish())
        raise
    except (RateLimited, *TRANSIENT) as exc:
        if attempt > max_retries:
            jobs.failed(job_id, exc, unmarked_s=mark.finish())
            raise
        delay = retry_delay(exc, attempt)
        jobs.retrying(job_id, exc, delay, unmarked_s=mark.finish())
        raise RetryLater(exc, delay) from exc
    except Exception as exc:
        jobs.failed(job_id, exc, unmarked_s=mark.finish())
        raise
    except BaseException:  # the process is stopping: its message will be delivered again
        mark.finish()
        raise
    jobs.completed(job_id, result, unmarked_s=mark.finish())
    return result

"""What a worker does with a message the broker delivers again.

Messages are acknowledged when their job ends (``acks_late``), so a worker that dies mid-job
loses nothing: the broker delivers the message again. Redis does that after the visibility
timeout, whether or not the first worker died: a sync running longer than the timeout is
delivered again *while it runs*, and a message restored during a job reaches a worker once
the job has completed. Run blindly, either copy runs the job a second (or third) time. That
was seen under load as a job with ``attempts == 3`` after one crash.

So a delivery marked redelivered (or a copy we postponed ourselves) looks at the job first:

- ended (completed, failed, cancelled): **skip** it, its outcome is recorded;
- running, its worker beat it lately (``queue.running`` beats every ``job_heartbeat_s``):
  **later**: the job is alive elsewhere, so look again in ``RECHECK_S``;
- otherwise (pending, retrying, or running with a stale beat: its worker died): **run**.

The fast path, a first delivery, reads nothing.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from alejandria.queue.running import heartbeat_s

if TYPE_CHECKING:
    from alejandria.queue.ledger import JobStore

#: A running job not beaten for this many beats has lost its worker (a loaded machine may
#: delay one beat, not six).
STALE_AFTER_BEATS = 6
#: How long a copy of a job that runs elsewhere waits before it looks again.
RECHECK_S = 30.0
ENDED = frozenset({"completed", "failed", "cancelled"})


class Delivery(Enum):
    RUN = "run"
    SKIP = "skip"
    LATER = "later"


def redelivery(jobs: JobStore, job_id: int) -> Delivery:
    """What to do with a message of ``job_id`` delivered again (see the module)."""
    state = jobs.delivery_state(job_id)
    if state is None:
        return Delivery.SKIP  # no such job (its row was deleted): nothing to run
    status, beaten_s_ago = state
    if status in ENDED:
        return Delivery.SKIP
    stale_after_s = STALE_AFTER_BEATS * heartbeat_s()
    if status == "running" and beaten_s_ago is not None and beaten_s_ago < stale_after_s:
        return Delivery.LATER
    return Delivery.RUN


def recheck_delay(visibility_timeout_s: float) -> float:
    """Seconds a postponed copy waits: ``RECHECK_S``, and less than half the broker's
    visibility timeout (a message held longer than that would be delivered again itself)."""
    return max(1.0, min(RECHECK_S, visibility_timeout_s / 2))

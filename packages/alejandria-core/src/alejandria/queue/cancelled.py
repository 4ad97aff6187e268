"""Which jobs were cancelled, known to a worker without a read per job.

A worker must not run a job that was cancelled while it waited in the queue. Reading the job's
row before running it costs a round trip per job, a fifth of a no-op job's time. Instead each
worker process keeps the ids of the cancelled jobs, read together with the generation counter
``jobs.cancelled`` in ``system_config``; cancelling a job, or sending one again, moves that
counter on in the same statement. Each "completed" write returns the counter: while it has not
moved, the ids the worker holds are still the cancelled ones, and the next job may start
without a read. When it moved, or when no write confirmed it for ``FRESH_S`` (an idle worker),
the ids are read again before the next job. So a cancel is obeyed by every job that starts more
than ``FRESH_S`` after it; one that starts sooner runs, as if it had started just before the
cancel, and its row stays "cancelled" either way.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterable

from sqlalchemy.engine import Engine

GENERATION_KEY = "jobs.cancelled"
#: How long a confirmation of the generation is trusted (seconds).
FRESH_S = 0.1

#: The generation counter, as SQL (0 before anything was ever cancelled).
GENERATION_SQL = ("coalesce((SELECT (value #>> '{}')::bigint FROM system_config "
                  f"WHERE key = '{GENERATION_KEY}'), 0)")


def bump_sql(changed: str) -> str:
    """SQL that moves the generation on when the CTE ``changed`` has rows; for a
    data-modifying CTE beside the status change, so that both commit together."""
    return (f"INSERT INTO system_config (key, value) SELECT '{GENERATION_KEY}', '1'::jsonb "
            f"FROM {changed} LIMIT 1 ON CONFLICT (key) DO UPDATE "
            "SET value = to_jsonb((system_config.value #>> '{}')::bigint + 1)")


class CancelledJobs:
    """One process's view of the cancelled jobs of one database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._ids: frozenset[int] = frozenset()
        self._fresh_until = 0.0

    def may_run(self, job_id: int) -> bool | None:
        """Whether the job may run, or None when the view must be read again first."""
        with self._lock:
            if self._generation is None or time.monotonic() > self._fresh_until:
                return None
            return job_id not in self._ids

    def read(self, generation: int, ids: Iterable[int]) -> None:
        with self._lock:
            self._generation, self._ids = generation, frozenset(ids)
            self._fresh_until = time.monotonic() + FRESH_S

    def confirm(self, generation: int | None) -> None:
        """A write saw ``generation`` (None: it did not say): trust the view a while longer
        if nothing was cancelled since it was read, else read it again next time."""
        with self._lock:
            if generation is not None and generation == self._generation:
                self._fresh_until = time.monotonic() + FRESH_S
            else:
                self._generation = None


_views: weakref.WeakKeyDictionary[Engine, CancelledJobs] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def cancelled_jobs(engine: Engine) -> CancelledJobs:
    """This process's view for ``engine``."""
    with _lock:
        view = _views.get(engine)
        if view is None:
            view = _views[engine] = CancelledJobs()
        return view


def _forget_in_child() -> None:
    global _views, _lock
    _views, _lock = weakref.WeakKeyDictionary(), threading.Lock()  # a lock may be held


os.register_at_fork(after_in_child=_forget_in_child)

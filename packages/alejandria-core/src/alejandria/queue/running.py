"""Marking a job "running" only once it has run for a moment.

A worker used to write "running" before every job and the outcome after it: two round trips
to Postgres, which for the many jobs that take milliseconds cost more than the job. Now it
only reads whether the job was cancelled before running it, and the outcome records the
attempt (its start included) when nothing else did. A job still running after
``RUNNING_AFTER_S``, or reporting progress, is marked running then: by one thread per process
that looks at the running jobs every ``RUNNING_AFTER_S``, so a job costs it no wake-up.

A job killed before it was marked stays "pending" until its message is delivered again, which
is what it is: waiting to run.

The same thread beats the jobs it marked (``heartbeat_at``, every ``HEARTBEAT_S``, one
statement for all of a process's running jobs): a message the broker delivers again while its
job still runs elsewhere (Redis's visibility timeout passes during a long sync) is told apart
from one whose worker died (``queue.redelivery``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alejandria.queue.ledger import JobStore

log = logging.getLogger(__name__)

#: A job running longer than this is marked running (between one and two times this).
RUNNING_AFTER_S = 0.5
#: How often the running jobs of a process are beaten (``set_heartbeat``: the worker's
#: ``job_heartbeat_s`` setting).
HEARTBEAT_S = 10.0


def set_heartbeat(seconds: float) -> None:
    global HEARTBEAT_S
    HEARTBEAT_S = seconds


def heartbeat_s() -> float:
    return HEARTBEAT_S


class RunningMark:
    """One attempt of one job: marks it running at most once, never after its outcome."""

    def __init__(self, jobs: JobStore, job_id: int) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._written = False
        self._finished = False
        _watcher.watch(self)

    def write(self) -> None:
        """Mark the job running now (once, and only while it runs)."""
        with self._lock:
            if self._written or self._finished:
                return
            self.jobs.started(self.job_id)
            self._written = True
        _watcher.beat(self)

    def finish(self) -> float | None:
        """The attempt is over: None when "running" was written, else the seconds it ran
        (for the outcome to record the attempt and its start)."""
        with self._lock:
            self._finished = True
            ran = None if self._written else time.monotonic() - self.started
        _watcher.forget(self)  # after _finished: a beat() racing with this adds nothing back
        return ran


class _Watcher:
    """The thread that marks running the jobs that have run ``RUNNING_AFTER_S``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._marks: dict[RunningMark, float] = {}
        #: marked running and not finished: beaten every ``HEARTBEAT_S``
        self._beating: dict[RunningMark, None] = {}
        self._last_beat = time.monotonic()
        self._thread: threading.Thread | None = None

    def watch(self, mark: RunningMark) -> None:
        with self._lock:
            self._marks[mark] = mark.started + RUNNING_AFTER_S
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="alejandria-running",
                                                daemon=True)
                self._thread.start()

    def beat(self, mark: RunningMark) -> None:
        with self._lock:
            if not mark._finished:
                self._beating[mark] = None

    def forget(self, mark: RunningMark) -> None:
        with self._lock:
            self._marks.pop(mark, None)
            self._beating.pop(mark, None)

    def _run(self) -> None:
        while True:
            time.sleep(RUNNING_AFTER_S)
            now = time.monotonic()
            if now - self._last_beat >= HEARTBEAT_S:
                self._last_beat = now
                self._beat_all()
            with self._lock:
                due = [mark for mark, at in self._marks.items() if at <= now]
                for mark in due:
                    del self._marks[mark]
            for mark in due:
                try:
                    mark.write()
                except Exception:  # a hint only: the outcome records the attempt anyway
                    log.debug("could not mark job %s running", mark.job_id, exc_info=True)


    def _beat_all(self) -> None:
        with self._lock:
            stores: dict[int, tuple[JobStore, list[int]]] = {}
            for mark in self._beating:
                stores.setdefault(id(mark.jobs), (mark.jobs, []))[1].append(mark.job_id)
        for jobs, ids in stores.values():
            try:
                jobs.heartbeat(ids)
            except Exception:  # a missed beat only makes a redelivery wait one more beat
                log.debug("could not beat jobs %s", ids, exc_info=True)


_watcher = _Watcher()


def _new_watcher_in_child() -> None:
    global _watcher
    _watcher = _Watcher()  # the parent's thread does not exist here; its lock may be held


os.register_at_fork(after_in_child=_new_watcher_in_child)

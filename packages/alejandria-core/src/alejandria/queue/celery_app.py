"""The Celery app a worker runs: one task, ``alejandria.job``, runs any registered job type;
``alejandria.scheduled`` is what beat sends (it records the job, then queues it).

The app does not know how to open an archive: whoever starts a worker passes ``open_host``
(``alejandria.worker`` does, with ``Archive.open``), and each worker process calls it once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from alejandria.errors import ConfigurationError
from alejandria.queue.broker import SCHEDULED_TASK_NAME, TASK_NAME, configured_app
from alejandria.queue.held import hold_connection
from alejandria.queue.redelivery import Delivery, recheck_delay, redelivery
from alejandria.queue.runner import RetryLater, run_job
from alejandria.queue.running import set_heartbeat
from alejandria.queue.submit import submit

if TYPE_CHECKING:
    from celery import Celery

    from alejandria.queue.host import JobHost
    from alejandria.settings import Settings


log = logging.getLogger(__name__)


class WorkerHost:
    """The archive a worker process serves jobs with: opened on its first job, once per
    process (a forked child opens its own: database connections do not survive a fork)."""

    def __init__(self, open_host: Callable[[], JobHost] | None) -> None:
        self._open = open_host
        self._hosts: dict[int, JobHost] = {}
        self._lock = threading.Lock()

    def get(self) -> JobHost:
        pid = os.getpid()
        with self._lock:
            if pid not in self._hosts:
                if self._open is None:
                    raise ConfigurationError("this Celery app runs no jobs: start workers with "
                                             "'alejandria worker'")
                self._hosts[pid] = self._open()
            return self._hosts[pid]


def make_celery(settings: Settings, open_host: Callable[[], JobHost] | None = None) -> Celery:
    """The Celery app for ``settings`` with the tasks a worker runs, on the archive
    ``open_host`` opens (once per process). Without ``open_host`` it can only send."""
    app = configured_app(settings)
    hosts = WorkerHost(open_host)
    set_heartbeat(settings.job_heartbeat_s)

    @app.task(bind=True, name=TASK_NAME, max_retries=None,  # type: ignore[untyped-decorator]
              shared=False)
    def job(self: Any, job_id: int, job_type: str, kwargs: dict[str, Any],
            recheck: bool = False) -> None:
        host = hosts.get()
        function = host.job_type(job_type).function
        hold_connection(host.engine)  # the job's state writes share one connection
        delivery = self.request.delivery_info or {}
        if recheck or delivery.get("redelivered"):
            action = redelivery(host.jobs, job_id)
            if action is Delivery.SKIP:
                log.info("job %s was delivered again after it ended: not run again", job_id)
                return
            if action is Delivery.LATER:
                log.info("job %s was delivered again while it runs elsewhere: looking again "
                         "later", job_id)
                self.apply_async(
                    kwargs={"job_id": job_id, "job_type": job_type, "kwargs": kwargs,
                            "recheck": True},
                    task_id=self.request.id, queue=delivery.get("routing_key"),
                    priority=delivery.get("priority"),
                    countdown=recheck_delay(settings.broker_visibility_timeout))
                return
        try:
            run_job(host, job_id, function, kwargs, attempt=self.request.retries + 1)
        except RetryLater as later:
            raise self.retry(countdown=later.delay_s, exc=later.error) from later

    @app.task(name=SCHEDULED_TASK_NAME, shared=False)  # type: ignore[untyped-decorator]
    def scheduled(job_type: str) -> None:
        """What beat sends: record the job (a row in ``jobs``) and queue it."""
        submit(hosts.get(), job_type, {}, priority=1)

    return app

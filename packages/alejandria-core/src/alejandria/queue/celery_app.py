"""The Celery app, configured from Alejandria's settings.

One task, ``alejandria.job``, runs any job type; the queue (``sources``, ``media``,
``transcription``, ``search``) is chosen per job type when it is submitted, and priorities let
a user's request overtake the nightly backlog. ``acks_late`` + ``reject_on_worker_lost`` mean a
job whose worker dies is delivered again (jobs are idempotent); Redis hands it to another
worker after ``broker_visibility_timeout`` seconds.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from celery import Celery
from kombu import Exchange, Queue  # type: ignore[attr-defined]

from alejandria.queue.functions import JOB_TYPES, QUEUES
from alejandria.queue.held import hold_connection
from alejandria.queue.runner import RetryLater, run_job

if TYPE_CHECKING:
    from alejandria.api import Archive
    from alejandria.settings import Settings

TASK_NAME = "alejandria.job"
SCHEDULED_TASK_NAME = "alejandria.scheduled"
MAX_PRIORITY = 9

_worker_archives: dict[int, Archive] = {}


def worker_archive() -> Archive:
    """The archive of this worker process, opened once (plugins load once per process)."""
    pid = os.getpid()
    if pid not in _worker_archives:
        from alejandria.api import Archive

        _worker_archives[pid] = Archive.open()
    return _worker_archives[pid]


def use_worker_archive(archive: Archive | None) -> None:
    """Make this process's workers use ``archive`` (tests, embedding in another app)."""
    if archive is None:
        _worker_archives.pop(os.getpid(), None)
    else:
        _worker_archives[os.getpid()] = archive


def make_celery(settings: Settings) -> Celery:
    broker = settings.broker_url.get_secret_value() if settings.broker_url else "memory://"
    app = Celery("alejandria", broker=broker, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="sources",
        task_queues=[Queue(name, Exchange(name),  # type: ignore[no-untyped-call]
                           routing_key=name,
                           queue_arguments={"x-max-priority": MAX_PRIORITY + 1})
                     for name in QUEUES],
        task_queue_max_priority=MAX_PRIORITY,
        task_default_priority=5,
        broker_transport_options={
            "visibility_timeout": settings.broker_visibility_timeout,
            # look for jobs of dead workers every few seconds (kombu's default is 100 s)
            "unacked_restore_interval": max(1, min(10, settings.broker_visibility_timeout // 3)),
            "unacked_restore_throttle": 1,
            "priority_steps": list(range(MAX_PRIORITY + 1)),
            "queue_order_strategy": "priority",
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    @app.task(bind=True, name=TASK_NAME, max_retries=None,  # type: ignore[untyped-decorator]
              shared=False)
    def job(self: Any, job_id: int, job_type: str, kwargs: dict[str, Any]) -> None:
        function, _queue = JOB_TYPES[job_type]
        archive = worker_archive()
        hold_connection(archive.engine)  # the job's state writes share one connection
        try:
            run_job(archive, job_id, function, kwargs, attempt=self.request.retries + 1)
        except RetryLater as later:
            raise self.retry(countdown=later.delay_s, exc=later.error) from later

    @app.task(name=SCHEDULED_TASK_NAME, shared=False)  # type: ignore[untyped-decorator]
    def scheduled(job_type: str) -> None:
        """What beat sends: record the job (a row in ``jobs``) and queue it."""
        worker_archive().submit(job_type, {}, priority=1)

    return app


def beat_schedule(settings: Settings, hour: int | None = None) -> dict[str, Any]:
    """The daily incremental sync at ``hour`` and the cleanup an hour later."""
    from celery.schedules import crontab

    hour = settings.daily_sync_hour if hour is None else hour
    return {
        "daily-sync": {"task": SCHEDULED_TASK_NAME, "args": ["daily_sync"],
                       "schedule": crontab(hour=hour, minute=0), "options": {"queue": "sources"}},
        "cleanup": {"task": SCHEDULED_TASK_NAME, "args": ["cleanup"],
                    "schedule": crontab(hour=(hour + 1) % 24, minute=0),
                    "options": {"queue": "sources"}},
    }


@lru_cache(maxsize=4)
def celery_app_for(broker_url: str, visibility_timeout: int) -> Celery:
    """A cached app per broker (so submitting many jobs reuses one connection pool)."""
    from pydantic import SecretStr

    from alejandria.settings import Settings

    return make_celery(Settings(broker_url=SecretStr(broker_url),
                                broker_visibility_timeout=visibility_timeout))

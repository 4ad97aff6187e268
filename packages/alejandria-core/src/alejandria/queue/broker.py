"""The broker side of the queue: a Celery app configured from the settings, the cached app
that submitting sends tasks with, and how our priorities map onto each broker.

Queues (``sources``, ``media``, ``transcription``, ``search``) are chosen per job type when a
job is submitted, and priorities let a user's request overtake the nightly backlog.
``acks_late`` + ``reject_on_worker_lost`` mean a job whose worker dies is delivered again (jobs
are idempotent); Redis hands it to another worker after ``broker_visibility_timeout`` seconds.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from celery import Celery
from kombu import Exchange, Queue  # type: ignore[attr-defined]

if TYPE_CHECKING:
    from alejandria.settings import Settings

TASK_NAME = "alejandria.job"
SCHEDULED_TASK_NAME = "alejandria.scheduled"
MAX_PRIORITY = 9
#: The queues a worker consumes by default.
QUEUES = ("sources", "media", "transcription", "search")


def configured_app(settings: Settings) -> Celery:
    """A Celery app for the broker in ``settings``, with no tasks registered (enough to send
    them by name; ``celery_app.make_celery`` adds the tasks a worker runs)."""
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
    return app


@lru_cache(maxsize=4)
def celery_app_for(broker_url: str, visibility_timeout: int) -> Celery:
    """A cached app per broker (so submitting many jobs reuses one connection pool)."""
    from pydantic import SecretStr

    from alejandria.settings import Settings

    return configured_app(Settings(broker_url=SecretStr(broker_url),
                                   broker_visibility_timeout=visibility_timeout))


def broker_priority(broker_url: str, priority: int) -> int:
    """Our priorities: 0 (backlog) .. 9 (a user waiting), as RabbitMQ reads them. Redis reads
    them the other way round (0 first), so they are mirrored for it."""
    priority = max(0, min(MAX_PRIORITY, priority))
    return MAX_PRIORITY - priority if broker_url.startswith(("redis", "rediss")) else priority


def beat_schedule(settings: Settings, hour: int | None = None) -> dict[str, Any]:
    """The daily incremental sync at ``hour``, the cleanup an hour later, and the backup on
    ``ALEJANDRIA_BACKUP_SCHEDULE`` when one is set."""
    from celery.schedules import crontab

    hour = settings.daily_sync_hour if hour is None else hour
    schedule = {
        "daily-sync": {"task": SCHEDULED_TASK_NAME, "args": ["daily_sync"],
                       "schedule": crontab(hour=hour, minute=0), "options": {"queue": "sources"}},
        "cleanup": {"task": SCHEDULED_TASK_NAME, "args": ["cleanup"],
                    "schedule": crontab(hour=(hour + 1) % 24, minute=0),
                    "options": {"queue": "sources"}},
    }
    if settings.backup_schedule:
        schedule["backup"] = {"task": SCHEDULED_TASK_NAME, "args": ["backup"],
                              "schedule": backup_crontab(settings.backup_schedule),
                              "options": {"queue": "sources"}}
    return schedule


def backup_crontab(expression: str) -> Any:
    """The celery ``crontab`` of a five-field cron expression; ``ConfigurationError`` naming
    the setting when celery cannot read it."""
    from celery.schedules import crontab

    from alejandria.errors import ConfigurationError

    minute, hour, day, month, weekday = expression.split()
    try:
        return crontab(minute=minute, hour=hour, day_of_month=day, month_of_year=month,
                       day_of_week=weekday)
    except ValueError as exc:
        raise ConfigurationError(f"ALEJANDRIA_BACKUP_SCHEDULE={expression!r} is not a cron "
                                 f"expression celery reads ({exc}); e.g. '30 4 * * *'") from exc

"""Submitting jobs: to the broker when one is configured, otherwise run here and now.

The ``jobs`` row is written first, so a job is visible (and retryable) even if the broker is
down; with no broker the same runner executes inline, sleeping through retries, so a
single-user setup needs no Redis and records exactly the same rows.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from alejandria.errors import ConfigurationError, UnknownName
from alejandria.queue import broker as brokers
from alejandria.queue.held import hold_connection
from alejandria.queue.runner import RetryLater, run_job
from alejandria.storage.audit import Trigger, record_now

if TYPE_CHECKING:
    from celery import Celery

    from alejandria.queue.host import JobHost

#: Longest single wait between inline retries (a rate limit asking for more is capped).
INLINE_MAX_WAIT_S = 120.0


def submit(host: JobHost, job_type: str, kwargs: dict[str, Any] | None = None, *,
           priority: int = 5, queue: str | None = None, trigger: Trigger | None = None) -> int:
    """Record and start a job; returns its id (inline jobs have finished when this returns).
    ``queue`` overrides the job type's queue (processors that run on a queue of their own).
    ``trigger``: who asked, for the audit log (a job queued by the archive itself has none)."""
    queue = queue or _queue_of(host, job_type)
    kwargs = dict(kwargs or {})
    task_id = str(uuid.uuid4())
    if host.settings.broker_url is not None:
        # A thread that submits often (a script, the web app's threads) keeps one connection
        # for its job rows: from the pool, each row cost a ping and a reset besides the INSERT.
        hold_connection(host.engine)
    job_id = host.jobs.create(job_type, kwargs, queue=queue, priority=priority,
                                 task_id=task_id)
    if trigger is not None:
        _audit_submitted(host, trigger, job_type, [job_id], [kwargs])
    dispatch(host, job_id, job_type, kwargs, queue=queue, priority=priority,
             task_id=task_id)
    return job_id


def submit_many(host: JobHost, job_type: str, many_kwargs: Sequence[dict[str, Any]], *,
                priority: int = 5, trigger: Trigger | None = None) -> list[int]:
    """Record and start many jobs of one type (one per item of ``many_kwargs``); their ids,
    in order. The rows are written with one statement and the tasks sent over one broker
    connection, which is much faster than a ``submit`` per job."""
    queue = _queue_of(host, job_type)
    payloads = [dict(kwargs) for kwargs in many_kwargs]
    task_ids = [str(uuid.uuid4()) for _ in payloads]
    job_ids = host.jobs.create_many(job_type, payloads, queue=queue, priority=priority,
                                       task_ids=task_ids)
    if trigger is not None and job_ids:
        _audit_submitted(host, trigger, job_type, job_ids, payloads)
    settings = host.settings
    if settings.broker_url is None:
        for job_id, kwargs in zip(job_ids, payloads, strict=True):
            run_inline(host, job_id, job_type, kwargs)
        return job_ids
    broker = settings.broker_url.get_secret_value()
    app = _app(host)
    sent = 0
    try:
        with app.producer_or_acquire() as producer:
            for job_id, kwargs, task_id in zip(job_ids, payloads, task_ids, strict=True):
                _send(app, broker, job_id, job_type, kwargs, queue=queue, priority=priority,
                      task_id=task_id, producer=producer)
                sent += 1
    except Exception as exc:
        for job_id in job_ids[sent:]:
            host.jobs.failed(job_id, ConnectionError(f"cannot reach the broker: {exc}"))
        raise ConfigurationError(f"cannot reach the broker: {exc}") from exc
    return job_ids


def _audit_submitted(host: JobHost, trigger: Trigger, job_type: str, job_ids: list[int],
                     payloads: Sequence[dict[str, Any]]) -> None:
    """One audit row for jobs a person queued: their type and ids, and for a sync what it
    syncs (source and targets; never the options or anything else of the payload)."""
    changes: dict[str, Any] = {"job_type": job_type, "job_ids": job_ids}
    if job_type == "sync":
        changes["syncs"] = [{"source": payload.get("source"), "targets": payload.get("targets")}
                            for payload in payloads]
    record_now(host.engine, trigger, f"job.submit.{job_type}", entity_type="job",
               entity_id=job_ids[0] if len(job_ids) == 1 else None, changes=changes)


def dispatch(host: JobHost, job_id: int, job_type: str, kwargs: dict[str, Any], *,
             queue: str, priority: int, task_id: str) -> None:
    settings = host.settings
    if settings.broker_url is None:
        run_inline(host, job_id, job_type, kwargs)
        return
    try:
        _send(_app(host), settings.broker_url.get_secret_value(), job_id, job_type, kwargs,
              queue=queue, priority=priority, task_id=task_id)
    except Exception as exc:
        host.jobs.failed(job_id, ConnectionError(f"cannot reach the broker: {exc}"))
        raise ConfigurationError(f"cannot reach the broker: {exc}") from exc


def _queue_of(host: JobHost, job_type: str) -> str:
    try:
        return host.job_type(job_type).queue
    except UnknownName as exc:
        raise ConfigurationError(str(exc)) from None


def _app(host: JobHost) -> Celery:
    settings = host.settings
    assert settings.broker_url is not None
    return brokers.celery_app_for(settings.broker_url.get_secret_value(),
                                  settings.broker_visibility_timeout)


def _send(app: Celery, broker: str, job_id: int, job_type: str, kwargs: dict[str, Any], *,
          queue: str, priority: int, task_id: str, producer: Any = None) -> None:
    app.send_task(brokers.TASK_NAME,
                  kwargs={"job_id": job_id, "job_type": job_type, "kwargs": kwargs},
                  task_id=task_id, queue=queue, priority=brokers.broker_priority(broker, priority),
                  producer=producer)


def run_inline(host: JobHost, job_id: int, job_type: str, kwargs: dict[str, Any]) -> None:
    function = host.job_type(job_type).function
    attempt = 1
    while True:
        try:
            run_job(host, job_id, function, kwargs, attempt=attempt)
            return
        except RetryLater as later:
            time.sleep(min(later.delay_s, INLINE_MAX_WAIT_S))
            attempt += 1
        except Exception:  # noqa: BLE001 - recorded in the job row, which the caller reads
            return


def retry(host: JobHost, job_id: int, *, only_ended_badly: bool = False,
          trigger: Trigger | None = None) -> None:
    """Run a job again (a new task, the same row); ``only_ended_badly``: only a failed or
    cancelled one (what a user may retry; recovery also sends lost running ones).
    ``trigger``: who asked, for the audit log (recovery has none)."""
    job = host.jobs.get(job_id)
    if job is None:
        raise ConfigurationError(f"no job {job_id}")
    if only_ended_badly and job.status not in ("failed", "cancelled"):
        raise ConfigurationError(f"job {job_id} is {job.status}: only a failed or cancelled "
                                 "job can be retried")
    task_id = str(uuid.uuid4())
    host.jobs.requeue(job_id, task_id)
    if trigger is not None:
        # the ledger writes in autocommit: the audit row is one INSERT of its own
        record_now(host.engine, trigger, "job.retry", entity_type="job", entity_id=job_id,
                   changes={"job_type": job.job_type})
    dispatch(host, job_id, job.job_type, job.payload, queue=job.queue or "sources",
             priority=job.priority, task_id=task_id)


def retry_failed(host: JobHost, *, job_type: str | None = None,
                 trigger: Trigger | None = None) -> list[int]:
    """Run every failed job (of ``job_type``, when given) again, oldest first; the ids sent
    again. A job that stopped being failed meanwhile (retried by someone else) is left alone.
    Without a broker each one runs here, one after the other."""
    retried = []
    for job_id in host.jobs.ids(status="failed", job_type=job_type):
        try:
            retry(host, job_id, only_ended_badly=True, trigger=trigger)
        except ConfigurationError:
            job = host.jobs.get(job_id)
            if job is not None and job.status == "failed":
                raise  # not a race: the broker is unreachable
            continue
        retried.append(job_id)
    return retried


def recover_lost(host: JobHost) -> list[int]:
    """Send again the jobs whose "completed" a restart of Postgres may have lost (see
    ``JobStore.lost``); their ids. Without a broker there is nothing to recover: inline jobs
    run in the process that submitted them."""
    if host.settings.broker_url is None:
        return []
    lost = list(host.jobs.lost(host.settings.broker_visibility_timeout))
    for job_id in lost:
        retry(host, job_id)
    return lost

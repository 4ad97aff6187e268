"""Jobs for those who operate the archive: a page of them, newest first; one in full, its
payload with secrets hidden; how many of each status wait in each queue.

A payload is what a job was asked to do, and may carry what a source logs in with (a sync's
``options`` or ``credentials``: a session cookie, a token). Before it leaves here, every value
under a key that names a secret is replaced by ``[redacted]``, and every string in the payload
and the result goes through ``redaction.redact`` (the secrets this process registered).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, select
from sqlalchemy.engine import Row

from alejandria.errors import InvalidRequest, NotFound
from alejandria.library.pages import Order, Page, SortKey, build_page, clamp_limit
from alejandria.library.refs import iso
from alejandria.redaction import REDACTED, redact
from alejandria.storage.schema import jobs

#: The statuses the ``jobs`` table allows (its check constraint).
JOB_STATUSES = ("pending", "running", "retrying", "completed", "failed", "cancelled")
#: The queue a job without one is sent to again (``queue.submit.retry``).
DEFAULT_QUEUE = "sources"
#: Keys whose values are secrets wherever they appear in a payload.
SECRET_KEY = re.compile(
    r"cookie|token|secret|passw(or)?d|credential|api[_-]?key|authori[sz]ation|^auth$|session"
    r"|private[_-]?key|bearer|signature",
    re.IGNORECASE)

JOB_ORDER = Order("jobs.newest", (SortKey(jobs.c.id, descending=True),))


def redact_payload(value: Any) -> Any:
    """``value`` (JSON) with the values under secret-naming keys hidden and every string
    redacted; an empty value stays as it is (nothing to hide, and its absence informs)."""
    if isinstance(value, dict):
        return {key: REDACTED if SECRET_KEY.search(str(key)) and value[key] not in (None, "")
                else redact_payload(value[key]) for key in value}
    if isinstance(value, list):
        return [redact_payload(item) for item in value]
    return redact(value) if isinstance(value, str) else value


def _redact_strings(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _redact_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_strings(item) for item in value]
    return redact(value) if isinstance(value, str) else value


def _text(value: str | None) -> str | None:
    return None if value is None else redact(value)


@dataclass(frozen=True)
class JobSummary:
    id: int
    job_type: str
    status: str
    queue: str | None
    attempts: int
    max_attempts: int
    progress_current: int | None
    progress_total: int | None
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "job_type": self.job_type, "status": self.status,
                "queue": self.queue, "attempts": self.attempts,
                "max_attempts": self.max_attempts, "progress_current": self.progress_current,
                "progress_total": self.progress_total, "error_message": self.error_message,
                "created_at": iso(self.created_at), "started_at": iso(self.started_at),
                "completed_at": iso(self.completed_at)}


@dataclass(frozen=True)
class JobDetail(JobSummary):
    #: What the job was asked to do, secrets hidden (``redact_payload``).
    payload: dict[str, Any]
    result: dict[str, Any] | None
    traceback: str | None
    next_retry_at: datetime | None
    heartbeat_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "payload": self.payload, "result": self.result,
                "traceback": self.traceback, "next_retry_at": iso(self.next_retry_at),
                "heartbeat_at": iso(self.heartbeat_at)}


_SUMMARY_COLUMNS = (jobs.c.id, jobs.c.job_type, jobs.c.status, jobs.c.queue, jobs.c.attempts,
                    jobs.c.max_attempts, jobs.c.progress_current, jobs.c.progress_total,
                    jobs.c.error_message, jobs.c.created_at, jobs.c.started_at,
                    jobs.c.completed_at)


def _summary_fields(row: Row[Any]) -> dict[str, Any]:
    return {"id": row.id, "job_type": row.job_type, "status": row.status, "queue": row.queue,
            "attempts": row.attempts, "max_attempts": row.max_attempts,
            "progress_current": row.progress_current, "progress_total": row.progress_total,
            "error_message": _text(row.error_message), "created_at": row.created_at,
            "started_at": row.started_at, "completed_at": row.completed_at}


def _summary(row: Row[Any]) -> JobSummary:
    return JobSummary(**_summary_fields(row))


def list_jobs(conn: Connection, *, status: str | None = None, job_type: str | None = None,
              cursor: str | None = None, limit: int = 50) -> Page[JobSummary]:
    limit = clamp_limit(limit)
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        if status not in JOB_STATUSES:
            raise InvalidRequest(f"unknown job status {status!r} (one of: "
                                 f"{', '.join(JOB_STATUSES)})")
        conditions.append(jobs.c.status == status)
    if job_type is not None:
        conditions.append(jobs.c.job_type == job_type)
    if cursor is not None:
        conditions.append(JOB_ORDER.after(cursor))
    query: Select[Any] = select(*_SUMMARY_COLUMNS)
    rows = conn.execute(query.where(*conditions).order_by(*JOB_ORDER.order_by())
                        .limit(limit + 1)).all()
    return build_page(rows, limit, JOB_ORDER, lambda row: (row.id,), _summary)


def get_job(conn: Connection, job_id: int) -> JobDetail:
    query: Select[Any] = select(*_SUMMARY_COLUMNS, jobs.c.payload, jobs.c.result,
                                jobs.c.traceback, jobs.c.next_retry_at, jobs.c.heartbeat_at)
    row = conn.execute(query.where(jobs.c.id == job_id)).first()
    if row is None:
        raise NotFound(f"job {job_id} not found")
    payload = redact_payload(row.payload) if isinstance(row.payload, dict) else {}
    return JobDetail(**_summary_fields(row), payload=payload,
                     result=_redact_strings(row.result), traceback=_text(row.traceback),
                     next_retry_at=row.next_retry_at, heartbeat_at=row.heartbeat_at)


def count_jobs(conn: Connection) -> dict[str, dict[str, int]]:
    """``{queue: {status: count}}``, a job without a queue counted in ``DEFAULT_QUEUE``."""
    queue = func.coalesce(jobs.c.queue, DEFAULT_QUEUE).label("queue")
    rows = conn.execute(select(queue, jobs.c.status, func.count().label("jobs"))
                        .group_by(queue, jobs.c.status).order_by(queue, jobs.c.status)).all()
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row.queue, {})[row.status] = int(row.jobs)
    return counts

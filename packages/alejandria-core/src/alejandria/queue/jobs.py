"""The ``jobs`` table: every task's state, so the CLI and web show it without Flower.

A job row is created before its task is queued, so nothing is lost between "asked for" and
"picked up"; the task moves it through running → completed / retrying / failed.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Connection, Engine

from alejandria.db.schema import jobs

TRACEBACK_LINES = 12


@dataclass(frozen=True)
class Job:
    id: int
    job_type: str
    status: str
    priority: int
    queue: str | None
    payload: dict[str, Any]
    result: dict[str, Any] | None
    error_message: str | None
    traceback: str | None
    attempts: int
    progress_current: int | None
    progress_total: int | None
    task_id: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class JobStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, job_type: str, payload: dict[str, Any], *, queue: str, priority: int,
               task_id: str) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(jobs.insert().values(
                job_type=job_type, payload=payload, queue=queue, priority=priority,
                task_id=task_id, status="pending").returning(jobs.c.id)).scalar_one())

    def get(self, job_id: int) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return _job(row) if row else None

    def by_task(self, task_id: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.task_id == task_id)).mappings().first()
        return _job(row) if row else None

    def list(self, *, status: str | None = None, limit: int = 50) -> list[Job]:
        query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
        if status:
            query = query.where(jobs.c.status == status)
        with self.engine.connect() as conn:
            return [_job(row) for row in conn.execute(query).mappings()]

    def started(self, job_id: int) -> bool:
        """Mark running; False when the job was cancelled (the task must not run)."""
        with self.engine.begin() as conn:
            _relaxed(conn)
            row = conn.execute(
                update(jobs).where(jobs.c.id == job_id, jobs.c.status != "cancelled")
                .values(status="running", attempts=jobs.c.attempts + 1,
                        started_at=func.now(), error_message=None)
                .returning(jobs.c.id)).first()
        return row is not None

    def progress(self, job_id: int, current: int, total: int | None) -> None:
        with self.engine.begin() as conn:
            _relaxed(conn)
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                progress_current=current, progress_total=total))

    def completed(self, job_id: int, result: dict[str, Any]) -> None:
        self._finish(job_id, status="completed", result=result, error_message=None)

    def failed(self, job_id: int, error: BaseException) -> None:
        summary = "".join(traceback.format_exception(error)[-TRACEBACK_LINES:])
        self._finish(job_id, status="failed", error_message=_one_line(error),
                     traceback=summary)

    def retrying(self, job_id: int, error: BaseException, delay_s: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                status="retrying", error_message=_one_line(error),
                next_retry_at=func.now() + timedelta(seconds=delay_s)))

    def cancel(self, job_id: int) -> bool:
        with self.engine.begin() as conn:
            row = conn.execute(
                update(jobs).where(jobs.c.id == job_id,
                                   jobs.c.status.in_(("pending", "retrying", "running")))
                .values(status="cancelled", completed_at=func.now()).returning(jobs.c.id)
            ).first()
        return row is not None

    def requeue(self, job_id: int, task_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                status="pending", task_id=task_id, error_message=None, traceback=None,
                completed_at=None, next_retry_at=None))

    def delete_completed(self, older_than: timedelta) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(delete(jobs).where(
                jobs.c.status.in_(("completed", "cancelled")),
                jobs.c.completed_at < func.now() - older_than))
        return result.rowcount or 0

    def _finish(self, job_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status != "cancelled")
                         .values(completed_at=func.now(), **values))


def _relaxed(conn: Connection) -> None:
    """Commit without waiting for the disk: "running" and progress are hints that a database
    crash may lose (the job's own writes stay durable, and completion is written durably)."""
    conn.execute(text("SET LOCAL synchronous_commit = off"))


def _job(row: Any) -> Job:
    return Job(**{name: row[name] for name in Job.__dataclass_fields__})


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__

"""The ``jobs`` table: every task's state, so the CLI and web show it without Flower.

A job row is created before its task is queued, so nothing is lost between "asked for" and
"picked up"; the task moves it through running → completed / retrying / failed.

Every state change is one statement that is its own transaction (autocommit): one round trip
instead of BEGIN, statement, COMMIT. The statements on the path every job takes (create,
running, progress, completed) are built once, so a call only binds its values.

Before running a job the worker checks that it was not cancelled, most often without a read
(``queue.cancelled``). Failures and retries are committed durably. The row's creation (before
the task is sent, so the worker finds it), "running", progress and "completed" commit without
waiting for the WAL flush (a job's own data is committed durably by the job itself): waiting
for that flush on every job halved the worker's throughput. Only a crash of Postgres itself
can lose such a state, and only the last fraction of a second of them. A completed job whose
"completed" was lost would show as running (or pending) for ever; ``recover_lost`` (run by the
scheduled cleanup) sends such jobs again, which is safe because jobs are idempotent. A lost
creation leaves a job that runs without its row, never a lost job. A worker does not even wait
for Postgres's answer to "completed" (``queue.unawaited``).
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable

from alejandria.errors import describe
from alejandria.queue import unawaited
from alejandria.queue.cancelled import GENERATION_SQL, bump_sql, cancelled_jobs
from alejandria.queue.held import drop_held, held_connection
from alejandria.redaction import redact
from alejandria.storage.schema import jobs

TRACEBACK_LINES = 12

# The statements every job runs, as driver SQL: they are run thousands of times a minute by a
# busy worker, and skipping the SQL expression layer halves the client's time per statement.
# ``set_config('synchronous_commit', 'off', true)`` in a RETURNING list commits that statement
# without waiting for the WAL to reach the disk: the setting is local to the transaction, and
# an autocommit statement is its own transaction (Postgres reads the setting as it commits).
# Creating a job is idempotent too (a write may be tried again, see ``JobStore._write``):
# task ids are new UUIDs, so a conflict can only be this very row, written a moment ago. It
# commits without the flush as well: the row is visible to the worker at once all the same,
# and only a crash of Postgres itself in the next fraction of a second could lose it, which
# leaves the job running without its row, never the job lost (the broker holds the message,
# and Redis's own default persistence is weaker than that).
_CREATE = ("INSERT INTO jobs (job_type, payload, queue, priority, task_id, status) "
           "VALUES (%(job_type)s, %(payload)s::jsonb, %(queue)s, %(priority)s, %(task_id)s, "
           "'pending') ON CONFLICT (task_id) DO UPDATE SET task_id = excluded.task_id "
           "RETURNING id, set_config('synchronous_commit', 'off', true)")
_STARTED = ("UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = now(), "
            "heartbeat_at = now(), error_message = NULL "
            "WHERE id = %(job_id)s AND status <> 'cancelled' "
            "RETURNING id, set_config('synchronous_commit', 'off', true)")
#: The running jobs of one worker process are alive: one statement for all of them.
_HEARTBEAT = ("UPDATE jobs SET heartbeat_at = now() WHERE id = ANY(%(ids)s) "
              "AND status = 'running' RETURNING set_config('synchronous_commit', 'off', true)")
#: What a message delivered again finds: the job's status and seconds since its last beat.
_DELIVERY_STATE = ("SELECT status, EXTRACT(EPOCH FROM now() - heartbeat_at) FROM jobs "
                   "WHERE id = %(job_id)s")
_PROGRESS = ("UPDATE jobs SET progress_current = %(current)s, progress_total = %(total)s "
             "WHERE id = %(job_id)s RETURNING set_config('synchronous_commit', 'off', true)")
#: Whether the job may run, with the cancelled jobs and their generation (``cancelled``).
_MAY_RUN = ("SELECT EXISTS (SELECT 1 FROM jobs WHERE id = %(job_id)s "
            f"AND status <> 'cancelled'), {GENERATION_SQL}, "
            "ARRAY(SELECT id FROM jobs WHERE status = 'cancelled')")
_COMPLETED = ("UPDATE jobs SET status = 'completed', result = %(result)s::jsonb, "
              "error_message = NULL, completed_at = now() "
              "WHERE id = %(job_id)s AND status <> 'cancelled' "
              f"RETURNING set_config('synchronous_commit', 'off', true), {GENERATION_SQL}")
_CANCEL = ("WITH cancelled AS (UPDATE jobs SET status = 'cancelled', completed_at = now() "
           "WHERE id = %(job_id)s AND status IN ('pending', 'retrying', 'running') "
           f"RETURNING id), bumped AS ({bump_sql('cancelled')}) SELECT id FROM cancelled")
_REQUEUE = ("WITH requeued AS (UPDATE jobs SET status = 'pending', task_id = %(task_id)s, "
            "error_message = NULL, traceback = NULL, completed_at = NULL, "
            "next_retry_at = NULL WHERE id = %(job_id)s RETURNING id), "
            f"bumped AS ({bump_sql('requeued')}) SELECT id FROM requeued")
#: The same, for an attempt never marked running (see ``queue.running``): it is recorded too.
_COMPLETED_UNMARKED = _COMPLETED.replace(
    "completed_at = now() ", "completed_at = now(), attempts = attempts + 1, "
    "started_at = now() - make_interval(secs => %(ran_s)s) ")
#: Jobs whose outcome a restart of Postgres may have lost: running, started before the
#: database last started and long enough ago that the broker would have delivered them again
#: (moving ``started_at``) were they still unacknowledged; or pending since before that start
#: (a quick job is never marked running). A pending one may still be waiting in the queue:
#: sent again, it runs twice, which idempotent jobs allow (and restarts of Postgres are rare).
_LOST = ("SELECT id FROM jobs WHERE "
         "(status = 'running' AND started_at < pg_postmaster_start_time() "
         "AND started_at < now() - make_interval(secs => %(after_s)s)) OR "
         "(status = 'pending' AND created_at < pg_postmaster_start_time() "
         "AND created_at < now() - make_interval(secs => %(after_s)s)) ORDER BY id")
_Params = dict[str, Any] | list[dict[str, Any]] | None

_CREATE_MANY = (insert(jobs)
                .on_conflict_do_update(index_elements=[jobs.c.task_id],
                                       set_={"task_id": insert(jobs).excluded.task_id})
                .returning(jobs.c.id, sort_by_parameter_order=True))


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
        (row,) = self._write(_CREATE, {
            "job_type": job_type, "payload": json.dumps(payload), "queue": queue,
            "priority": priority, "task_id": task_id})
        return int(row[0])

    def create_many(self, job_type: str, payloads: Sequence[dict[str, Any]], *, queue: str,
                    priority: int, task_ids: Sequence[str]) -> list[int]:
        """Rows for many jobs in one statement and one commit; ids in the order given."""
        if not payloads:
            return []
        rows = [{"job_type": job_type, "payload": payload, "queue": queue,
                 "priority": priority, "task_id": task_id, "status": "pending"}
                for payload, task_id in zip(payloads, task_ids, strict=True)]
        return [int(row.id) for row in self._write(_CREATE_MANY, rows)]

    def get(self, job_id: int) -> Job | None:
        unawaited.settle()  # this thread reads what it wrote
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return _job(row) if row else None

    def by_task(self, task_id: str) -> Job | None:
        unawaited.settle()  # this thread reads what it wrote
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.task_id == task_id)).mappings().first()
        return _job(row) if row else None

    def list(self, *, status: str | None = None, limit: int = 50) -> list[Job]:
        unawaited.settle()  # this thread reads what it wrote
        query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
        if status:
            query = query.where(jobs.c.status == status)
        with self.engine.connect() as conn:
            return [_job(row) for row in conn.execute(query).mappings()]

    def ids(self, *, status: str, job_type: str | None = None) -> Sequence[int]:
        """The ids of every job in ``status`` (of ``job_type`` only, when given), oldest
        first."""
        unawaited.settle()  # this thread reads what it wrote
        query = select(jobs.c.id).where(jobs.c.status == status).order_by(jobs.c.id)
        if job_type is not None:
            query = query.where(jobs.c.job_type == job_type)
        with self.engine.connect() as conn:
            return [int(job_id) for job_id in conn.execute(query).scalars()]

    def may_run(self, job_id: int) -> bool:
        """Whether the job exists and was not cancelled: most often known without a read
        (see ``queue.cancelled``)."""
        view = cancelled_jobs(self.engine)
        known = view.may_run(job_id)
        if known is not None:
            return known
        ((may_run, generation, cancelled),) = self._write(_MAY_RUN, {"job_id": job_id})
        view.read(int(generation), cancelled)
        return bool(may_run)

    def started(self, job_id: int) -> bool:
        """Mark running and count the attempt (``queue.running``); False when the job was
        cancelled meanwhile."""
        return bool(self._write(_STARTED, {"job_id": job_id}))

    def heartbeat(self, job_ids: Sequence[int]) -> None:
        """These running jobs are alive (``queue.running`` beats them)."""
        if job_ids:
            self._write(_HEARTBEAT, {"ids": list(job_ids)})

    def delivery_state(self, job_id: int) -> tuple[str, float | None] | None:
        """The job's status and the seconds since its worker last beat it (None: never), or
        None when there is no such job (``queue.redelivery``)."""
        rows = self._write(_DELIVERY_STATE, {"job_id": job_id})
        if not rows:
            return None
        status, age = rows[0]
        return str(status), None if age is None else float(age)

    def progress(self, job_id: int, current: int, total: int | None) -> None:
        self._write(_PROGRESS, {"job_id": job_id, "current": current, "total": total})

    def completed(self, job_id: int, result: dict[str, Any], *,
                  unmarked_s: float | None = None) -> None:
        """The job's result. ``unmarked_s``: the attempt was never marked running and ran
        that many seconds; it is recorded with its outcome."""
        statement = _COMPLETED if unmarked_s is None else _COMPLETED_UNMARKED
        params = {"job_id": job_id, "result": json.dumps(result), "ran_s": unmarked_s}
        held = held_connection(self.engine)
        if held is not None and unawaited.send(
                held, statement, params, on_rows=self._confirm,
                redo=lambda: self._confirm(self._write(statement, params))):
            return  # its answer is read before this thread's next statement
        self._confirm(self._write(statement, params))

    def _confirm(self, rows: Sequence[Sequence[Any]]) -> None:
        """What a "completed" write answered: the cancelled jobs' generation, if it wrote."""
        cancelled_jobs(self.engine).confirm(int(rows[0][1]) if rows else None)

    def lost(self, after_s: float) -> Sequence[int]:
        """Jobs whose outcome a restart of Postgres may have lost (see ``_LOST``)."""
        return [int(row[0]) for row in self._write(_LOST, {"after_s": after_s})]

    def failed(self, job_id: int, error: BaseException, *,
               unmarked_s: float | None = None) -> None:
        summary = redact("".join(traceback.format_exception(error)[-TRACEBACK_LINES:]))
        self._finish(job_id, status="failed", error_message=_one_line(error),
                     traceback=summary, **_attempt(unmarked_s))

    def retrying(self, job_id: int, error: BaseException, delay_s: float, *,
                 unmarked_s: float | None = None) -> None:
        self._write(update(jobs).where(jobs.c.id == job_id).values(
            status="retrying", error_message=_one_line(error),
            next_retry_at=func.now() + timedelta(seconds=delay_s), **_attempt(unmarked_s)))

    def cancel(self, job_id: int) -> bool:
        """Cancel a job that has not finished; False when there was none to cancel."""
        cancelled = bool(self._write(_CANCEL, {"job_id": job_id}))
        cancelled_jobs(self.engine).confirm(None)  # this process knows at once
        return cancelled

    def requeue(self, job_id: int, task_id: str) -> None:
        self._write(_REQUEUE, {"job_id": job_id, "task_id": task_id})
        cancelled_jobs(self.engine).confirm(None)

    def delete_completed(self, older_than: timedelta) -> int:
        return len(self._write(delete(jobs).where(
            jobs.c.status.in_(("completed", "cancelled")),
            jobs.c.completed_at < func.now() - older_than).returning(jobs.c.id)))

    def _finish(self, job_id: int, **values: Any) -> None:
        self._write(update(jobs).where(jobs.c.id == job_id, jobs.c.status != "cancelled")
                    .values(completed_at=func.now(), **values))

    def _write(self, statement: Executable | str, params: _Params = None) -> Sequence[Any]:
        """Run one statement (an expression, or driver SQL) as its own transaction
        (autocommit: a single round trip); the rows it returns, if any."""
        held = held_connection(self.engine)
        if held is not None:
            unawaited.settle()
            try:
                return _execute(held, statement, params)
            except DBAPIError as exc:
                drop_held(self.engine, held)
                if not exc.connection_invalidated:
                    raise
                # The server went away while the connection sat idle (what the pool's ping
                # catches): once more, on a pooled connection. Writing a state twice is
                # harmless, should the first attempt have been committed after all.
        with self.engine.connect() as conn:
            return _execute(conn.execution_options(isolation_level="AUTOCOMMIT"), statement,
                            params)


def _execute(conn: Connection, statement: Executable | str,
             params: _Params) -> Sequence[Any]:
    if isinstance(statement, str):
        # Driver SQL on the driver's own cursor: SQLAlchemy's wrapping of a statement cost
        # as much client time as the round trip (measured on the worker's hot path). The
        # connection is in autocommit, so there is no transaction state to keep in step.
        try:
            with conn.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
                cursor.execute(statement, params)
                return cursor.fetchall() if cursor.description else ()
        except Exception as exc:
            conn.invalidate(exc)  # unknown state: never reuse it
            raise DBAPIError(statement, params, exc,
                             connection_invalidated=_is_disconnect(exc)) from exc
    result = conn.execute(statement, params)
    return result.all() if result.returns_rows else ()


def _is_disconnect(error: BaseException) -> bool:
    """The server went away (what SQLAlchemy calls a disconnect) rather than refused the
    statement."""
    import psycopg

    return isinstance(error, psycopg.OperationalError)


def _attempt(unmarked_s: float | None) -> dict[str, Any]:
    """The columns that record an attempt never marked running, with its outcome."""
    if unmarked_s is None:
        return {}
    return {"attempts": jobs.c.attempts + 1,
            "started_at": func.now() - timedelta(seconds=unmarked_s)}


def _job(row: Any) -> Job:
    return Job(**{name: row[name] for name in Job.__dataclass_fields__})


def _one_line(error: BaseException) -> str:
    """``Type: first line``, without a database error's SQL and parameters, secrets redacted."""
    if hasattr(error, "statement") and hasattr(error, "orig"):  # sqlalchemy's StatementError
        return f"{type(error).__name__}: {describe(error)}"
    text = str(error).strip().splitlines()
    return redact(f"{type(error).__name__}: {text[0]}" if text else type(error).__name__)

"""A finished job's "completed", sent to Postgres without waiting for its answer.

For a job that takes a millisecond, waiting for Postgres to answer the write of its outcome
was a fifth of its time on the worker (a round trip while Postgres updates the row and its
indexes on the same cores). The worker now sends that statement on its held connection
(``queue.held``) and goes on to the next message; the answer is read before anything else
uses the connection, by which time it has long arrived.

Nothing is less durable for it. The statement is wholly handed to the kernel before the task
returns (and before Celery acknowledges the message). From then on Postgres receives it even
if the worker is killed: data written to a socket is delivered to the other end after its
writer dies, and Postgres executes and commits the statements it has received whether or not
it can send the answer back. It is the same statement as before, committed the same way
(without waiting for the WAL flush, see ``JobStore.completed``). When its answer is an error,
or the connection broke, the statement is written again the usual way.
"""

from __future__ import annotations

import os
import re
import select
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import pq
from sqlalchemy.engine import Connection

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_converted: dict[str, tuple[bytes, tuple[str, ...]]] = {}


@dataclass
class _Sent:
    conn: Connection
    on_rows: Callable[[Sequence[Sequence[Any]]], None]
    redo: Callable[[], None]


class _Thread(threading.local):
    sent: _Sent | None = None


_local = _Thread()


def send(conn: Connection, statement: str, params: dict[str, Any],
         on_rows: Callable[[Sequence[Sequence[Any]]], None],
         redo: Callable[[], None]) -> bool:
    """Send ``statement`` (driver SQL with ``%(name)s`` parameters) on ``conn`` without
    reading its answer; ``on_rows`` gets its rows (as text) when ``settle`` reads them and
    ``redo`` runs instead when it failed. False, with nothing sent, when it cannot be sent so
    (the caller then writes it the usual way)."""
    settle()  # one statement unread per thread at most
    pgconn = _pgconn(conn)
    if pgconn is None or pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    query, names = _positional(statement)
    values = [_text(params[name]) for name in names]
    try:
        pgconn.send_query_params(query, values)
        while pgconn.flush():  # non-blocking libpq: the rest waits for the socket
            select.select([], [pgconn.socket], [])
    except Exception:  # noqa: BLE001 - a broken connection: the caller writes it anew
        return False
    _local.sent = _Sent(conn, on_rows, redo)
    return True


def unread() -> bool:
    """Whether this thread sent a statement whose answer it has not read yet."""
    return _local.sent is not None


def settle() -> None:
    """Read the answer of what this thread sent, if anything."""
    sent, _local.sent = _local.sent, None
    if sent is None:
        return
    try:
        rows = _receive(sent.conn)
    except Exception:  # noqa: BLE001 - refused or lost: write it again, the usual way
        sent.redo()
        return
    sent.on_rows(rows)


def _forget_in_child() -> None:
    """A forked child does not own what its parent sent (nor its connection)."""
    _local.sent = None


os.register_at_fork(after_in_child=_forget_in_child)


def _receive(conn: Connection) -> list[tuple[str | None, ...]]:
    pgconn = _pgconn(conn)
    if pgconn is None:
        raise ConnectionError("the connection is gone")
    rows: list[tuple[str | None, ...]] = []
    failed: str | None = None
    while True:
        pgconn.consume_input()
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            break
        if result.status == pq.ExecStatus.TUPLES_OK:
            rows = [tuple(_decoded(result.get_value(row, column))
                          for column in range(result.nfields))
                    for row in range(result.ntuples)]
        elif result.status != pq.ExecStatus.COMMAND_OK:
            failed = (result.error_message or b"").decode(errors="replace")
    if failed is not None:
        raise RuntimeError(failed)
    return rows


def _pgconn(conn: Connection) -> pq.abc.PGconn | None:
    if conn.closed or conn.invalidated:
        return None
    dbapi = conn.connection.dbapi_connection
    pgconn = getattr(dbapi, "pgconn", None)
    return pgconn if pgconn is not None and pgconn.status == pq.ConnStatus.OK else None


def _positional(statement: str) -> tuple[bytes, tuple[str, ...]]:
    """``%(name)s`` parameters as ``$1``, ``$2``...: the query libpq takes, and the names in
    order (converted once per statement)."""
    if statement not in _converted:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        query = _PLACEHOLDER.sub(number, statement).replace("%%", "%")
        _converted[statement] = (query.encode(), tuple(names))
    return _converted[statement]


def _text(value: Any) -> bytes | None:
    return None if value is None else str(value).encode()


def _decoded(value: bytes | None) -> str | None:
    return None if value is None else value.decode()


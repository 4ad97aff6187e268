"""One database connection per worker thread for the job-state writes.

A worker writes one state per quick job, more for long ones. Taken from the pool, each write
costs a checkout (with the pool's ping, a round trip) and a reset on return: more than the
statement itself. A thread that asks (``hold_connection``, which the Celery task calls) keeps
one autocommit connection for these writes from its first job until the engine is disposed
(``Archive.close``). Other processes (the CLI, the web app) write through the pool as before.

At most ``MAX_HELD`` connections are held per engine and process, and those of threads that
have ended are closed, so a pool that runs each task in a new thread or greenlet cannot use up
the engine's connections: past the limit a thread simply writes through the pool.
"""

from __future__ import annotations

import os
import threading
import weakref

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

#: Held connections per engine and process (the engine's pool has 5 + 5 overflow).
MAX_HELD = 4


class _ThreadState(threading.local):
    def __init__(self) -> None:
        #: engine → its held connection for this thread (None until the first write)
        self.engines: weakref.WeakKeyDictionary[Engine, Connection | None] = (
            weakref.WeakKeyDictionary())


_state = _ThreadState()
#: engine → {held connection: the thread holding it}, to close them all on dispose.
_held: weakref.WeakKeyDictionary[Engine, dict[Connection, threading.Thread]] = (
    weakref.WeakKeyDictionary())
_lock = threading.Lock()
#: What a forked child inherited: never used nor closed there (the sockets are the parent's),
#: and kept referenced so that no finalizer closes them either.
_inherited: list[object] = []


def _forget_the_parents() -> None:
    global _held, _lock
    _inherited.append((_held, _state.engines))
    _held, _lock = weakref.WeakKeyDictionary(), threading.Lock()
    _state.__init__()  # type: ignore[misc]


os.register_at_fork(after_in_child=_forget_the_parents)


def hold_connection(engine: Engine) -> None:
    """From now on, job-state writes to ``engine`` from this thread reuse one connection."""
    if engine not in _state.engines:
        _state.engines[engine] = None


def held_connection(engine: Engine) -> Connection | None:
    """This thread's connection to ``engine`` (opened now if need be), or None when the thread
    does not hold one (or may not: ``MAX_HELD``)."""
    if not _state.engines or engine not in _state.engines:
        return None
    conn = _state.engines[engine]
    if conn is not None and not conn.closed and not conn.invalidated:
        return conn
    with _lock:
        if engine not in _held:
            _held[engine] = {}
            event.listen(engine, "engine_disposed", _release_all)
        held = _held[engine]
        for other, thread in list(held.items()):
            if not thread.is_alive() or other.closed:
                del held[other]
                _close(other)
        if len(held) >= MAX_HELD:
            return None
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        held[conn] = threading.current_thread()
    _state.engines[engine] = conn
    return conn


def drop_held(engine: Engine, conn: Connection) -> None:
    """Close this thread's held connection (after an error); the next write opens another."""
    if _state.engines.get(engine) is conn:
        _state.engines[engine] = None
    with _lock:
        _held.get(engine, {}).pop(conn, None)
    _close(conn)


def _release_all(engine: Engine) -> None:
    """``engine_disposed``: close every connection held for ``engine``, in whichever thread."""
    with _lock:
        held = _held.get(engine, {})
        connections = list(held)
        held.clear()
    for conn in connections:
        _close(conn)


def _close(conn: Connection) -> None:
    if not conn.closed:
        conn.invalidate()  # close the socket itself: its pool may have been disposed of
        conn.close()

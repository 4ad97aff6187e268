"""The archive's committed changes, as Postgres announces them: what in-process caches of
what readers see are checked against.

Every table that feeds what a reader is shown carries a statement-level trigger (migration
0010) that calls ``pg_notify('alejandria_changes', <table>)``. Postgres delivers a
notification only when its transaction commits, once per table and transaction, to every
connection listening on the channel, whichever host or process made the change (a web
request, a Celery worker, the CLI, another machine sharing the database).

A ``ChangeFeed`` listens on its own connection in a daemon thread and counts: each
notification moves ``generation`` on. A cache keeps an answer tagged with the generation read
*before* it read the database, and serves it only while the generation is unchanged, so an
answer computed across a change is never served. While the feed is not listening (starting,
or its connection lost) ``generation`` is None and nothing may be served from a cache: a
change made meanwhile could not be seen.

``QUIET_TABLES`` carry no trigger: they change all the time (job progress and heartbeats,
the audit trail, login throttling, sync cursors) and no cached view reads them. A notifying
transaction takes a lock at commit that orders it with other notifying commits, another
reason to keep the busiest writers quiet.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

CHANNEL = "alejandria_changes"
TRIGGER = "alejandria_changes"

#: Tables without the trigger: busy, and read by no cached view (a test checks the post view).
QUIET_TABLES = frozenset({"jobs", "audit_log", "login_throttle", "sync_cursors",
                          "system_config", "source_credentials", "transcript_segments",
                          "media_passages", "media_keys", "user_recovery_codes"})

#: How often a quiet listener proves its connection is alive (a cut network, a failover or
#: a proxy that dropped it would otherwise leave it waiting for news that never comes).
PROBE_EVERY_S = 5.0
#: The longest wait between attempts to listen again.
MAX_RETRY_S = 30.0


def announce_change(engine: Engine, what: str = "all") -> None:
    """Tell every listener that the archive changed in a way no trigger saw (a restore
    replaces the tables wholesale: ``DROP SCHEMA`` and ``pg_restore`` fire none)."""
    from sqlalchemy import text

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SELECT pg_notify(:channel, :what)"),
                     {"channel": CHANNEL, "what": what})


class ChangeFeed:
    """Counts the archive's committed changes; ``generation`` is None while not listening."""

    def __init__(self, engine: Engine, *, retry_s: float = 1.0, poll_s: float = 0.5,
                 probe_every_s: float = PROBE_EVERY_S) -> None:
        self._engine = engine
        self.retry_s = retry_s
        self._poll_s = poll_s
        self._probe_every_s = probe_every_s
        self._generation = 0
        self._live = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def generation(self) -> int | None:
        """The count of changes seen; None while changes could go unseen."""
        with self._lock:
            return self._generation if self._live else None

    @property
    def live(self) -> bool:
        return self._live

    def bump(self) -> None:
        """Count a change this process made itself: its own later reads see it at once,
        before Postgres's notification comes back."""
        with self._lock:
            self._generation += 1

    def start(self, *, wait_s: float = 5.0) -> ChangeFeed:
        """Listen in a daemon thread; wait up to ``wait_s`` for the first LISTEN."""
        if self._thread is None:
            # each run its own stop and listening signals: a thread still winding down
            # neither revives nor answers for the new one
            self._stopping = threading.Event()
            self._listening = threading.Event()
            self._thread = threading.Thread(target=self._run,
                                            args=(self._stopping, self._listening),
                                            name="alejandria-changes", daemon=True)
            self._thread.start()
            self._watch_local_commits()
        self._listening.wait(wait_s)
        return self

    def stop(self, *, wait: bool = False) -> None:
        """Stop listening: at once for the readers of ``generation``; the thread closes its
        connection at its next poll (``wait``: join it)."""
        with self._lock:
            self._stopping.set()
        if self._thread is not None:
            self._unwatch_local_commits()
        thread, self._thread = self._thread, None
        self._set_live(False)
        if thread is not None and wait:
            thread.join(timeout=self._poll_s + 5)

    def __enter__(self) -> ChangeFeed:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop(wait=True)

    def _set_live(self, live: bool, stopping: threading.Event | None = None) -> None:
        with self._lock:
            self._generation += 1
            # a run that was told to stop never says it listens (``stop`` sets the signal
            # under this lock)
            self._live = live and not (stopping is not None and stopping.is_set())

    # -- this process's own writes: counted at once, before and after their COMMIT ------------

    def _watch_local_commits(self) -> None:
        """Count every write committed through the engine in this process (a request's, a
        script's, a thread's) without waiting for its notification: once before its COMMIT
        and once after (when the connection goes back to the pool), so a reader between the
        two that kept what it read before the commit has it retired by the second."""
        event.listen(self._engine, "before_cursor_execute", _note_write)
        event.listen(self._engine, "commit", self._before_commit)
        event.listen(self._engine, "rollback", _forget_write)
        event.listen(self._engine, "checkin", self._after_commit)

    def _unwatch_local_commits(self) -> None:
        for name, function in (("before_cursor_execute", _note_write),
                               ("commit", self._before_commit),
                               ("rollback", _forget_write),
                               ("checkin", self._after_commit)):
            if event.contains(self._engine, name, function):
                event.remove(self._engine, name, function)

    def _before_commit(self, conn: Connection) -> None:
        if conn.info.get(_WROTE):
            conn.info[_WROTE] = _COMMITTED
            self.bump()

    def _after_commit(self, _dbapi_connection: object, record: Any) -> None:
        if record.info.pop(_WROTE, None) is _COMMITTED:
            self.bump()

    def _connect(self) -> Any:
        import psycopg

        cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
        # TCP keepalives and a send timeout: a dead peer is noticed by the probe in seconds
        cparams = {**cparams, "autocommit": True, "connect_timeout": 5,
                   "application_name": "alejandria-changes", "keepalives": 1,
                   "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
                   "tcp_user_timeout": 15000}
        return psycopg.connect(*cargs, **cparams)

    def _run(self, stopping: threading.Event, listening: threading.Event) -> None:

        failures = 0
        while not stopping.is_set():
            conn = None
            try:
                conn = self._connect()
                conn.execute(f"LISTEN {CHANNEL}")
                self._set_live(True, stopping)
                listening.set()
                failures = 0
                probed = time.monotonic()
                while not stopping.is_set():
                    for _notice in conn.notifies(timeout=self._poll_s):
                        self.bump()
                    if time.monotonic() - probed >= self._probe_every_s:
                        conn.execute("SELECT 1")  # raises on a connection that is gone
                        probed = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - any failure: caches off, try again
                if not stopping.is_set():
                    failures += 1
                    if failures == 1 or failures % 10 == 0:
                        log.warning("change feed: not listening (%s: %s); in-memory caches "
                                    "are off until it listens again", type(exc).__name__,
                                    str(exc).splitlines()[0] if str(exc) else "")
            finally:
                if not stopping.is_set():  # (a stopped run's ``stop`` said so already, and
                    self._set_live(False)  # a newer run may be listening by now)
                listening.set()
                if conn is not None:
                    with contextlib.suppress(Exception):  # a dead one
                        conn.close()
            stopping.wait(min(self.retry_s * 2 ** min(failures, 5), MAX_RETRY_S)
                          if failures else self.retry_s)


#: ``Connection.info`` (the pooled connection's): its transaction wrote; then: committed.
_WROTE = "alejandria_wrote"
_COMMITTED = "committed"
_WRITE = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|"
                    r"MERGE\s+INTO|COPY)\s+(?:ONLY\s+)?\"?(\w+)", re.IGNORECASE)
_WITH_WRITE = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


def _note_write(conn: Connection, _cursor: object, statement: str, *_rest: object) -> None:
    """Mark the connection's transaction as a writer of a table that announces changes.
    Reads, ``SET LOCAL`` and writes of the quiet tables (a login's throttle, the audit log)
    are no change: a search in a transaction or a refused login must not empty the caches."""
    found = _WRITE.match(statement)
    if found is not None:
        if found.group(1).lower() not in QUIET_TABLES:
            conn.info[_WROTE] = True
    elif statement.lstrip()[:4].upper() == "WITH" and _WITH_WRITE.search(statement):
        conn.info[_WROTE] = True


def _forget_write(conn: Connection) -> None:
    conn.info.pop(_WROTE, None)

"""The embedded default: a Postgres with pgvector from the ``pgserver`` package.

The server lives in ``<data_dir>/postgres`` and listens on a Unix socket. pgserver keeps a list
of the processes using it, so a second process on the same data dir reuses the running server.
With a linger of 0 the last one to exit stops it; otherwise the server keeps running for the
linger period after its last user, so that the next command finds it started, and a reaper
process stops it then (``embedded_linger``). A process killed with SIGKILL never takes itself
off that list, and then no later process is ever the last: the server would run forever. So
the list loses the processes that are gone before each start (``embedded_handles``).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from alejandria.errors import DatabaseUnavailable
from alejandria.storage.embedded_handles import HANDLES_FILE, forget_dead_handles

__all__ = ["DATABASE_NAME", "HANDLES_FILE", "EmbeddedPostgres", "forget_dead_handles",
           "to_sqlalchemy_url"]

log = logging.getLogger(__name__)

DATABASE_NAME = "alejandria"
#: Data dirs whose handle list this process cleans at exit (registered once each).
_FORGET_AT_EXIT: set[Path] = set()


class EmbeddedPostgres:
    """A handle on the embedded server; ``start`` returns a SQLAlchemy URL for our database.

    ``linger_s``: seconds the server keeps running after its last user exits (0: the last
    user stops it; the default here, for tests and benchmarks that own their server, while
    commands pass ``ALEJANDRIA_EMBEDDED_LINGER_S``). ``keep_running``: never stop it.
    """

    def __init__(self, pgdata: Path, *, keep_running: bool = False,
                 linger_s: float = 0) -> None:
        self.pgdata = pgdata
        self._server: Any = None
        self._keep_running = keep_running
        self._linger_s = linger_s

    def start(self) -> str:
        try:
            with warnings.catch_warnings():
                # pgserver asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR that
                # warns on every start although the /tmp fallback works.
                warnings.simplefilter("ignore")
                import pgserver
        except ImportError as exc:  # pragma: no cover - pgserver is a core dependency
            raise DatabaseUnavailable(
                "the embedded database needs the 'pgserver' package: pip install pgserver"
            ) from exc
        self.pgdata.mkdir(parents=True, exist_ok=True)
        try:
            forget_dead_handles(self.pgdata)
            lingers = self._linger_s > 0 and not self._keep_running
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._server = pgserver.get_server(  # type: ignore[attr-defined]
                    self.pgdata,
                    cleanup_mode=None if self._keep_running or lingers else "stop",
                )
            if lingers:
                self._ensure_reaper()
        except Exception as exc:
            raise DatabaseUnavailable(
                f"could not start the embedded Postgres in {self.pgdata}: {exc}"
            ) from exc
        # Runs before pgserver's own exit handler (registered earlier: exit handlers run last
        # first), so that handler sees only live processes and the last one stops the server
        # even when worker processes forked from this one were killed without letting go.
        if self.pgdata not in _FORGET_AT_EXIT:
            _FORGET_AT_EXIT.add(self.pgdata)
            atexit.register(forget_dead_handles, self.pgdata)
        admin_uri = self._server.get_uri()
        _ensure_database(admin_uri, DATABASE_NAME)
        return to_sqlalchemy_url(self._server.get_uri(DATABASE_NAME))

    def _ensure_reaper(self) -> None:
        from alejandria.storage.embedded_linger import ensure_reaper

        try:
            ensure_reaper(self.pgdata, self._linger_s)
        except OSError as exc:  # no process to spare: the last user stops it, as without linger
            log.warning("embedded Postgres: cannot start the process that stops it after the "
                        "linger (%s); it stops with its last user instead", exc)
            self._server.cleanup_mode = "stop"

    def stop(self) -> None:
        """Release our handle: the server stops when no process uses it any more, at once or,
        with a linger, that much later."""
        if self._server is not None:
            try:
                self._server.cleanup()
            finally:
                self._server = None


#: Serialises creating our database when several processes start on a fresh data dir.
_CREATE_LOCK_KEY = 0x616C6462


def _ensure_database(admin_uri: str, name: str) -> None:
    """Create our database unless it exists. Two first commands at once on a fresh data dir
    both found it missing and both created it (one died on ``pg_database_datname_index``):
    the check and the creation hold an advisory lock."""
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_CREATE_LOCK_KEY,))
        try:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone()
            if exists is None:
                with contextlib.suppress(psycopg.errors.DuplicateDatabase,
                                         psycopg.errors.UniqueViolation):
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_CREATE_LOCK_KEY,))


def to_sqlalchemy_url(url: str) -> str:
    """Accept ``postgres://``/``postgresql://`` URLs and pick the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url

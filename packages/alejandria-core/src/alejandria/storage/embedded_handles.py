"""pgserver's list of the processes using the embedded server, and the lock that guards it.

pgserver keeps the pids of its users in ``<pgdata>/.handle_pids.json`` and changes that list,
starts the server and stops it under one inter-process lock. A process killed with SIGKILL
never takes itself off the list, so whoever reads it first forgets the processes that are gone.

Standard library, psutil and pgserver only: the linger reaper (``embedded_linger``) imports
this without psycopg or SQLAlchemy.
"""

from __future__ import annotations

import json
import logging
import warnings
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: pgserver's list of the processes holding a handle on the server in ``pgdata``.
HANDLES_FILE = ".handle_pids.json"


def handles_lock() -> AbstractContextManager[Any]:
    """pgserver's inter-process lock (one for every server of this user): held, no process
    starts, joins, leaves or stops a server."""
    with warnings.catch_warnings():
        # platformdirs warns without XDG_RUNTIME_DIR although its /tmp fallback works
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import PostgresServer

    lock: AbstractContextManager[Any] = PostgresServer._lock
    return lock


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Take the processes that are gone off pgserver's handle list (under its inter-process
    lock); returns the pids removed."""
    if not (pgdata / HANDLES_FILE).exists():
        return []
    with handles_lock():
        _, gone = live_handles(pgdata)
    return gone


def live_handles(pgdata: Path) -> tuple[list[int], list[int]]:
    """The processes on the handle list that are alive, and those that were gone and are now
    forgotten. The caller holds ``handles_lock()``."""
    import psutil  # type: ignore[import-untyped]

    handles = pgdata / HANDLES_FILE
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        pids = []
    if not isinstance(pids, list):
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
    gone = [pid for pid in pids if pid not in alive]
    if gone:
        log.info("embedded Postgres: forgot %d process(es) that ended without letting go",
                 len(gone))
    return alive, gone


def last_left_at(pgdata: Path) -> float | None:
    """When the handle list last changed (a user joined or left), as ``time.time()``; None
    when there is no list."""
    try:
        return (pgdata / HANDLES_FILE).stat().st_mtime
    except OSError:
        return None

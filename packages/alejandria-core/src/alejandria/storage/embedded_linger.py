"""Keeping the embedded Postgres running for a while after its last user, then stopping it.

Starting the server (``pg_ctl start``) and stopping it again cost every command about 0.3 s,
more than the rest of a search. With ``ALEJANDRIA_EMBEDDED_LINGER_S`` above 0 (the default)
commands leave the server running, and one *reaper* process per server stops it once nobody
has used it for that long. The first command that finds no reaper starts one (a detached
``python``, in its own session, so Ctrl-C or SIGTERM on the command do not reach it).

The reaper watches pgserver's handle list (``embedded_handles``): while it names a live
process it looks again every few seconds (forgetting processes killed without letting go, so
a SIGKILLed command cannot keep the server up for ever); once the list has been empty for the
linger period, counted from its last change, it asks the server for a fast shutdown (what
``pg_ctl stop -m fast`` does: clients disconnected, a checkpoint, exit) and exits. The check
and the stop run under pgserver's inter-process lock, the lock a command holds to start or
join the server, so a command either joins before the stop (and the reaper waits again) or
starts a fresh server after it.

Its state, ``<pgdata>/.alejandria_linger.json`` (``{"pid": ..., "linger_s": ...}``), is
written under that lock; each command writes its own linger into it, so the latest setting
wins. A command whose linger is 0 stops the server itself when it is the last user, as
before, and the reaper then finds no server and exits.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from alejandria.storage.embedded_handles import handles_lock, last_left_at, live_handles

log = logging.getLogger(__name__)

#: The reaper's state, inside the server's data dir.
STATE_FILE = ".alejandria_linger.json"
#: What the reaper logs (when it stops the server, or why it could not).
LOG_FILE = "linger.log"
#: How often the reaper looks at the handle list while the server has users, at most.
POLL_S = 5.0
_MIN_SLEEP_S = 0.05
#: The reaper's command line; a running reaper is recognised by it (and its data dir).
_REAPER_CODE = ("import os; hasattr(os, 'nice') and os.nice(5); "
                "from alejandria.storage.embedded_linger import main; main()")
#: Reapers this process started: kept referenced so no "still running" warning is raised
#: when their ``Popen`` is collected (they outlive this process by design).
_SPAWNED: list[subprocess.Popen[bytes]] = []


@dataclass(frozen=True)
class LingerState:
    pid: int
    linger_s: float


def ensure_reaper(pgdata: Path, linger_s: float) -> int:
    """Make sure a reaper watches the server in ``pgdata`` and stops it ``linger_s`` seconds
    after its last user; returns the reaper's pid. Call it while holding a handle."""
    with handles_lock():
        state = read_state(pgdata)
        if state is not None and is_reaper(state.pid, pgdata):
            if state.linger_s != linger_s:
                _write_state(pgdata, LingerState(state.pid, linger_s))
            return state.pid
        pid = _spawn_reaper(pgdata)
        _write_state(pgdata, LingerState(pid, linger_s))
        return pid


def reaper_pid(pgdata: Path) -> int | None:
    """The pid of the reaper watching the server in ``pgdata``, if one runs."""
    state = read_state(pgdata)
    if state is not None and is_reaper(state.pid, pgdata):
        return state.pid
    return None


def read_state(pgdata: Path) -> LingerState | None:
    try:
        raw = json.loads((pgdata / STATE_FILE).read_text())
        return LingerState(pid=int(raw["pid"]), linger_s=float(raw["linger_s"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def is_reaper(pid: int, pgdata: Path) -> bool:
    """Whether ``pid`` is a live reaper of ``pgdata`` (not a process that reused its pid)."""
    import psutil  # type: ignore[import-untyped]

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = process.cmdline()
    except psutil.Error:
        return False
    return _REAPER_CODE in cmdline and str(pgdata) in cmdline


def server_pid(pgdata: Path) -> int | None:
    """The postmaster's pid when the server in ``pgdata`` runs, else None."""
    import psutil

    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if psutil.pid_exists(pid) else None


def _write_state(pgdata: Path, state: LingerState) -> None:
    path = pgdata / STATE_FILE
    temporary = path.with_name(f"{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps({"pid": state.pid, "linger_s": state.linger_s}))
    temporary.replace(path)


def _drop_state(pgdata: Path) -> None:
    state = read_state(pgdata)
    if state is not None and state.pid == os.getpid():
        (pgdata / STATE_FILE).unlink(missing_ok=True)


def _spawn_reaper(pgdata: Path) -> int:
    with open(pgdata / LOG_FILE, "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-c", _REAPER_CODE, str(pgdata)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_file,
            cwd="/", close_fds=True, start_new_session=True,
        )
    _SPAWNED.append(process)
    return process.pid


# -- the reaper process -------------------------------------------------------------------


def main() -> None:
    """``python -c <_REAPER_CODE> PGDATA``: watch that server until it has been idle long
    enough, stop it, exit."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s alejandria linger [%(process)d]: %(message)s")
    run_reaper(Path(sys.argv[1]))


def run_reaper(pgdata: Path, *, poll_s: float = POLL_S) -> None:
    started = time.time()
    while True:
        with handles_lock():
            wait = _look(pgdata, started, poll_s)
        if wait is None:
            return
        time.sleep(max(wait, _MIN_SLEEP_S))


def _look(pgdata: Path, started: float, poll_s: float) -> float | None:
    """One look under the lock: stop the server when it has been idle long enough. Returns
    how long to sleep before the next look, or None when this reaper is done."""
    state = read_state(pgdata)
    if state is None or state.pid != os.getpid():
        return None  # the data dir is gone, or another reaper took over
    if server_pid(pgdata) is None:
        _drop_state(pgdata)
        return None
    alive, _ = live_handles(pgdata)
    if alive:
        return min(state.linger_s, poll_s)
    idle = time.time() - max(started, last_left_at(pgdata) or started)
    if idle < state.linger_s:
        # looks again within poll_s even so: a command with a linger of 0 may stop the server
        # meanwhile, and then this reaper has nothing left to do
        return min(state.linger_s - idle, poll_s)
    if not stop_server(pgdata):
        return poll_s
    log.info("stopped the embedded Postgres in %s after %.0f s without users", pgdata, idle)
    _drop_state(pgdata)
    return None


def stop_server(pgdata: Path, *, timeout: float = 120) -> bool:
    """Ask the postmaster for a fast shutdown (SIGINT, what ``pg_ctl stop -m fast`` sends):
    clients are disconnected, a checkpoint is written and the server exits cleanly. Returns
    whether it stopped.

    A signal rather than ``pg_ctl``: started by root, pgserver runs the server as its own
    ``pgserver`` user, and ``pg_ctl`` as that user cannot reach a data dir under a folder
    that became private since (pytest makes its temporary root 0700 again on each run)."""
    import psutil

    pid = server_pid(pgdata)
    if pid is None:
        return True
    try:
        postmaster = psutil.Process(pid)
        if str(pgdata) not in postmaster.cmdline():
            log.warning("process %d named in %s/postmaster.pid is not its server", pid, pgdata)
            return False
        postmaster.send_signal(signal.SIGINT)
        postmaster.wait(timeout)
    except psutil.NoSuchProcess:
        pass
    except (psutil.Error, OSError) as exc:
        log.warning("could not stop the embedded Postgres in %s: %s", pgdata, exc)
        return False
    return True

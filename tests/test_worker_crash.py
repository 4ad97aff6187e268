"""A worker killed with SIGKILL mid-job: the job is delivered again and completes once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from .conftest import write_book

BOOKS = 30


def _scalar(url: str, sql: str) -> object:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


@pytest.fixture
def broker_env(cli_env, alejandria_redis_url):
    # a short visibility timeout, so the killed worker's job comes back quickly; the second
    # run may outlast it (a loaded machine): the copy restored meanwhile must not run again
    return {**cli_env, "ALEJANDRIA_BROKER_URL": alejandria_redis_url,
            "ALEJANDRIA_BROKER_VISIBILITY_TIMEOUT": "3", "ALEJANDRIA_JOB_HEARTBEAT_S": "0.5"}


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "alejandria.cli.main", "worker", "-c",
                                 "1", "--loglevel", "INFO"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


@pytest.mark.slow
def test_sigkilled_worker_job_is_redelivered_and_completes_once(
        tmp_path, broker_env, alejandria, alejandria_database_url):
    folder = tmp_path / "library"
    folder.mkdir()
    for book in range(BOOKS):
        chapters = [(f"Capítulo {c}", [f"Libro {book}, capítulo {c}. " + "Texto. " * 300] * 3)
                    for c in range(3)]
        write_book(folder / f"book-{book:02d}.pdf", title=f"Libro {book}", author="Ana",
                   chapters=chapters)
    log = tmp_path / "worker.log"
    first = _worker(broker_env, log)
    try:
        _kill_mid_job_then_finish(first, folder, log, broker_env, alejandria,
                                  alejandria_database_url)
    finally:  # a failed assertion must not leave a worker eating other tests' jobs
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()


def _kill_mid_job_then_finish(first: subprocess.Popen[bytes], folder: Path, log: Path,
                              broker_env: dict[str, str], alejandria: Any,
                              alejandria_database_url: str) -> None:
    queued = subprocess.run([sys.executable, "-m", "alejandria.cli.main", "sync", "pdf",
                             str(folder), "--no-wait"], env=broker_env, capture_output=True,
                            text=True, timeout=180)
    assert queued.returncode == 0, queued.stderr
    url = alejandria_database_url
    deadline = time.monotonic() + 180  # generous: a loaded 2-core machine
    while (_scalar(url, "SELECT count(*) FROM collections") or 0) < 3:
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool process
    first.wait()
    partial = _scalar(url, "SELECT count(*) FROM collections")
    assert partial < BOOKS, "the kill did not land mid-job"

    second = _worker(broker_env, log)
    try:
        deadline = time.monotonic() + 240
        # the sync, then the process_media job it queues for the books' PDFs (the
        # processors of another queue run as a job of their own)
        while (_scalar(url, "SELECT status FROM jobs WHERE job_type = 'sync'") != "completed"
               or _scalar(url, "SELECT count(*) FROM jobs WHERE status <> 'completed'")):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        try:
            second.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(second.pid, signal.SIGKILL)
            second.wait()

    assert _scalar(url, "SELECT attempts FROM jobs WHERE job_type = 'sync'") == 2
    assert _scalar(url, "SELECT count(*) FROM collections") == BOOKS
    assert _scalar(url, "SELECT count(*) FROM posts") == BOOKS * 3
    jobs = alejandria("jobs", "list", "--json").json()
    assert sorted((j["job_type"], j["status"]) for j in jobs) == [
        ("process_media", "completed"), ("sync", "completed")]

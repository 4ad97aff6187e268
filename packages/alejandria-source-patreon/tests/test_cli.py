"""The ``alejandria`` command as a user runs it, in a subprocess, against the local Patreon."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from alejandria.storage.media_store import MediaStore
from alejandria.testing import CliResult, run_cli
from alejandria_source_patreon.testing import PatreonFixture, demo_campaign

BIG = 60
#: demo_campaign(posts=60): the 12 posts of the small one (11 viewable, 9 files) and 48 more
#: image posts.
BIG_POSTS, BIG_FILES = BIG - 1, 9 + BIG - 12


@pytest.fixture
def cli_env(alejandria_database_url: str, tmp_path: Path,
            patreon_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEJANDRIA_")}
    env.update(patreon_env)
    env.update({
        "ALEJANDRIA_DATABASE_URL": alejandria_database_url,
        "ALEJANDRIA_DATA_DIR": str(tmp_path / "data"),
        "ALEJANDRIA_PROCESS_MEDIA": "false",
        "ALEJANDRIA_DOWNLOAD_EMBEDS": "false",
        "ALEJANDRIA_EMBED_AFTER_SYNC": "false",
    })
    return env


@pytest.fixture
def alejandria(cli_env: dict[str, str]) -> Callable[..., CliResult]:
    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> CliResult:
        return run_cli(env or cli_env, *args, timeout=timeout)

    return run


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("posts", "media_files", "post_media", "media_keys")}
    finally:
        engine.dispose()


def test_sync_then_a_second_sync_is_a_no_op(alejandria: Callable[..., CliResult],
                                            site: PatreonFixture) -> None:
    first = alejandria("sync", "patreon", f"{site.base_url}/c/artista", "--json")
    site.reset_counts()
    second = alejandria("sync", "patreon", f"{site.base_url}/c/artista", "--json")

    assert first.returncode == 0, first.stderr
    assert (first.json()["posts_written"], first.json()["media_stored"]) == (11, 9)
    assert second.returncode == 0, second.stderr
    report = second.json()
    assert report["posts_written"] == report["media_stored"] == report["creators_written"] == 0
    assert site.media_requests == 0


def test_sigkill_midway_then_rerun_archives_everything_exactly_once(
        alejandria: Callable[..., CliResult], cli_env: dict[str, str], site: PatreonFixture,
        alejandria_database_url: str, tmp_path: Path) -> None:
    site.campaigns.clear()
    site.add_campaign(demo_campaign(posts=BIG))
    site.media_delay_s = 0.03
    process = subprocess.Popen(
        [sys.executable, "-m", "alejandria.cli.main", "sync", "patreon", "artista",
         "-o", "checkpoint_every=5"],
        env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while site.media_requests < 20 or counts(alejandria_database_url)["posts"] == 0:
        assert process.poll() is None, f"the sync ended before the kill: {process.stderr.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    partial = counts(alejandria_database_url)
    assert 0 < partial["posts"] < BIG_POSTS, "the kill did not land mid-sync"
    site.media_delay_s = 0.0
    site.reset_counts()

    rerun = alejandria("sync", "patreon", "artista", "-o", "checkpoint_every=5", "--json")

    assert rerun.returncode == 0, rerun.stderr
    # only files the killed run had not committed are fetched again
    assert site.media_requests == BIG_FILES - partial["media_keys"]
    assert counts(alejandria_database_url) == {"posts": BIG_POSTS, "media_files": BIG_FILES,
                                               "post_media": BIG_FILES,
                                               "media_keys": BIG_FILES}
    store = MediaStore(tmp_path / "data" / "media")
    stored = [path for path in store.root.glob("??/??/*") if path.is_file()]
    assert len(stored) == BIG_FILES and all(store.verify(path.name) for path in stored)
    again = alejandria("sync", "patreon", "artista", "--json")
    assert again.json()["posts_written"] == 0


def test_credentials_are_stored_encrypted_and_used_by_sync(
        alejandria: Callable[..., CliResult], cli_env: dict[str, str], site: PatreonFixture,
        alejandria_database_url: str) -> None:
    stored = alejandria("credentials", "set", "patreon", "--from-env")
    without_env = {k: v for k, v in cli_env.items() if k != "ALEJANDRIA_PATREON_SESSION_ID"}
    listed = alejandria("credentials", "list", env=without_env)
    synced = alejandria("sync", "patreon", "artista", "--json", env=without_env)

    assert stored.returncode == 0, stored.stderr
    assert "stored patreon credentials (session_id)" in stored.stderr
    assert "patreon" in listed.stdout and "session_id" in listed.stdout
    assert synced.returncode == 0, synced.stderr
    assert synced.json()["posts_written"] == 11
    for run in (stored, listed, synced):
        assert site.session_id not in run.stdout + run.stderr
    engine = create_engine(alejandria_database_url, poolclass=NullPool)
    with engine.connect() as conn:
        blob = bytes(conn.execute(text("SELECT ciphertext FROM source_credentials")).scalar_one())
    engine.dispose()
    assert site.session_id.encode() not in blob


def test_storing_an_expired_session_is_refused(alejandria: Callable[..., CliResult],
                                               site: PatreonFixture) -> None:
    site.expire_session()

    result = alejandria("credentials", "set", "patreon", "--from-env")

    assert result.returncode == 2
    assert "log in to patreon.com" in result.stderr
    assert site.session_id not in result.stderr
    assert "no stored credentials" in alejandria("credentials", "list").stdout


def test_dry_run_prints_what_it_would_archive(alejandria: Callable[..., CliResult]) -> None:
    result = alejandria("sync", "patreon", "artista", "-o", "dry_run=true")

    assert result.returncode == 0, result.stderr
    assert "dry run: would archive 11 new or edited post(s)" in result.stderr
    assert "'Notas solo en TipTap'" in result.stderr
    assert "0 post(s) written" in result.stderr


def test_a_fault_is_one_readable_line(alejandria: Callable[..., CliResult],
                                      site: PatreonFixture) -> None:
    site.outdated_client()

    result = alejandria("sync", "patreon", "artista")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: patreon: Patreon refuses this client as outdated" in result.stderr

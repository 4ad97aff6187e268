"""The ``alejandria`` command as a user runs it, in a subprocess, against the local Patreon.

``alejandria_cli`` runs it on this test's database and data dir with ``alejandria_cli_env``:
the conftest's settings and the local Patreon's ``ALEJANDRIA_PATREON_*`` variables. Each run
starts Python and opens the archive (about a second): a test that runs it twice or more is
marked ``slow``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from alejandria.api import Archive
from alejandria.testing import CliResult, reads
from alejandria_source_patreon.testing import PatreonFixture, demo_campaign

BIG = 60
#: demo_campaign(posts=60): the 12 posts of the small one (11 viewable, 9 files) and 48 more
#: image posts.
BIG_POSTS, BIG_FILES = BIG - 1, 9 + BIG - 12

Cli = Callable[..., CliResult]


@pytest.fixture
def reader(open_archive: Callable[..., Archive]) -> Archive:
    """An archive on the database and data dir the command writes, to read what it stored."""
    return open_archive()


def counts(reader: Archive) -> dict[str, int]:
    return reads.table_counts(reader, "posts", "media_files", "post_media", "media_keys")


@pytest.mark.slow
def test_sync_then_a_second_sync_is_a_no_op(alejandria_cli: Cli, site: PatreonFixture) -> None:
    first = alejandria_cli("sync", "patreon", f"{site.base_url}/c/artista", "--json")
    site.reset_counts()
    second = alejandria_cli("sync", "patreon", f"{site.base_url}/c/artista", "--json")

    assert first.returncode == 0, first.stderr
    assert (first.json()["posts_written"], first.json()["media_stored"]) == (11, 9)
    assert second.returncode == 0, second.stderr
    report = second.json()
    assert report["posts_written"] == report["media_stored"] == report["creators_written"] == 0
    assert site.media_requests == 0


@pytest.mark.slow
def test_sigkill_midway_then_rerun_archives_everything_exactly_once(
        alejandria_cli: Cli, alejandria_cli_env: dict[str, str], site: PatreonFixture,
        reader: Archive) -> None:
    site.campaigns.clear()
    site.add_campaign(demo_campaign(posts=BIG))
    site.media_delay_s = 0.03
    process = subprocess.Popen(
        [sys.executable, "-m", "alejandria.cli.main", "sync", "patreon", "artista",
         "-o", "checkpoint_every=5"],
        env=alejandria_cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while site.media_requests < 20 or counts(reader)["posts"] == 0:
        assert process.poll() is None, f"the sync ended before the kill: {process.communicate()}"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    partial = counts(reader)
    assert 0 < partial["posts"] < BIG_POSTS, "the kill did not land mid-sync"
    site.media_delay_s = 0.0
    site.reset_counts()

    rerun = alejandria_cli("sync", "patreon", "artista", "-o", "checkpoint_every=5", "--json")

    assert rerun.returncode == 0, rerun.stderr
    # only files the killed run had not committed are fetched again
    assert site.media_requests == BIG_FILES - partial["media_keys"]
    assert counts(reader) == {"posts": BIG_POSTS, "media_files": BIG_FILES,
                              "post_media": BIG_FILES, "media_keys": BIG_FILES}
    store = reader.media
    stored = [path for path in store.root.glob("??/??/*") if path.is_file()]
    assert len(stored) == BIG_FILES and all(store.verify(path.name) for path in stored)
    again = alejandria_cli("sync", "patreon", "artista", "--json")
    assert again.json()["posts_written"] == 0


@pytest.mark.slow
def test_credentials_are_stored_encrypted_and_used_by_sync(
        alejandria_cli: Cli, alejandria_cli_env: dict[str, str], site: PatreonFixture,
        reader: Archive) -> None:
    stored = alejandria_cli("credentials", "set", "patreon", "--from-env")
    without_env = {k: v for k, v in alejandria_cli_env.items()
                   if k != "ALEJANDRIA_PATREON_SESSION_ID"}
    listed = alejandria_cli("credentials", "list", env=without_env)
    synced = alejandria_cli("sync", "patreon", "artista", "--json", env=without_env)

    assert stored.returncode == 0, stored.stderr
    assert "stored patreon credentials (session_id)" in stored.stderr
    assert "patreon" in listed.stdout and "session_id" in listed.stdout
    assert synced.returncode == 0, synced.stderr
    assert synced.json()["posts_written"] == 11
    for run in (stored, listed, synced):
        assert site.session_id not in run.stdout + run.stderr
    (stored_credential,) = reads.credentials(reader)
    assert (stored_credential.source, stored_credential.fields) == ("patreon", ("session_id",))
    assert site.session_id.encode() not in stored_credential.ciphertext


@pytest.mark.slow
def test_storing_an_expired_session_is_refused(alejandria_cli: Cli,
                                               site: PatreonFixture) -> None:
    site.expire_session()

    result = alejandria_cli("credentials", "set", "patreon", "--from-env")

    assert result.returncode == 2
    assert "log in to patreon.com" in result.stderr
    assert site.session_id not in result.stderr
    assert "no stored credentials" in alejandria_cli("credentials", "list").stdout


def test_dry_run_prints_what_it_would_archive(alejandria_cli: Cli) -> None:
    result = alejandria_cli("sync", "patreon", "artista", "-o", "dry_run=true")

    assert result.returncode == 0, result.stderr
    assert "dry run: would archive 11 new or edited post(s)" in result.stderr
    assert "'Notas solo en TipTap'" in result.stderr
    assert "0 post(s) written" in result.stderr


def test_a_fault_is_one_readable_line(alejandria_cli: Cli, site: PatreonFixture) -> None:
    site.outdated_client()

    result = alejandria_cli("sync", "patreon", "artista")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: patreon: Patreon refuses this client as outdated" in result.stderr

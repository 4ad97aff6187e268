"""Keeping the library current: what a later sync asks for, a new version of a file, a file
the seller removed, purchases the user archived, a sync killed midway."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from alejandria.api import Archive
from alejandria.testing import CliResult, reads
from alejandria_source_gumroad.testing import (
    FakeFile,
    GumroadFixture,
    file_bytes,
    many_purchases,
)

Cli = Callable[..., CliResult]


def test_a_new_version_of_a_file_is_archived_beside_the_old_one(archive: Archive,
                                                                site: GumroadFixture) -> None:
    archive.sync("gumroad")
    product = site.purchases[2].product  # the rain sounds
    old = product.files[0]
    new = FakeFile("bmV3MQ==", old.name, old.extension, file_bytes("lluvia1-v2"),
                   old.mimetype, folder=old.folder)
    product.files[0] = new
    site.reset_counts()

    report = archive.sync("gumroad")

    assert report.ok, report.errors
    assert report.media_stored == 1 and site.file_requests == 2  # the link and its file
    links = reads.media_links(archive, "prd_sounds:description")
    assert {(link.filename, link.sha256) for link in links} == {
        ("Lluvia 1.mp3", hashlib.sha256(old.data).hexdigest()),
        ("Lluvia 1.mp3", hashlib.sha256(new.data).hexdigest()),
        ("Lluvia 2.mp3", hashlib.sha256(product.files[1].data).hexdigest())}
    post = reads.post(archive, "prd_sounds:description")
    assert post.metadata["gone_upstream"] == [f"gumroad-file:{old.id}"]


def test_a_removed_file_stays_archived_marked_gone_upstream(archive: Archive,
                                                            site: GumroadFixture) -> None:
    archive.sync("gumroad")
    product = site.purchases[2].product
    removed = product.files.pop(1)

    report = archive.sync("gumroad")
    again = archive.sync("gumroad")

    assert report.ok and again.ok, (report.errors, again.errors)
    assert again.posts_written == 0  # marked once, not rewritten on every sync
    links = {link.filename: link for link in reads.media_links(archive,
                                                               "prd_sounds:description")}
    assert links["Lluvia 2.mp3"].sha256 == hashlib.sha256(removed.data).hexdigest()
    post = reads.post(archive, "prd_sounds:description")
    assert post.metadata["gone_upstream"] == [f"gumroad-file:{removed.id}"]
    [detail] = [archive.library.post(post.id)]
    gone = {media.filename: media.gone_upstream for media in detail.media}
    assert gone == {"Lluvia 1.mp3": False, "Lluvia 2.mp3": True}
    assert [f["name"] for f in post.metadata["files"]] == ["Lluvia 1"]
    [cursor] = [c for c in reads.sync_cursors(archive, source="gumroad")]
    gone = cursor.cursor["purchases"]["pur_3"]["gone"][removed.id]
    assert gone["name"] == "Lluvia 2" and gone["gone_since"]


def test_a_purchase_made_since_is_archived_and_the_rest_asks_for_no_file(
        archive: Archive, site: GumroadFixture) -> None:
    archive.sync("gumroad")
    site.add(*many_purchases(1))
    site.reset_counts()

    report = archive.sync("gumroad")

    assert report.ok, report.errors
    assert (report.posts_written, report.media_stored) == (1, 1)
    assert site.file_requests == 2  # the new purchase's link and file only


@pytest.mark.parametrize("site", ["react", "inertia"], indirect=True)
def test_include_archived_also_archives_what_the_user_archived(alejandria_cli: Cli,
                                                               reader: Archive) -> None:
    plain = alejandria_cli("sync", "gumroad", "--json")
    both = alejandria_cli("sync", "gumroad", "--include-archived", "--json")

    assert plain.returncode == 0 and both.returncode == 0, plain.stderr + both.stderr
    assert "prd_old:description" in {p.external_id for p in reads.posts(reader)}
    assert (both.json()["posts_written"], both.json()["media_stored"]) == (1, 1)
    [old] = [c for c in reads.collections(reader) if c.external_id == "prd_old"]
    assert old.metadata["archived_in_library"] is True


def test_an_unknown_switch_names_the_sources_switches(alejandria_cli: Cli) -> None:
    result = alejandria_cli("sync", "gumroad", "--include-archive")

    assert result.returncode == 2
    assert "--include-archived" in result.stderr


@pytest.fixture
def reader(open_archive: Callable[..., Archive]) -> Archive:
    """An archive on the database and data dir the command writes, to read what it stored."""
    return open_archive()


@pytest.mark.slow
@pytest.mark.parametrize("site", ["react"], indirect=True)
def test_sigkill_midway_then_rerun_archives_everything_exactly_once(
        alejandria_cli: Cli, alejandria_cli_env: dict[str, str], site: GumroadFixture,
        reader: Archive) -> None:
    site.purchases.clear()
    site.add(*many_purchases(40))
    site.file_delay_s = 0.05
    process = subprocess.Popen(
        [sys.executable, "-m", "alejandria.cli.main", "sync", "gumroad",
         "-o", "media_workers=1"],
        env=alejandria_cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while site.file_requests < 20 or reads.count(reader, "posts") == 0:
        assert process.poll() is None, f"the sync ended before the kill: {process.communicate()}"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = reads.count(reader, "posts")
    site.file_delay_s = 0

    result = alejandria_cli("sync", "gumroad", "--json")

    assert result.returncode == 0, result.stderr
    assert 0 < before < 40
    assert reads.table_counts(reader, "posts", "media_files") == {"posts": 40,
                                                                  "media_files": 40}
    stored = {m.sha256 for m in reads.media_files(reader)}
    assert stored == {hashlib.sha256(p.product.files[0].data).hexdigest()
                      for p in site.purchases}
    verified = reader.verify_media()  # every stored file whole: none half-written
    assert verified.ok and verified.checked == 40

"""``alejandria import gallery-dl``: a download tree's files regrouped into their posts by their
``--write-metadata`` sidecars, Patreon posts stored as the patreon source stores them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from alejandria.api import Archive
from alejandria.cli.main import cli
from alejandria.imports.report import ImportReport
from alejandria.imports.service import run_import
from alejandria.testing import reads

from .import_trees import HASH_A, HASH_B, gallery_dl_tree


@pytest.fixture
def alejandria_settings_overrides() -> dict[str, Any]:
    return {"process_media": False, "download_embeds": False}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return gallery_dl_tree(tmp_path / "downloads")


def import_tree(archive: Archive, tree: Path, *, dry_run: bool = False) -> ImportReport:
    return run_import(archive.context, "gallery-dl", [tree], dry_run=dry_run)


def test_files_are_regrouped_into_posts_with_their_metadata(archive: Archive,
                                                            tree: Path) -> None:
    report = import_tree(archive, tree)

    patreon = {post.external_id: post for post in reads.posts(archive, source="patreon")}
    assert set(patreon) == {"9001", "9002"}, report.lines()
    post = patreon["9001"]
    assert (post.title, post.content_text, post.creator) == ("Bocetos", "Bocetos nuevos",
                                                              "5001")
    assert post.url == "https://www.patreon.com/posts/bocetos-9001"
    assert post.published_at is not None and post.published_at.isoformat().startswith(
        "2024-01-01T12:00")
    assert post.metadata["gallery_dl"]["like_count"] == 7
    assert post.metadata["gallery_dl"]["campaign"]["name"] == "Artista"
    links = reads.media_links(archive, "9001", source="patreon")
    assert [(link.key, link.role, link.filename) for link in links] == [
        (f"patreon:{HASH_A}", "image", "imagen-1.png"),
        (f"patreon:{HASH_B}", "image", "imagen-2.png")]
    # the campaign id comes from the campaign's avatar URL, as the patreon source names it
    [creator] = reads.creators(archive, source="patreon")
    assert (creator.external_id, creator.name) == ("5001", "Artista")
    # other sites are stored as gallery-dl, with the site in their ids
    [pixiv] = reads.posts(archive, source="gallery-dl")
    assert (pixiv.external_id, pixiv.title, pixiv.creator) == ("pixiv:456", "Paisaje",
                                                               "pixiv:123")
    assert pixiv.content_text == "Un paisaje"
    # the cut-off sidecar is named, the file without one is left out, the rest imported
    assert not report.ok
    [(corrupt, reason)] = report.findings.corrupt.items()
    assert corrupt.endswith("9003_Roto_01.png.json") and reason.startswith("truncated")
    [missing] = report.findings.missing
    assert missing.path.endswith("9002_Sin archivo_01.pdf")
    assert {(t.source, t.external_id): (t.posts_in, t.posts_archived, t.media_in,
                                        t.media_archived, t.media_missing)
            for t in report.creators} == {("patreon", "5001"): (2, 2, 3, 2, 1),
                                          ("gallery-dl", "pixiv:123"): (1, 1, 1, 1, 0)}
    assert report.sync is not None and report.sync.media_stored == 3
    assert any("no metadata sidecar" in notice.message for notice in report.sync.notices)


def test_a_dry_run_writes_nothing_and_a_second_run_is_a_no_op(archive: Archive,
                                                               tree: Path) -> None:
    dry = import_tree(archive, tree, dry_run=True)

    assert dry.sync is None and dry.totals["posts_in"] == 3
    assert reads.table_counts(archive, "posts", "media_files", "sync_cursors") == {
        "posts": 0, "media_files": 0, "sync_cursors": 0}

    first = import_tree(archive, tree)
    second = import_tree(archive, tree)

    assert first.sync is not None and first.sync.writes > 0
    assert second.sync is not None and second.sync.writes == 0
    assert second.totals == first.totals


def test_the_cli_names_the_corrupt_sidecar_and_exits_1(archive: Archive, tree: Path,
                                                       alejandria_database_url: str,
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"DATABASE_URL": alejandria_database_url,
                        "DATA_DIR": str(tmp_path / "data"), "PROCESS_MEDIA": "false",
                        "EMBED_AFTER_SYNC": "false", "DOWNLOAD_EMBEDS": "false"}.items():
        monkeypatch.setenv(f"ALEJANDRIA_{name}", value)

    dry = CliRunner().invoke(cli, ["import", "gallery-dl", str(tree), "--dry-run"])

    assert dry.exit_code == 1, dry.output
    assert "dry run: nothing written" in dry.output
    assert "9003_Roto_01.png.json: truncated" in dry.output
    assert reads.count(archive, "posts") == 0

    (next(tree.rglob("9003_Roto_01.png.json"))).unlink()
    done = CliRunner().invoke(cli, ["import", "gallery-dl", str(tree), "--json"])

    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["totals"]["posts_archived"] == 3

"""``alejandria import legacy``: the old system's JSON files through the sync pipeline, into a
real archive, with the validation report per creator."""

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

from .import_trees import HASH_A, legacy_tree, png, truncate


@pytest.fixture
def alejandria_settings_overrides() -> dict[str, Any]:
    return {"process_media": False, "download_embeds": False}


@pytest.fixture
def old(tmp_path: Path) -> Path:
    return legacy_tree(tmp_path / "old")


def import_legacy(archive: Archive, old: Path, *, dry_run: bool = False) -> ImportReport:
    return run_import(archive.context, "legacy",
                      [str(old / "data" / "processed" / "*_posts_detailed.json")],
                      options={"creators": str(old / "config" / "creators.json"),
                               "media_root": str(old)}, dry_run=dry_run)


def tallies(report: ImportReport) -> dict[str, tuple[int, int, int, int, int]]:
    return {tally.external_id: (tally.posts_in, tally.posts_archived, tally.media_in,
                                tally.media_archived, tally.media_missing)
            for tally in report.creators}


def test_posts_land_as_patreon_posts_with_their_media_and_a_report(archive: Archive,
                                                                   old: Path) -> None:
    report = import_legacy(archive, old)

    assert report.ok, report.lines()
    # creator 5001 by its id; luna by the campaign id creators.json gives it
    assert tallies(report) == {"5001": (2, 2, 3, 2, 1), "6001": (1, 1, 1, 1, 0)}
    posts = {post.external_id: post for post in reads.posts(archive, source="patreon")}
    assert set(posts) == {"9001", "9002", "7001"}
    first, variant = posts["9001"], posts["9002"]
    assert (first.title, first.content_text) == ("Bocetos", "Hola mundo")
    assert first.tags == ("bocetos", "acuarela")
    assert first.published_at is not None and first.published_at.isoformat().startswith(
        "2024-01-01T12:00")
    # an older script's names: id, name, body, date, media_files[].file_path
    assert (variant.title, variant.content_text) == ("Variantes", "Texto sin marcas.")
    assert variant.published_at is not None and variant.published_at.day == 2
    assert variant.metadata["unmapped"] == {"sparkle": True}
    assert {creator.external_id for creator in reads.creators(archive, source="patreon")} == {
        "5001", "6001"}
    # the Patreon file keeps the key the patreon source gives it; a local one its path
    keys = {link.key for link in reads.media_links(archive, "9001")}
    assert keys == {f"patreon:{HASH_A}"}
    # artista/a.png and luna/shared.png are the same bytes: stored once
    assert reads.table_counts(archive, "posts", "media_files", "post_media") == {
        "posts": 3, "media_files": 2, "post_media": 3}
    assert report.sync is not None and report.sync.media_stored == 2
    # the missing file and the unknown keys are reported, each key once
    [missing] = report.findings.missing
    assert missing.path.endswith("data/media/artista/missing.png")
    assert set(report.findings.unknown_keys) == {"post.sparkle", "creator.mood"}
    text = "\n".join(report.lines())
    assert "missing on disk" in text and "post.sparkle" in text
    assert text.count("post.sparkle") == 1


def test_a_truncated_file_is_named_the_rest_imported_and_the_cli_exits_1(
        archive: Archive, old: Path, alejandria_database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    broken = old / "data" / "processed" / "luna_posts_detailed.json"
    truncate(broken)
    for name, value in {"DATABASE_URL": alejandria_database_url,
                        "DATA_DIR": str(tmp_path / "data"), "PROCESS_MEDIA": "false",
                        "EMBED_AFTER_SYNC": "false", "DOWNLOAD_EMBEDS": "false"}.items():
        monkeypatch.setenv(f"ALEJANDRIA_{name}", value)
    monkeypatch.chdir(old)

    result = CliRunner().invoke(cli, [
        "import", "legacy", "--creators", "config/creators.json",
        "--posts", "data/processed/*_posts_detailed.json", "--json"], catch_exceptions=False)

    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["ok"] is False
    [corrupt] = report["corrupt_files"]
    assert corrupt["path"] == str(broken) and corrupt["reason"].startswith("truncated")
    assert {post.external_id for post in reads.posts(archive)} == {"9001", "9002"}
    luna = next(c for c in report["creators"] if c["external_id"] == "6001")
    assert (luna["posts_in"], luna["unreadable"], luna["complete"]) == (0, [str(broken)], False)

    shown = CliRunner().invoke(cli, ["import", "legacy", "--creators", "config/creators.json",
                                     "--posts", "data/processed/*_posts_detailed.json"])
    assert shown.exit_code == 1
    assert f"{broken}: truncated" in shown.output
    assert "corrupt or unreadable JSON" in shown.output
    assert "Luna [patreon 6001]" in shown.output and "INCOMPLETE" in shown.output


def test_media_already_in_the_archive_is_reused_by_its_sha256(archive: Archive, old: Path,
                                                              tmp_path: Path) -> None:
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    (pictures / "copy.png").write_bytes(png(2))  # artista/b.png's bytes, archived before
    archive.sync("files", pictures)
    stored_before = {media.sha256 for media in reads.media_files(archive)}

    report = import_legacy(archive, old)

    assert report.ok and report.sync is not None
    assert report.sync.media_stored == 1 and report.sync.media_reused == 2
    after = {media.sha256 for media in reads.media_files(archive)}
    assert len(after) == 2 and stored_before <= after
    [link] = reads.media_links(archive, "9002")
    assert link.sha256 in stored_before


def test_a_dry_run_writes_nothing_and_a_second_run_is_a_no_op(archive: Archive,
                                                               old: Path) -> None:
    dry = import_legacy(archive, old, dry_run=True)

    assert dry.ok and dry.sync is None
    assert tallies(dry) == {"5001": (2, 0, 3, 0, 1), "6001": (1, 0, 1, 0, 0)}
    assert reads.table_counts(archive, "creators", "posts", "media_files",
                              "sync_cursors") == {"creators": 0, "posts": 0, "media_files": 0,
                                                  "sync_cursors": 0}
    assert not list(archive.media.root.rglob("*")) or not any(
        path.is_file() for path in archive.media.root.rglob("*"))

    first = import_legacy(archive, old)
    second = import_legacy(archive, old)

    assert first.sync is not None and first.sync.writes > 0
    assert second.ok and second.sync is not None and second.sync.writes == 0
    assert tallies(second) == tallies(first)
    # unchanged files are not even read again, except the one whose media were missing
    assert (second.sync.targets, second.sync.skipped_unchanged) == (3, 2)
    assert second.sync.posts_unchanged == 2  # the re-read file's posts, rewritten: none

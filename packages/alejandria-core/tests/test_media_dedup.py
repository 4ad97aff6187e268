"""``media dedup``: real files in a real store and a real database, repaired and re-checked.

The store already keeps one file per content, so the duplicate rows here are made the way they
can arise: a row imported from an older layout that spelled its hash in upper case (the unique
constraint compares strings), with its own copy of the file and its own references.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import text

from alejandria.cli.main import cli
from alejandria.models import Checkpoint, CreatorIn, MediaIn, PostIn


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="PNG")
    return buffer.getvalue()


RED, BLUE, GREEN = png((200, 30, 30)), png((30, 30, 200)), png((30, 200, 30))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sync_posts(archive: Any, memory_source: Any, posts: dict[str, list[tuple[str, bytes]]]) -> None:
    """One post per entry, each with (key, bytes) media."""
    memory_source.blobs = {key: data for media in posts.values() for key, data in media}
    memory_source.content["t"] = [
        CreatorIn(external_id="c", name="C"),
        *(PostIn(external_id=post, creator_external_id="c", title=post,
                 media=tuple(MediaIn(key=key, filename=f"{key}.png") for key, _ in media))
          for post, media in posts.items()),
        Checkpoint(),
    ]
    report = archive.sync("memory", "t")
    assert report.ok, report.notices


def snapshot(archive: Any) -> dict[str, Any]:
    """Every row dedup may touch, every file in the store and under derived/."""
    tables = {}
    with archive.engine.connect() as conn:
        for table, order in (("media_files", "id"), ("post_media", "id"),
                             ("media_keys", "key"), ("transcriptions", "id"),
                             ("media_derivatives", "media_id, processor")):
            rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).mappings()
            tables[table] = [dict(row) for row in rows]
    data_dir = archive.settings.data_dir
    files = {path.relative_to(data_dir).as_posix(): path.read_bytes()
             for path in sorted(data_dir.rglob("*")) if path.is_file()
             and "tmp" not in path.relative_to(data_dir).parts}
    return {"tables": tables, "files": files}


def store_files(archive: Any) -> dict[str, bytes]:
    root = archive.media.root
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.glob("??/??/*")) if path.is_file()}


def references(archive: Any) -> list[tuple[str, str]]:
    """(post, media sha256) for every post_media row, and (key, sha256) for every alias."""
    with archive.engine.connect() as conn:
        posts = conn.execute(text(
            "SELECT p.external_id, m.sha256 FROM post_media pm JOIN posts p ON p.id = pm.post_id "
            "JOIN media_files m ON m.id = pm.media_id ORDER BY 1")).all()
        keys = conn.execute(text(
            "SELECT k.key, m.sha256 FROM media_keys k JOIN media_files m ON m.id = k.media_id "
            "ORDER BY 1")).all()
    return [tuple(row) for row in posts] + [tuple(row) for row in keys]


def make_legacy_duplicate(archive: Any, post: str, key: str, data: bytes) -> int:
    """Split ``post``'s reference to ``data`` off to an older-layout row: the same content
    under its upper-case hash, with its own copy of the file, its own alias, a transcript and
    a thumbnail. Returns the new row's id."""
    upper = sha(data).upper()
    legacy_file = archive.media.path_for(upper)
    legacy_file.parent.mkdir(parents=True, exist_ok=True)
    legacy_file.write_bytes(data)
    thumbnails = archive.settings.data_dir / "derived" / "thumbnails" / upper[:2] / upper[2:4]
    (thumbnails / upper).mkdir(parents=True)
    (thumbnails / upper / "150.webp").write_bytes(b"old thumbnail")
    with archive.engine.begin() as conn:
        legacy = conn.execute(text(
            "INSERT INTO media_files (sha256, kind, mime_type, size, first_seen_at) "
            "SELECT :upper, kind, mime_type, size, first_seen_at - interval '1 year' "
            "FROM media_files WHERE sha256 = :lower RETURNING id"),
            {"upper": upper, "lower": sha(data)}).scalar_one()
        conn.execute(text(
            "UPDATE post_media SET media_id = :legacy FROM posts "
            "WHERE posts.id = post_media.post_id AND posts.external_id = :post"),
            {"legacy": legacy, "post": post})
        conn.execute(text("UPDATE media_keys SET media_id = :legacy WHERE key = :key"),
                     {"legacy": legacy, "key": key})
        conn.execute(text(
            "INSERT INTO media_derivatives (media_id, processor, version, status, result) "
            "VALUES (:legacy, 'thumbnails', '1', 'done', :result)"),
            {"legacy": legacy, "result": json.dumps({"thumbnails": {
                "150": f"derived/thumbnails/{upper[:2]}/{upper[2:4]}/{upper}/150.webp"}})})
        for media_id, model in ((legacy, "m"), (legacy, "n")):
            conn.execute(text(
                "INSERT INTO transcriptions (media_id, engine, model, text) "
                "VALUES (:media_id, 'test', :model, :text)"),
                {"media_id": media_id, "model": model, "text": f"legacy {model}"})
        conn.execute(text(
            "INSERT INTO transcriptions (media_id, engine, model, text) "
            "SELECT id, 'test', 'm', 'kept m' FROM media_files WHERE sha256 = :lower"),
            {"lower": sha(data)})
    return int(legacy)


def test_one_image_through_two_keys_is_one_file_with_two_references(
    archive: Any, memory_source: Any, count: Any
) -> None:
    sync_posts(archive, memory_source, {"p1": [("a", RED)], "p2": [("b", RED)]})

    assert count(archive, "media_files") == 1
    assert list(store_files(archive).values()) == [RED]
    assert references(archive) == [("p1", sha(RED)), ("p2", sha(RED)),
                                   ("a", sha(RED)), ("b", sha(RED))]

    report = archive.dedup_media()

    assert report.ok and not report.changed
    assert report.rows_checked == 1 and report.bytes_hashed == len(RED)


def test_rows_of_the_same_content_are_merged(
    archive: Any, memory_source: Any, count: Any
) -> None:
    sync_posts(archive, memory_source, {"p1": [("a", RED)], "p2": [("b", RED)]})
    legacy = make_legacy_duplicate(archive, "p2", "b", RED)
    assert count(archive, "media_files") == 2 and len(store_files(archive)) == 2
    assert ("p2", sha(RED).upper()) in references(archive)
    before = snapshot(archive)

    dry = archive.dedup_media(dry_run=True)

    assert snapshot(archive) == before  # a dry run changes nothing
    assert dry.dry_run and dry.ok
    assert [(m["merged_ids"], m["post_media"], m["media_keys"]) for m in dry.merged] == [
        ([legacy], 1, 1)]
    assert [entry["path"] for entry in dry.removed] == [
        archive.media.path_for(sha(RED).upper()).relative_to(archive.media.root).as_posix()]

    report = archive.dedup_media()

    assert report.ok
    assert report.as_dict() | {"dry_run": True, "bytes_hashed": 0} == dry.as_dict() | {
        "bytes_hashed": 0}
    assert count(archive, "media_files") == 1
    assert list(store_files(archive).values()) == [RED]  # one file...
    assert references(archive) == [("p1", sha(RED)), ("p2", sha(RED)),  # ...two references
                                   ("a", sha(RED)), ("b", sha(RED))]
    with archive.engine.connect() as conn:
        transcripts = conn.execute(text(
            "SELECT model, text FROM transcriptions ORDER BY model")).all()
        derivatives = conn.execute(text(
            "SELECT count(*) FROM media_derivatives WHERE result::text LIKE :upper"),
            {"upper": f"%{sha(RED).upper()}%"}).scalar_one()
        first_seen_at_is_the_legacy_one = conn.execute(text(
            "SELECT first_seen_at < now() - interval '300 days' FROM media_files")).scalar_one()
    assert [tuple(row) for row in transcripts] == [("m", "kept m"), ("n", "legacy n")]
    assert derivatives == 0
    assert first_seen_at_is_the_legacy_one
    derived = archive.settings.data_dir / "derived" / "thumbnails"
    assert not any(sha(RED).upper() in path.name for path in derived.rglob("*"))

    again = archive.dedup_media()  # idempotent
    assert again.ok and not again.changed
    assert count(archive, "media_files") == 1


def test_a_lone_row_with_an_upper_case_hash_is_made_canonical(
    archive: Any, memory_source: Any, count: Any
) -> None:
    sync_posts(archive, memory_source, {"p1": [("a", BLUE)]})
    lower, upper = sha(BLUE), sha(BLUE).upper()
    archive.media.path_for(upper).parent.mkdir(parents=True, exist_ok=True)
    shutil.move(archive.media.path_for(lower), archive.media.path_for(upper))
    with archive.engine.begin() as conn:
        conn.execute(text("UPDATE media_files SET sha256 = :upper"), {"upper": upper})

    report = archive.dedup_media()

    assert report.ok and not report.merged
    assert [(entry["from"], entry["to"]) for entry in report.renamed] == [(upper, lower)]
    assert store_files(archive) == {f"{lower[:2]}/{lower[2:4]}/{lower}": BLUE}
    assert references(archive) == [("p1", lower), ("a", lower)]
    assert archive.dedup_media().changed is False


def test_orphans_misplaced_and_corrupt_files(
    archive: Any, memory_source: Any, count: Any
) -> None:
    sync_posts(archive, memory_source, {"p1": [("a", RED)], "p2": [("b", BLUE)],
                                        "p3": [("c", GREEN)]})
    root = archive.media.root
    # An orphan copy of content a row has (a hand copy, a crash): removed.
    copy = root / "ff" / "ee" / "copy-of-red.png"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(RED)
    # A file no row has (a crash right after the rename): reported, left for `media gc`.
    unknown = b"bytes of a sync that crashed before it committed"
    root.joinpath(sha(unknown)[:2], sha(unknown)[2:4]).mkdir(parents=True, exist_ok=True)
    archive.media.path_for(sha(unknown)).write_bytes(unknown)
    # A row's file moved elsewhere in the store: put back.
    moved = root / "00" / "11" / "moved-blue"
    moved.parent.mkdir(parents=True)
    shutil.move(archive.media.path_for(sha(BLUE)), moved)
    # A row's file whose bytes changed: reported, never touched.
    archive.media.path_for(sha(GREEN)).write_bytes(b"scribbled over")
    before = snapshot(archive)

    dry = archive.dedup_media(dry_run=True)

    assert snapshot(archive) == before
    assert not dry.ok  # the corrupt file needs a person

    report = archive.dedup_media()

    assert report.removed == [{"path": "ff/ee/copy-of-red.png", "sha256": sha(RED)}]
    assert report.bytes_freed == len(RED)
    assert report.restored == [{"sha256": sha(BLUE), "from": "00/11/moved-blue"}]
    assert report.unknown_orphans == [
        {"path": archive.media.path_for(sha(unknown)).relative_to(root).as_posix(),
         "sha256": sha(unknown)}]
    assert [(m["sha256"], m["actual"]) for m in report.mismatched] == [
        (sha(GREEN), sha(b"scribbled over"))]
    assert not report.missing and not report.ok
    assert not copy.exists() and not copy.parent.exists()
    assert archive.media.path_for(sha(BLUE)).read_bytes() == BLUE and not moved.exists()
    assert archive.media.path_for(sha(unknown)).read_bytes() == unknown
    assert archive.media.path_for(sha(GREEN)).read_bytes() == b"scribbled over"
    assert count(archive, "media_files") == 3
    assert archive.verify_media().corrupt == [sha(GREEN)]

    again = archive.dedup_media()
    assert not again.changed
    assert again.mismatched == report.mismatched
    assert again.unknown_orphans == report.unknown_orphans


@pytest.fixture
def run(alejandria_database_url: str, archive: Any,
        monkeypatch: pytest.MonkeyPatch) -> Any:
    """The CLI against the ``archive`` fixture's database and data dir."""
    monkeypatch.setenv("ALEJANDRIA_DATABASE_URL", alejandria_database_url)
    monkeypatch.setenv("ALEJANDRIA_DATA_DIR", str(archive.settings.data_dir))
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_cli_dry_run_then_json(
    run: Any, archive: Any, memory_source: Any, count: Any
) -> None:
    sync_posts(archive, memory_source, {"p1": [("a", RED)], "p2": [("b", RED)]})
    make_legacy_duplicate(archive, "p2", "b", RED)
    before = snapshot(archive)

    dry = run("media", "dedup", "--dry-run")

    assert dry.exit_code == 0, dry.output
    assert "would merge media" in dry.output and "would remove" in dry.output
    assert snapshot(archive) == before

    result = run("media", "dedup", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["dry_run"] is False
    assert [m["post_media"] for m in report["merged"]] == [1]
    assert set(report) >= {"merged", "removed", "restored", "unknown_orphans", "mismatched",
                           "missing", "failed", "bytes_freed", "rows_checked"}
    assert count(archive, "media_files") == 1

    archive.media.path_for(sha(RED)).write_bytes(b"corrupt")
    broken = run("media", "dedup", "--json")
    assert broken.exit_code == 1
    assert json.loads(broken.output)["mismatched"][0]["actual"] == sha(b"corrupt")


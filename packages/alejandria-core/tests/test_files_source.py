"""The built-in ``files`` source: one post per file, folder as collection, bytes stored once."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from alejandria.testing.contracts import SourceContract

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "media"
    (root / "trip").mkdir(parents=True)
    (root / "later").mkdir()
    (root / ".cache").mkdir()
    (root / "trip" / "beach.png").write_bytes(PNG)
    (root / "later" / "beach-copy.png").write_bytes(PNG)
    (root / "later" / "episode.mp3").write_bytes(b"ID3" + b"\x00" * 128)
    (root / ".cache" / "thumb.png").write_bytes(b"hidden")
    return root


class TestFilesSourceContract(SourceContract):
    source_name = "files"

    @pytest.fixture
    def contract_targets(self, folder) -> list[str]:
        return [str(folder)]


def test_one_post_per_file_folders_as_collections_bytes_once(archive, folder, count):
    report = archive.sync("files", folder)

    assert report.ok and report.posts_written == 3
    assert report.media_stored == 2 and report.media_reused == 1
    assert count(archive, "media_files") == 2 and count(archive, "post_media") == 3
    with archive.engine.connect() as conn:
        collections = conn.execute(text("SELECT title FROM collections ORDER BY title"))
        assert collections.scalars().all() == ["later", "trip"]
    stored = [p for p in archive.media.root.glob("??/??/*")]
    assert sorted(p.stat().st_size for p in stored) == [len(PNG), 131]


def test_touched_file_with_same_bytes_writes_nothing(archive, folder):
    archive.sync("files", folder)
    beach = folder / "trip" / "beach.png"
    os.utime(beach, ns=(beach.stat().st_atime_ns, beach.stat().st_mtime_ns + 10**9))

    again = archive.sync("files", folder)

    assert again.posts_written == 0 and again.media_stored == 0


def test_missing_path_is_one_clear_error(archive, tmp_path):
    report = archive.sync("files", tmp_path / "nope.jpg")
    assert [(e.message) for e in report.errors] == ["no such file"]


def test_synced_images_are_probed_and_get_thumbnails(archive, tmp_path):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (1200, 800), "teal").save(folder / "really-a-png.jpg", format="PNG")

    report = archive.sync("files", folder)

    assert report.ok and report.media_processed == 2  # probe + thumbnails
    with archive.engine.connect() as conn:
        row = conn.execute(text(
            "SELECT m.mime_type, m.width, m.height, d.result FROM media_files m "
            "JOIN media_derivatives d ON d.media_id = m.id AND d.processor = 'thumbnails'"
        )).one()
    assert (row.mime_type, row.width, row.height) == ("image/png", 1200, 800)
    sizes = {}
    for size, relative in row.result["thumbnails"].items():
        with Image.open(archive.settings.data_dir / relative) as thumb:
            sizes[size] = (thumb.format, thumb.size)
    assert sizes == {"150": ("WEBP", (150, 100)), "300": ("WEBP", (300, 200)),
                     "600": ("WEBP", (600, 400))}


def test_a_name_that_is_not_utf8_is_archived_with_the_rest(archive, tmp_path, count):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.png").write_bytes(PNG)
    odd = os.fsdecode(b"caf\xe9 \xff.mp3")  # Latin-1 bytes, as an old archive may hold
    (folder / odd).write_bytes(b"ID3" + b"\x01" * 64)
    twin = os.fsdecode(b"caf\xe9 \xfe.mp3")  # differs only in an undecodable byte
    (folder / twin).write_bytes(b"ID3" + b"\x02" * 64)

    report = archive.sync("files", folder)

    assert report.ok and report.posts_written == 3 and report.media_stored == 3
    with archive.engine.connect() as conn:
        titles = conn.execute(text("SELECT title FROM posts ORDER BY title")).scalars().all()
    assert titles == ["caf\\xe9 \\xfe", "caf\\xe9 \\xff", "good"]
    assert archive.sync("files", folder).posts_written == 0  # found again by the same names


def test_only_regular_files_are_read(archive, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    report = archive.sync("files", fifo, "/dev/zero")

    assert [e.message for e in report.errors] == [
        "not a regular file (a device, a pipe or a socket); only files are archived"] * 2


def test_a_pipe_or_a_broken_link_inside_a_folder_is_named_not_skipped(archive, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.png").write_bytes(PNG)
    os.mkfifo(folder / "pipe.png")
    (folder / "gone.png").symlink_to(folder / "nowhere.png")

    report = archive.sync("files", folder)

    assert sorted((e.subject, e.message) for e in report.errors) == [
        ("gone.png", "a link to a file that does not exist"),
        ("pipe.png", "not a regular file (a device, a pipe or a socket); only files are "
                     "archived")]
    assert report.posts_written == 1 and not report.ok


def test_a_file_that_changes_while_archived_is_not_stored_under_the_old_hash(
        archive, tmp_path, monkeypatch, count):
    from alejandria.sync import files_source

    folder = tmp_path / "moving"
    folder.mkdir()
    (folder / "draft.png").write_bytes(PNG)
    real_hash = files_source._hash
    # the file is rewritten right after the source hashed it
    monkeypatch.setattr(files_source, "_hash", lambda path, label: (
        real_hash(path, label), path.write_bytes(PNG + b"edited"))[0])

    report = archive.sync("files", folder)

    assert [n.message for n in report.notices] == [
        "the file changed while it was archived; the next sync archives it as it is then "
        "(retried on the next sync)"]
    assert count(archive, "media_files") == 0 and not list(archive.media.root.glob("??/??/*"))
    monkeypatch.setattr(files_source, "_hash", real_hash)
    again = archive.sync("files", folder)
    assert again.ok and again.media_stored == 1


@pytest.fixture
def locked(monkeypatch):
    """Folders named ``locked`` cannot be listed (as for another user's 0700 folder; the
    tests run as root, who may read anything, so the refusal is the operating system's
    answer put in place)."""
    real_scandir = os.scandir

    def scandir(path=".", *args, **kwargs):
        if os.path.basename(os.fspath(path)) == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_folder_is_named_never_skipped_silently(archive, tmp_path, locked):
    root = tmp_path / "library"
    (root / "locked").mkdir(parents=True)
    (root / "open").mkdir()
    (root / "open" / "a.png").write_bytes(PNG)

    inside = archive.sync("files", root)
    as_target = archive.sync("files", root / "locked")

    assert inside.posts_written == 1
    assert [(e.subject, e.message) for e in inside.errors] == [
        ("locked", "cannot read this folder (Permission denied); it was skipped")]
    assert not as_target.ok and as_target.targets == 1
    assert "cannot read this folder" in as_target.errors[0].message


def test_a_hit_on_a_post_without_text_shows_its_files_not_a_blank_line(archive, folder):
    archive.sync("files", folder)

    hits = archive.search("beach", mode="fulltext")
    episode = archive.search("episode", mode="fulltext")

    assert hits and all(hit.snippet.strip() for hit in hits)
    assert {hit.snippet.split(" · ")[0] for hit in hits} == {"image"}
    assert any("beach" in hit.snippet and "png" in hit.snippet for hit in hits)
    assert episode[0].snippet.startswith("audio · episode.mp3")

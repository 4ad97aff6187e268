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

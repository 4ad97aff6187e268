"""``archive.library.media`` / ``media_file`` / ``thumbnail``: what a file is, where its
bytes and thumbnails lie, and no path outside the data dir."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from alejandria.errors import InvalidRequest, MediaError, NotFound

from .conftest import READONLY, png


def _make_thumbnails(catalogue) -> None:
    report = catalogue.archive.process_media(processor="thumbnails")
    assert report.failed == [] and report.by_processor.get("thumbnails", 0) >= 2


def _set_thumbnails(catalogue, media_id: int, thumbnails: dict[str, str]) -> None:
    with catalogue.archive.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO media_derivatives (media_id, processor, version, status, result) "
            "VALUES (:m, 'thumbnails', '1', 'done', CAST(:r AS jsonb)) "
            "ON CONFLICT (media_id, processor) DO UPDATE SET result = excluded.result, "
            "status = 'done'"), {"m": media_id, "r": json.dumps({"thumbnails": thumbnails})})


def test_a_media_file_and_the_posts_that_hold_it(catalogue):
    cover = catalogue.media["img-1"]
    info = catalogue.library.media(cover, actor=READONLY)
    assert (info.id, info.kind, info.mime_type, info.size) == (cover, "image", "image/png",
                                                               len(png(color="teal")))
    assert [(p.id, p.title) for p in info.posts] == [
        (catalogue.posts["p01"], "Carta natal"), (catalogue.posts["p07"], "Mercurio")]
    assert info.thumbnails == () and info.has_transcript is False
    assert info.filename == "portada.png"
    data = json.loads(json.dumps(info.as_json()))
    assert set(data) == {"id", "sha256", "kind", "mime_type", "size", "width", "height",
                         "duration_s", "page_count", "first_seen_at", "filename",
                         "thumbnails", "has_transcript", "posts"}


def test_the_stored_file_is_found_by_its_hash(catalogue):
    cover = catalogue.media["img-1"]
    stored = catalogue.library.media_file(cover, actor=READONLY)
    assert stored.path.is_absolute() and stored.path.name == stored.info.sha256
    assert stored.path.resolve().is_relative_to(catalogue.archive.media.root.resolve())
    assert stored.path.read_bytes() == png(color="teal")
    assert "path" not in stored.as_json()


def test_a_file_missing_from_the_store_is_not_found(catalogue):
    stored = catalogue.library.media_file(catalogue.media["aud-1"])
    stored.path.unlink()
    with pytest.raises(NotFound, match="missing from the media store"):
        catalogue.library.media_file(catalogue.media["aud-1"])


def test_unknown_media_is_not_found(catalogue):
    for call in (catalogue.library.media, catalogue.library.media_file):
        with pytest.raises(NotFound, match="media 987654 not found"):
            call(987654)
    with pytest.raises(NotFound, match="media 987654 not found"):
        catalogue.library.thumbnail(987654, 150)


def test_no_thumbnail_before_one_was_made(catalogue):
    with pytest.raises(NotFound, match="no 300 px thumbnail"):
        catalogue.library.thumbnail(catalogue.media["img-1"], 300)
    with pytest.raises(NotFound, match="no 150 px thumbnail"):
        catalogue.library.thumbnail(catalogue.media["aud-1"], 150)


@pytest.mark.parametrize("size", [0, 100, 151, 1200, -150, "300", True])
def test_other_sizes_are_refused(catalogue, size):
    with pytest.raises(ValueError, match="thumbnail size"):
        catalogue.library.thumbnail(catalogue.media["img-1"], size)
    with pytest.raises(InvalidRequest):
        catalogue.library.thumbnail(catalogue.media["img-1"], size)


def test_thumbnails_once_made(catalogue):
    from PIL import Image

    _make_thumbnails(catalogue)
    cover = catalogue.media["img-1"]
    data_dir = catalogue.archive.settings.data_dir.resolve()
    for size in (150, 300, 600):
        path = catalogue.library.thumbnail(cover, size, actor=READONLY)
        assert path.is_absolute() and path.is_file() and path.is_relative_to(data_dir)
        with Image.open(path) as image:
            assert image.format == "WEBP" and image.size == (40, 30)  # never upscaled
    assert catalogue.library.media(cover).thumbnails == (150, 300, 600)
    [shown] = catalogue.library.post(catalogue.posts["p01"]).media
    assert shown.thumbnails == (150, 300, 600) and shown.width == 40


@pytest.mark.parametrize("recorded", [
    "../../../../../../../../etc/passwd",
    "derived/thumbnails/../../../outside.webp",
    "/etc/passwd",
    "derived",
    "derived/../media",  # inside the data dir, outside its derived files
])
def test_a_recorded_path_outside_the_data_dir_is_refused(catalogue, tmp_path, recorded):
    outside = tmp_path / "outside.webp"
    outside.write_bytes(b"not yours")
    cover = catalogue.media["img-1"]
    _set_thumbnails(catalogue, cover, {"150": recorded, "300": "derived/ok.webp"})
    with pytest.raises(MediaError, match="outside the data dir's derived/ files"):
        catalogue.library.thumbnail(cover, 150)


def test_a_symlink_out_of_the_data_dir_is_refused(catalogue, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    link = catalogue.archive.settings.data_dir / "derived" / "link.webp"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    cover = catalogue.media["img-1"]
    _set_thumbnails(catalogue, cover, {"150": "derived/link.webp"})
    with pytest.raises(MediaError, match="outside the data dir"):
        catalogue.library.thumbnail(cover, 150)


def test_another_file_of_the_data_dir_is_refused(catalogue):
    """A thumbnail row naming the stored file itself (or the credentials key) is refused."""
    cover = catalogue.media["img-1"]
    stored = catalogue.library.media_file(cover).path
    relative = stored.resolve().relative_to(catalogue.archive.settings.data_dir.resolve())
    _set_thumbnails(catalogue, cover, {"150": relative.as_posix()})
    with pytest.raises(MediaError, match="refused"):
        catalogue.library.thumbnail(cover, 150)


def test_a_recorded_thumbnail_whose_file_is_gone_is_not_found(catalogue):
    cover = catalogue.media["img-1"]
    _set_thumbnails(catalogue, cover, {"150": "derived/thumbnails/gone.webp", "300": ""})
    with pytest.raises(NotFound, match="missing"):
        catalogue.library.thumbnail(cover, 150)
    with pytest.raises(NotFound, match="no 300 px thumbnail"):
        catalogue.library.thumbnail(cover, 300)
    assert catalogue.library.media(cover).thumbnails == (150,)

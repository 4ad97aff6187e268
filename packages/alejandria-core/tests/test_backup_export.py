"""``export`` writes a plain folder people can read: names for humans, JSON and HTML."""

from __future__ import annotations

import json

import pytest

from alejandria.backup import BackupError
from alejandria.backup.export import export_archive, safe_name

from .backup_helpers import alejandria_settings_overrides, fill, sha  # noqa: F401 (fixture)


def test_export_writes_posts_and_media_with_readable_names(archive, memory_source, tmp_path):
    filled = fill(archive, memory_source)
    out = tmp_path / "export"

    report = export_archive(archive.context, out)

    assert (report.posts, report.files, report.missing) == (3, 4, 0)
    creator = out / "Ana Lucía notas 2024"  # ":" and "/" cannot be in a file name
    posts = sorted(path.name for path in creator.iterdir())
    assert posts == ["undated Carta natal primeros pasos", "undated Mercurio retrógrado",
                     "undated Un libro entero"]
    first = creator / "undated Carta natal primeros pasos"
    assert sorted(path.name for path in first.iterdir()) == [
        "canción.mp3", "portada.png", "post.html", "post.json"]
    assert (first / "canción.mp3").read_bytes() == filled.blobs["song"]
    data = json.loads((first / "post.json").read_text())
    assert data["title"] == "Carta natal: primeros pasos" and data["tags"] == ["astro"]
    assert data["collections"] == ["El libro"]
    assert [(m["file"], m["sha256"]) for m in data["media"]] == [
        ("portada.png", sha(filled.blobs["cover"])), ("canción.mp3", sha(filled.blobs["song"]))]
    page = (first / "post.html").read_text()
    assert "<b>natal</b>" in page and 'href="canción.mp3"' in page
    # a file shared by two posts is written once, linked from the second
    second = creator / "undated Mercurio retrógrado" / "portada.png"
    assert second.stat().st_ino == (first / "portada.png").stat().st_ino
    index = json.loads((out / "posts.json").read_text())
    assert {item["folder"] for item in index} == {
        f"Ana Lucía notas 2024/{name}" for name in posts}
    assert "Mercurio retrógrado" in (out / "index.html").read_text()


def test_export_refuses_a_folder_with_files(archive, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("keep me")
    with pytest.raises(BackupError, match="not empty"):
        export_archive(archive.context, tmp_path / "busy")


@pytest.mark.parametrize(("given", "expected"), [
    ("a/b\\c: d?", "a b c d"), ("  ..hidden.  ", "hidden"), ("CON.txt", "_CON.txt"),
    ("", "untitled"), ("\x1b[31mred\u202e", "[31mred"),
    ("x" * 150 + ".pdf", "x" * 96 + ".pdf"),
])
def test_safe_name(given, expected):
    assert safe_name(given) == expected

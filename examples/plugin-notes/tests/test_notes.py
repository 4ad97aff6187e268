"""The ``notes`` source against a real, migrated Postgres database.

``archive``, ``plugin_manager`` and ``register_plugin`` come from the ``alejandria.testing``
pytest plugin, which pytest loads by itself whenever alejandria-core is installed. ``archive``
runs on an embedded Postgres started once per session, or on the server named by
``ALEJANDRIA_TEST_DATABASE_URL``. ``reads`` reads back what a sync stored, as typed records.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest

from alejandria.api import Archive
from alejandria.testing import PluginManager, reads
from alejandria_notes import plugin
from alejandria_notes.source import title_of


@pytest.fixture
def notes(plugin_manager: PluginManager, register_plugin: Callable[..., None]) -> None:
    """Make the ``notes`` source available to ``archive``.

    When the package is installed, its entry point has already registered the plugin in
    ``plugin_manager``; otherwise register the module for this test only.
    """
    if "notes" not in plugin_manager.sources():
        register_plugin(plugin, name="notes")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder of notes: two to archive, three to leave alone."""
    garden = tmp_path / "garden"
    garden.mkdir()
    (garden / "tomatoes.md").write_text(
        "```sh\n# not the title: a shell comment\n```\n\n"
        "# Growing tomatoes\n\nWater the tomatoes every morning in summer.\n"
    )
    (garden / "compost.txt").write_text("Turn the compost heap once a week.\n")
    (garden / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a note")
    (garden / ".draft.md").write_text("# Hidden draft\n")
    (garden / ".obsidian").mkdir()
    (garden / ".obsidian" / "workspace.md").write_text("# Editor state\n")
    return garden


def titles(archive: Archive) -> list[str]:
    return sorted(post.title for post in reads.posts(archive))


def test_the_entry_point_registers_the_plugin(plugin_manager: PluginManager) -> None:
    try:
        metadata.distribution("alejandria-notes")
    except metadata.PackageNotFoundError:
        pytest.skip("alejandria-notes is not installed (pip install -e examples/plugin-notes)")

    info = next(info for info in plugin_manager.plugins() if info.name == "notes")

    assert info.package == "alejandria-notes" and info.error is None
    assert info.hooks == ["register_sources"]
    assert plugin_manager.source("notes").plugin == "notes"


def test_a_folder_becomes_a_collection_with_one_post_per_file(
    archive: Archive, notes: None, folder: Path
) -> None:
    report = archive.sync("notes", folder)

    assert report.ok, report.errors
    assert (report.targets, report.posts_written, report.collections_written) == (2, 2, 1)
    assert titles(archive) == ["Growing tomatoes", "compost"]
    (collection,) = reads.collections(archive)
    assert (collection.title, len(collection.posts)) == ("garden", 2)
    [hit] = archive.search("tomatoes")
    assert hit.title == "Growing tomatoes" and hit.source == "notes"


def test_a_second_sync_does_not_even_read_the_files(
    archive: Archive, notes: None, folder: Path
) -> None:
    archive.sync("notes", folder)

    again = archive.sync("notes", folder)

    assert again.ok and again.writes == 0
    assert (again.skipped_unchanged, again.posts_unchanged) == (2, 0)


def test_a_touched_file_is_read_again_but_nothing_is_rewritten(
    archive: Archive, notes: None, folder: Path
) -> None:
    archive.sync("notes", folder)
    note = folder / "compost.txt"
    stat = note.stat()
    os.utime(note, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    again = archive.sync("notes", folder)

    assert again.ok and again.writes == 0
    assert (again.skipped_unchanged, again.posts_unchanged) == (1, 1)


def test_an_edited_file_updates_its_post_in_place(
    archive: Archive, notes: None, folder: Path
) -> None:
    archive.sync("notes", folder)
    (before,) = [post.id for post in reads.posts(archive) if post.title == "compost"]
    (folder / "compost.txt").write_text("# Compost\n\nAdd dry leaves to the heap in autumn.\n")

    again = archive.sync("notes", folder)

    assert again.ok and again.posts_written == 1 and again.skipped_unchanged == 1
    (after,) = [post.id for post in reads.posts(archive) if post.title == "Compost"]
    assert after == before
    assert [hit.title for hit in archive.search("leaves")] == ["Compost"]


def test_a_bad_file_is_reported_and_the_others_are_archived(
    archive: Archive, notes: None, folder: Path
) -> None:
    (folder / "latin1.txt").write_bytes("Caf\xe9 con leche".encode("latin-1"))

    report = archive.sync("notes", folder, folder.parent / "missing.md")

    assert [(error.subject, error.message) for error in report.errors] == [
        ("garden/latin1.txt", "not UTF-8 text (a binary file, or another encoding)"),
        (str(folder.parent / "missing.md"), "no such file or folder"),
    ]
    assert titles(archive) == ["Growing tomatoes", "compost"]


def test_the_author_option_names_the_creator(
    archive: Archive, notes: None, folder: Path
) -> None:
    archive.sync("notes", folder)

    report = archive.sync("notes", folder, options={"author": "Ana"})

    assert report.posts_written == 2 and report.creators_written == 1
    assert {hit.creator for hit in archive.search("compost")} == {"Ana"}


@pytest.mark.parametrize(
    ("note", "title"),
    [
        ("# Title\n\nbody", "Title"),
        ("intro\n\n## Section\n\n# Real title #\n", "Real title"),
        ("```\n# comment\n```\n# After the code\n", "After the code"),
        ("~~~~\n```\n# still code\n~~~~\n# Out\n", "Out"),
        ("#hashtag, not a heading\n    # indented code\n", "fallback"),
        ("", "fallback"),
    ],
)
def test_the_title_is_the_first_level_one_heading(note: str, title: str) -> None:
    assert title_of(note, fallback="fallback") == title

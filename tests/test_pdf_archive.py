"""A newcomer's journey with PDFs: archive a folder, search it, re-sync, fix broken files."""

from __future__ import annotations

import re
import shutil

import pytest

from alejandria import Archive

from .conftest import REPO, write_book, write_scan, write_secret

pytestmark = pytest.mark.usefixtures("alejandria_database_url")


@pytest.mark.slow
def test_real_world_book_becomes_one_post_per_chapter_with_spaced_text(
        alejandria, real_world_pdf, tmp_path):
    shutil.copy(real_world_pdf, tmp_path / "devref.pdf")

    synced = alejandria("sync", "pdf", tmp_path / "devref.pdf", "--json")

    assert synced.returncode == 0, synced.stderr
    report = synced.json()
    assert report["ok"] and report["posts_written"] >= 10
    hits = alejandria("search", '"applying to become a member"', "--json").json()
    assert hits[0]["title"] == "Applying to Become a Member"
    assert hits[0]["creator"] == "Developer's Reference Team"
    # pypdf extracts this page's words glued together ("AcopyoftheGNUGeneralPublicLicense…");
    # a phrase query only matches when the words are really separated
    hits = alejandria("search", '"a copy of the GNU General Public License"', "--json").json()
    assert hits, "words glued together: the phrase is not searchable"
    assert hits[0]["page"] is not None
    assert not re.search(r"[A-Za-z]{30,}", hits[0]["snippet"])


@pytest.mark.slow
def test_spanish_query_without_accents_finds_the_accented_chapter_and_page(alejandria):
    assert alejandria("sync", "pdf", REPO / "examples" / "books").returncode == 0

    hits = alejandria("search", "casas astrologicas", "--json").json()

    best = hits[0]
    assert best["title"] == "Las casas astrológicas"
    assert best["creator"] == "Lucía Fernández"
    assert best["collection"] == "Astrología para principiantes"
    assert isinstance(best["page"], int) and best["page"] >= 1
    assert any(best["snippet"][a:b].lower().startswith("astrol") for a, b in best["highlights"])


@pytest.mark.slow
def test_resync_of_unchanged_files_changes_nothing(alejandria, alejandria_database_url):
    alejandria("sync", "pdf", REPO / "examples" / "books")
    before = alejandria("stats", "--json").json()

    again = alejandria("sync", "pdf", REPO / "examples" / "books", "--json").json()

    assert again["ok"]
    assert again["skipped_unchanged"] == again["targets"] == 3
    assert again["posts_written"] == again["creators_written"] == 0
    after = alejandria("stats", "--json").json()
    assert after.pop("jobs") == before.pop("jobs") + 1  # each run is recorded in jobs
    assert after == before


@pytest.mark.slow
def test_changed_file_updates_its_posts(tmp_path, alejandria):
    book = tmp_path / "diario.pdf"
    chapters = [("Primera parte", ["Llegamos al puerto al amanecer."]),
                ("Segunda parte", ["El mercado olía a naranjas."]),
                ("Tercera parte", ["Volvimos en tren."])]
    write_book(book, title="Diario", author="Ana", chapters=chapters)
    alejandria("sync", "pdf", book)

    write_book(book, title="Diario", author="Ana",
               chapters=[chapters[0], ("Segunda parte", ["El mercado olía a limones."])])
    report = alejandria("sync", "pdf", book, "--json").json()

    # both chapters left hold the new edition's file (the first one's text is the same)
    assert report["posts_written"] == 2 and report["posts_deleted"] == 1
    assert report["media_stored"] == 1
    assert alejandria("search", "naranjas", "--json").json() == []
    assert [h["title"] for h in alejandria("search", "limones", "--json").json()] == [
        "Segunda parte"]
    assert alejandria("stats", "--json").json()["posts"] == 2


@pytest.mark.slow
def test_broken_files_are_named_and_the_rest_is_archived(tmp_path, alejandria):
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_book(folder / "good.pdf", title="Bueno", author="Ana",
               chapters=[("Uno", ["Texto bueno."]), ("Dos", ["Más texto."])])
    good = (folder / "good.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(good[: len(good) // 2])
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "photo.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 200)
    write_book(folder / "also-good.pdf", title="También", author="Ana",
               chapters=[("Tres", ["Otro texto."])])
    write_secret(folder / "secret.pdf")
    write_scan(folder / "scan.pdf")

    result = alejandria("sync", "pdf", folder)

    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4
    assert any("secret.pdf" in line and "encrypted PDF" in line for line in errors)
    assert any("truncated.pdf" in line and "corrupt" in line for line in errors)
    assert any("empty.pdf" in line and "empty file" in line for line in errors)
    assert any("photo.pdf" in line and "not a PDF" in line for line in errors)
    assert "Traceback" not in result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "scan.pdf" in notes[0] and "no text layer" in notes[0]
    stats = alejandria("stats", "--json").json()
    assert stats["collections"] == 3 and stats["posts"] == 4


@pytest.mark.needs_model
def test_python_api_archives_and_searches(tmp_path, alejandria_database_url, plugin_manager):
    with Archive.open(database_url=alejandria_database_url, data_dir=tmp_path / "data",
                      plugins=plugin_manager) as archive:
        report = archive.sync("pdf", REPO / "examples" / "books")
        hits = archive.search("tránsitos y progresiones", source="pdf", limit=3)

    assert report.ok and report.posts_written > 10
    assert hits[0].title == "Tránsitos y progresiones"


@pytest.mark.slow
def test_embedded_images_are_stored_once_across_books(tmp_path, alejandria):
    folder = tmp_path / "books"
    folder.mkdir()
    for name in ("one", "two"):
        write_book(folder / f"{name}.pdf", title=name, author="Ana", image_seed=7,
                   chapters=[("Capítulo", [f"Texto de {name}."])])

    report = alejandria("sync", "pdf", folder, "--json").json()

    assert report["media_stored"] == 1 + 2  # the image once, and each book's own PDF
    stats = alejandria("stats", "--json").json()
    assert stats["media_files"] == 3 and stats["posts"] == 2


@pytest.mark.needs_model
@pytest.mark.slow
def test_a_paraphrase_finds_the_chapter_by_meaning_after_a_sync_that_embeds(
        alejandria, cli_env):
    """The default local embedder runs offline right after the sync; a sentence with no post
    holding all its words goes to hybrid search and still finds the chapter."""
    cli_env["ALEJANDRIA_EMBED_AFTER_SYNC"] = "true"
    synced = alejandria("sync", "pdf", REPO / "examples" / "books", "--json")
    assert synced.returncode == 0, synced.stderr
    status = alejandria("embed", "status", "--json").json()
    if "pgvector" in str(status.get("unavailable", "")):
        pytest.skip("this Postgres has no pgvector: semantic search is unavailable")
    assert synced.json()["chunks_embedded"] > 0

    query = "the day my starter stopped bubbling"
    assert alejandria("search", query, "--mode", "fulltext", "--json").json() == []
    hits = alejandria("search", query, "--json").json()
    assert hits[0]["title"] == "Keeping a sourdough starter"
    assert hits[0]["mode"] == "hybrid"
    status = alejandria("embed", "status", "--json").json()
    assert status["chunks_pending"] == 0 and status["serving_model"] == status["model"]


@pytest.mark.slow
def test_the_same_book_in_two_folders_is_one_book_and_a_move_keeps_its_posts(
        tmp_path, alejandria):
    chapters = [("Primera parte", ["Llegamos al puerto al amanecer."]),
                ("Segunda parte", ["El mercado olía a naranjas."])]
    for folder in ("descargas", "biblioteca"):
        (tmp_path / folder).mkdir()
    write_book(tmp_path / "descargas" / "diario.pdf", title="Diario", author="Ana",
               chapters=chapters)
    shutil.copy(tmp_path / "descargas" / "diario.pdf", tmp_path / "biblioteca" / "Diario.pdf")

    first = alejandria("sync", "pdf", tmp_path / "descargas", "--json").json()
    second = alejandria("sync", "pdf", tmp_path / "biblioteca", "--json").json()

    assert first["posts_written"] == 2
    assert second["ok"] and second["posts_written"] == 0 and second["posts_unchanged"] == 2
    stats = alejandria("stats", "--json").json()
    assert stats["collections"] == 1 and stats["posts"] == 2
    (hit,) = alejandria("search", "naranjas", "--json").json()
    assert hit["title"] == "Segunda parte"

    (tmp_path / "descargas" / "diario.pdf").rename(tmp_path / "biblioteca" / "viaje.pdf")
    moved = alejandria("sync", "pdf", tmp_path / "biblioteca", "--json").json()

    assert moved["ok"] and moved["posts_written"] == moved["posts_deleted"] == 0
    assert alejandria("stats", "--json").json()["posts"] == 2
    assert [h["post_id"] for h in alejandria("search", "naranjas", "--json").json()] == [
        hit["post_id"]]

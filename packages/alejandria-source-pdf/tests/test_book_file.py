"""The book's own PDF is kept: stored once, held by each chapter as its original, its text
indexed once (as the chapters' pages), re-synced for free, replaced by a new edition."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from alejandria import Archive
from alejandria.models import ORIGINAL_ROLE
from alejandria.storage.passages import SKIPPED_AS_ORIGINAL
from alejandria.testing import reads

if TYPE_CHECKING:
    from conftest import SamplePdfs


def book_links(archive: Archive) -> list[Any]:
    """(post external id, media id, filename) of every chapter's original, by post."""
    with archive.engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT p.external_id, pm.media_id, pm.filename FROM post_media pm "
            "JOIN posts p ON p.id = pm.post_id WHERE pm.role = :role ORDER BY p.id"),
            {"role": ORIGINAL_ROLE}).all())


def derivative(archive: Archive, media_id: int, processor: str) -> Any:
    with archive.engine.connect() as conn:
        return conn.execute(text(
            "SELECT status, error, result FROM media_derivatives "
            "WHERE media_id = :id AND processor = :processor"),
            {"id": media_id, "processor": processor}).one()


def attachment_chunks(archive: Archive) -> int:
    with archive.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM chunks WHERE media_id IS NOT NULL")).scalar_one())


def test_every_chapter_holds_the_books_pdf_stored_once(
    archive: Archive, pdfs: SamplePdfs
) -> None:
    report = archive.sync("pdf", pdfs.book)

    assert report.ok, report.errors
    assert report.notices == []  # a skipped extraction is no failure
    links = book_links(archive)
    posts = reads.posts(archive)
    assert [link.external_id for link in links] == [post.external_id for post in posts]
    assert len(posts) == 4 and {link.filename for link in links} == {"manual.pdf"}
    (media_id,) = {link.media_id for link in links}  # one file, however many chapters
    assert report.media_stored == 1
    stored = archive.library.media_file(media_id)
    assert stored.path.read_bytes() == pdfs.book.read_bytes()
    assert (stored.info.mime_type, stored.info.kind) == ("application/pdf", "document")
    # probed and drawn like any PDF; not extracted: the chapters hold its text already
    assert stored.info.page_count == 7
    assert derivative(archive, media_id, "thumbnails").result["thumbnails"]
    extract = derivative(archive, media_id, "extract")
    assert (extract.status, extract.error, extract.result) == (
        "done", None, {"extractor": None, "skipped": SKIPPED_AS_ORIGINAL})
    assert reads.passages(archive) == [] and attachment_chunks(archive) == 0
    # a chapter with no picture of its own shows its book's first page as its cover
    covers = {post.cover_media_id for post in archive.library.posts(limit=10).items
              if post.image_count == 0}
    assert covers == {media_id}


def test_a_phrase_on_one_page_finds_only_the_chapter_holding_it(
    archive: Archive, pdfs: SamplePdfs
) -> None:
    archive.sync("pdf", pdfs.book)

    hits = archive.search("palabra partida", mode="fulltext")

    assert [(hit.title, hit.page, hit.media_id) for hit in hits] == [
        ("Capítulo 2: La carta natal", 4, None)]
    # every page of the book is one chunk of one chapter, none a second time
    assert len(reads.chunks(archive)) == len({(c.post, c.page) for c in reads.chunks(archive)})


def test_a_resync_of_the_unchanged_book_changes_nothing(
    archive: Archive, pdfs: SamplePdfs, tmp_path: Path
) -> None:
    path = tmp_path / "book.pdf"
    shutil.copy(pdfs.book, path)
    archive.sync("pdf", path)
    before = reads.table_counts(archive)
    links = book_links(archive)

    again = archive.sync("pdf", path)
    touched = path.stat()
    path.touch()  # a new mtime, the same bytes: only the checkpoint moves
    assert path.stat().st_mtime_ns != touched.st_mtime_ns
    once_more = archive.sync("pdf", path)

    for report in (again, once_more):
        assert report.ok and report.writes == 0, report
        assert (report.posts_written, report.media_stored, report.media_reused,
                report.media_processed) == (0, 0, 0, 0)
    assert again.skipped_unchanged == 1
    assert reads.table_counts(archive) == before
    assert book_links(archive) == links


def test_a_new_edition_of_the_book_replaces_its_file(
    archive: Archive, pdfs: SamplePdfs, tmp_path: Path, write_book: Callable[..., Path]
) -> None:
    path = tmp_path / "book.pdf"
    shutil.copy(pdfs.book, path)
    archive.sync("pdf", path)
    (old_id,) = {link.media_id for link in book_links(archive)}

    write_book(path, extra="Texto nuevo.")
    report = archive.sync("pdf", path)

    assert report.ok, report.errors
    assert report.media_stored == 1
    links = book_links(archive)
    (new_id,) = {link.media_id for link in links}
    assert new_id != old_id and len(links) == 4
    assert archive.library.media_file(new_id).path.read_bytes() == path.read_bytes()
    assert derivative(archive, new_id, "extract").result["skipped"] == SKIPPED_AS_ORIGINAL
    # the new text is found once per chapter that has it, never as the file's text
    hits = archive.search("texto nuevo", mode="fulltext", limit=50)
    assert sorted(hit.title for hit in hits) == [
        "Capítulo 1: Introducción", "Capítulo 2: La carta natal", "Capítulo 3: Tránsitos"]
    assert attachment_chunks(archive) == 0


def test_a_book_archived_before_its_file_was_kept_gets_it_on_its_next_sync(
    archive: Archive, pdfs: SamplePdfs
) -> None:
    archive.sync("pdf", pdfs.book)
    with archive.engine.begin() as conn:  # the archive as an earlier version left it
        conn.execute(text("DELETE FROM post_media"))
        conn.execute(text("DELETE FROM media_files"))
        conn.execute(text("UPDATE sync_cursors SET cursor = cursor - 'file_kept'"))
        conn.execute(text("UPDATE posts SET content_hash = md5(content_hash)"))  # no file
    posts = {post.external_id: post.id for post in reads.posts(archive)}

    report = archive.sync("pdf", pdfs.book)

    assert report.ok and report.media_stored == 1, report
    assert {post.external_id: post.id for post in reads.posts(archive)} == posts
    assert len(book_links(archive)) == 4 and reads.post_versions(archive) == []
    assert archive.sync("pdf", pdfs.book).writes == 0  # and then it is skipped again

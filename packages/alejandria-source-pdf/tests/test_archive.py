"""PDFs synced into a real archive, read back through ``alejandria.testing.reads``."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from alejandria import Archive
from alejandria.models import ORIGINAL_ROLE
from alejandria.testing import reads

if TYPE_CHECKING:
    from conftest import SamplePdfs


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_book_is_a_collection_of_chapter_posts_with_one_chunk_per_page(
    archive: Archive, pdfs: SamplePdfs, pdf_created: dt.datetime
) -> None:
    report = archive.sync("pdf", pdfs.book)

    assert report.ok, report.errors
    (cursor,) = reads.sync_cursors(archive)
    book = "sha256:" + cursor.cursor["sha256"]  # a book is named by its bytes
    (creator,) = reads.creators(archive)
    assert (creator.source, creator.external_id, creator.name) == (
        "pdf", "lucía fernández", "Lucía Fernández")
    (collection,) = reads.collections(archive)
    assert (collection.external_id, collection.title, collection.creator) == (
        book, "Manual de prueba", "lucía fernández")
    assert collection.metadata["page_count"] == 7
    posts = reads.posts(archive)
    assert collection.posts == tuple(post.external_id for post in posts)
    assert [post.title for post in posts] == [
        "Front matter", "Capítulo 1: Introducción", "Capítulo 2: La carta natal",
        "Capítulo 3: Tránsitos",
    ]
    assert [post.collections for post in posts] == [
        (reads.Membership(book, position),) for position in range(4)
    ]
    assert all(post.creator == "lucía fernández" and post.has_text for post in posts)
    assert all(post.published_at == pdf_created for post in posts)
    chapter = reads.post(archive, book + "#p4")
    assert chapter.metadata == {"first_page": 4, "last_page": 6, "book": "Manual de prueba"}
    assert "Un ejemplo de palabra partida." in chapter.content_text
    pages = reads.chunks(archive, chapter.external_id)
    assert [chunk.page for chunk in pages] == [4, 5, 6]
    assert chapter.content_text == "\n\n".join(chunk.text for chunk in pages)
    # the checkpoint is the path's; it names the book the path holds
    assert cursor.scope == "file:" + str(pdfs.book.resolve())
    assert cursor.cursor["book"] == book
    assert cursor.cursor["sha256"] == collection.metadata["sha256"]
    # the book's own PDF is the one file: stored once, held by every chapter as its original
    (book_file,) = reads.media_files(archive)
    assert (book_file.sha256, book_file.kind, book_file.mime_type, book_file.page_count) == (
        cursor.cursor["sha256"], "document", "application/pdf", 7)
    assert book_file.keys == (("pdf", "sha256:" + book_file.sha256),)
    assert [(link.post, link.role, link.filename, link.sha256)
            for link in reads.media_links(archive)] == [
        (post.external_id, ORIGINAL_ROLE, "manual.pdf", book_file.sha256) for post in posts]


def test_embedded_images_are_stored_once_and_linked_in_page_order(
    archive: Archive, pdfs: SamplePdfs, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.pdf"  # another book (other bytes) with the same images
    copy.write_bytes(pdfs.images.read_bytes() + b"\n% a second edition\n")

    report = archive.sync("pdf", pdfs.images, copy)

    assert report.ok, report.errors
    first, second = ([link for link in reads.media_links(archive, post.external_id)
                      if link.role != ORIGINAL_ROLE] for post in reads.posts(archive))
    assert [(m.filename, m.position, m.role, m.kind, m.mime_type) for m in first] == [
        ("page1-img1.png", 0, "embedded", "image", "image/png"),
        ("page3-img1.png", 1, "embedded", "image", "image/png"),
        ("page4-img1.jpg", 2, "embedded", "image", "image/jpeg"),
    ]
    assert [m.sha256 for m in second] == [m.sha256 for m in first]  # the same files, once
    files = [f for f in reads.media_files(archive) if f.kind == "image"]
    assert [f.sha256 for f in files] == [m.sha256 for m in first]
    books = [f for f in reads.media_files(archive) if f.kind != "image"]
    assert sorted(f.sha256 for f in books) == sorted(
        sha256(path) for path in (pdfs.images, copy))  # each book's own PDF
    assert all(archive.media.verify(f.sha256) for f in files)
    assert all(f.keys == (("pdf", "sha256:" + f.sha256),) for f in files)
    assert (first[0].width, first[0].height) == (100, 80)  # probed after the sync


def test_a_scanned_book_is_stored_without_text_and_flagged(
    archive: Archive, pdfs: SamplePdfs
) -> None:
    report = archive.sync("pdf", pdfs.scanned)

    assert report.ok, report.errors
    (post,) = reads.posts(archive)
    assert (post.title, post.has_text, post.content_text) == ("Escaneado", False, "")
    assert not any(chunk.text for chunk in reads.chunks(archive))  # the title, at most
    assert [link.filename for link in reads.media_links(archive)] == [
        "page1-img1.png", "page2-img1.png", "page3-img1.png", "scanned.pdf"]
    assert any("no text layer" in notice.message for notice in report.notices)


def test_a_changed_book_updates_its_posts_in_place_and_keeps_the_old_text(
    archive: Archive, pdfs: SamplePdfs, tmp_path: Path, write_book: Callable[..., Path]
) -> None:
    path = tmp_path / "book.pdf"
    shutil.copy(pdfs.book, path)
    archive.sync("pdf", path)
    before = {post.external_id: post for post in reads.posts(archive)}
    (old_cursor,) = reads.sync_cursors(archive)

    write_book(path, extra="Texto nuevo.")
    report = archive.sync("pdf", path)

    assert report.ok, report.errors
    after = {post.external_id: post for post in reads.posts(archive)}
    assert after.keys() == before.keys()
    assert all(after[key].id == before[key].id for key in after)
    # every chapter now holds the new edition's file; those whose text changed keep the old
    changed = [key for key in after if after[key].content_text != before[key].content_text]
    assert changed and all("Texto nuevo." in after[key].content_text for key in changed)
    (new_file,) = {link.sha256 for link in reads.media_links(archive)}
    assert new_file == sha256(path)
    versions = reads.post_versions(archive)
    assert sorted(version.post for version in versions) == sorted(changed)
    assert all("Texto nuevo." not in version.content_text for version in versions)
    (cursor,) = reads.sync_cursors(archive)
    assert cursor.cursor["sha256"] != old_cursor.cursor["sha256"]


def test_a_file_that_is_not_a_pdf_is_reported_and_only_its_error_is_stored(
    archive: Archive, pdfs: SamplePdfs
) -> None:
    report = archive.sync("pdf", pdfs.text_named_pdf)

    assert not report.ok
    assert [error.message for error in report.errors] == ["not a PDF file"]
    counts = reads.table_counts(archive)
    assert counts["posts"] == counts["collections"] == counts["media_files"] == 0
    (cursor,) = reads.sync_cursors(archive)  # the error is kept with the file's scope
    assert (cursor.scope, cursor.cursor, cursor.last_error) == (
        "file:" + str(pdfs.text_named_pdf.resolve()), {}, "not a PDF file")

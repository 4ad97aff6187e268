"""``archive.library.pages``: a post's text page by page (a PDF chapter, an attached
document), the very text a highlight on a page is anchored in."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from alejandria.accounts.personal import highlights
from alejandria.errors import NotFound
from alejandria.library import documents
from alejandria.models import Checkpoint, ChunkIn, CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.storage.passages import Passage, attach, store_passages

from .conftest import READONLY

PDF = b"%PDF-1.4\n% not a real book, its passages are stored by hand\n"


@pytest.fixture
def book(archive: Any, memory_source: Any) -> dict[str, int]:
    """A chapter of two pages (page 3 twice: two chunks), a post with an attached PDF, and a
    post with no pages."""
    memory_source.blobs["doc"] = PDF
    memory_source.content["t"] = [
        CreatorIn(external_id="ana", name="Ana"),
        PostIn(external_id="chapter", creator_external_id="ana", title="Capítulo 1",
               text="Página dos.\n\nPágina tres, arriba.\n\nPágina tres, abajo.",
               chunks=(ChunkIn(text="Página tres, arriba.", page=3),
                       ChunkIn(text="Página dos.", page=2),
                       ChunkIn(text="Página tres, abajo.", page=3))),
        PostIn(external_id="with-pdf", creator_external_id="ana", title="Con PDF",
               text="Un PDF adjunto.",
               media=(MediaIn(key="doc", filename="libro.pdf", mime_type="application/pdf",
                              kind=MediaKind.DOCUMENT),)),
        PostIn(external_id="plain", creator_external_id="ana", title="Sin páginas",
               text="Nada más."),
        Checkpoint(),
    ]
    assert archive.sync("memory", "t").ok
    with archive.engine.begin() as conn:
        ids: dict[str, int] = dict(conn.execute(text(
            "SELECT external_id, id FROM posts")).all())
        media_id = conn.execute(text("SELECT media_id FROM post_media WHERE key = 'doc'")
                                ).scalar_one()
        store_passages(conn, media_id, [Passage("Primera hoja del PDF.", 1, "simple"),
                                        Passage("Segunda hoja del PDF.", 2, "simple")])
        attach(conn, media_id)
    return {**ids, "media": media_id}


def test_a_chapter_reads_page_by_page_in_order(archive: Any, book: dict[str, int]) -> None:
    pages = archive.library.pages(book["chapter"], actor=READONLY)

    assert [(page.page, page.text, page.media_ids) for page in pages] == [
        (2, "Página dos.", ()),
        (3, "Página tres, arriba.\n\nPágina tres, abajo.", ()),
    ]
    assert pages[1].as_json() == {"page": 3, "text": pages[1].text, "media_ids": []}


def test_an_attached_document_reads_with_the_file_it_came_from(archive: Any,
                                                               book: dict[str, int]) -> None:
    pages = archive.library.pages(book["with-pdf"])

    assert [(page.page, page.text, page.media_ids) for page in pages] == [
        (1, "Primera hoja del PDF.", (book["media"],)),
        (2, "Segunda hoja del PDF.", (book["media"],)),
    ]


def test_a_page_is_the_text_its_highlights_are_anchored_in(archive: Any,
                                                           book: dict[str, int]) -> None:
    assert documents.PAGE_JOIN == highlights.PAGE_JOIN
    with archive.engine.connect() as conn:
        for post in ("chapter", "with-pdf"):
            for page in archive.library.pages(book[post]):
                assert highlights.page_text(conn, book[post], page.page) == page.text


def test_no_pages_and_unknown_posts(archive: Any, book: dict[str, int]) -> None:
    assert archive.library.pages(book["plain"]) == []
    with pytest.raises(NotFound, match="post 987654"):
        archive.library.pages(987654)

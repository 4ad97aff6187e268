"""Documents any source stores become searchable through a registered extractor: found by
their words with their page, extracted once however many posts hold them, kept across post
edits, dropped with the link, failures reported without failing the sync."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from alejandria import hookimpl
from alejandria.errors import MediaError
from alejandria.models import (
    ORIGINAL_ROLE,
    Availability,
    Checkpoint,
    ChunkIn,
    CreatorIn,
    MediaIn,
    PostIn,
)
from alejandria.plugin_types import ExtractorSpec
from alejandria.search.embedding.select import embedder_name
from alejandria.storage.passages import FIRST_ORDINAL, SKIPPED_AS_ORIGINAL, attach

#: Pages are separated by form feeds, as ``pdftotext`` writes them.
MANUAL = (b"Unboxing the telescope and fitting the tripod.\f"
          b"Collimate the secondary mirror before observing the Andromeda galaxy.\f"
          b"\f"
          b"Store the eyepieces in a dry drawer.")
LEAFLET = b"Opening hours of the lighthouse museum: weekends only."
LOCKED = b"LOCKED: this document cannot be read"


class PagedText:
    """A small plain-text extractor: one passage per form-feed page, empty pages skipped."""

    calls: list[str] = []
    edition = ""

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def availability(self) -> Availability:
        return Availability.yes()

    def extract(self, path: Path, media: dict[str, Any]) -> list[ChunkIn]:
        PagedText.calls.append(media["sha256"])
        content = path.read_text()
        if content.startswith("LOCKED"):
            raise MediaError("password-protected document: save an unlocked copy")
        return [ChunkIn(text=page + PagedText.edition, page=number)
                for number, page in enumerate(content.split("\f"), start=1) if page.strip()]


class PagedTextPlugin:
    @hookimpl
    def register_extractors(self) -> list[ExtractorSpec]:
        return [ExtractorSpec(name="paged-text", mime_types=frozenset({"text/plain"}),
                              factory=PagedText)]


@pytest.fixture
def docs(memory_source, register_plugin, archive):
    """The archive with the extractor registered and the memory source's blobs in place."""
    PagedText.calls = []
    PagedText.edition = ""
    register_plugin(PagedTextPlugin(), name="paged-text")
    memory_source.blobs = {"manual": MANUAL, "leaflet": LEAFLET, "locked": LOCKED,
                           "book.epub": _epub()}
    return archive


def _epub() -> bytes:
    """The smallest file the probe tells is an EPUB (a document no extractor here reads)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("chapter.xhtml", "<p>Nothing extracts this.</p>")
    return buffer.getvalue()


def _post(eid: str, title: str, body: str, *files: str) -> PostIn:
    media = tuple(MediaIn(key=key, filename=key if "." in key else f"{key}.txt")
                  for key in files)
    return PostIn(external_id=eid, creator_external_id="ana", title=title, text=body,
                  media=media)


def sync(archive: Any, memory_source: Any, *posts: PostIn) -> Any:
    memory_source.content["t"] = [CreatorIn(external_id="ana", name="Ana"), *posts,
                                  Checkpoint()]
    report = archive.sync("memory", "t")
    assert report.ok, report.errors
    return report


def found(archive: Any, query: str, mode: str = "fulltext") -> dict[str, Any]:
    """Hits by post title."""
    return {hit.title: hit for hit in archive.search(query, mode=mode)}


def attachment_chunks(archive: Any) -> list[Any]:
    with archive.engine.connect() as conn:
        return conn.execute(text(
            "SELECT c.id, p.external_id AS post, c.ordinal, c.page, c.kind, c.heading, c.text "
            "FROM chunks c JOIN posts p ON p.id = c.post_id WHERE c.media_id IS NOT NULL "
            "ORDER BY p.external_id, c.ordinal")).all()


def extract_result(archive: Any, filename: str) -> Any:
    with archive.engine.connect() as conn:
        return conn.execute(text(
            "SELECT d.status, d.error, d.result, m.mime_type FROM media_derivatives d "
            "JOIN media_files m ON m.id = d.media_id "
            "WHERE d.processor = 'extract' AND m.id IN "
            "(SELECT media_id FROM post_media WHERE filename = :f)"), {"f": filename}).one()


def test_a_post_is_found_by_its_documents_words_with_the_page(docs, memory_source):
    sync(docs, memory_source,
         _post("kit", "What came in the box", "A short note.", "manual", "leaflet"),
         _post("other", "Gardening", "Nothing about telescopes or mirrors."))

    hit = found(docs, "collimate secondary mirror")["What came in the box"]

    assert hit.page == 2
    assert "Andromeda" in hit.snippet
    assert found(docs, "lighthouse museum")["What came in the box"].page == 1
    assert "Gardening" not in found(docs, "collimate mirror")
    # each document's pages in order (the empty one skipped), after the post's own chunks
    by_text = {c.text: (c.ordinal, c.page, c.kind) for c in attachment_chunks(docs)}
    manual = [by_text[page] for page in MANUAL.decode().split("\f") if page]
    assert [page for _, page, _ in manual] == [1, 2, 4]
    assert [ordinal for ordinal, _, _ in manual] == list(range(manual[0][0], manual[0][0] + 3))
    assert sorted(ordinal for ordinal, _, _ in by_text.values()) == list(
        range(FIRST_ORDINAL, FIRST_ORDINAL + 4))
    assert {kind for _, _, kind in by_text.values()} == {"attachment"}
    assert extract_result(docs, "manual.txt").mime_type == "text/plain"  # the probe kept it
    assert extract_result(docs, "manual.txt").result["passages"] == 3


def test_the_same_document_in_another_post_is_extracted_once(docs, memory_source):
    sync(docs, memory_source, _post("kit", "What came in the box", "", "manual"))
    sync(docs, memory_source, _post("kit", "What came in the box", "", "manual"),
         _post("faq", "Frequently asked", "Questions from patrons.", "manual"))

    assert len(PagedText.calls) == 1
    hits = found(docs, "andromeda galaxy")
    assert set(hits) == {"What came in the box", "Frequently asked"}
    assert {hit.page for hit in hits.values()} == {2}
    assert len(attachment_chunks(docs)) == 6  # 3 pages for each post, not more


def test_editing_the_post_keeps_its_documents_text(docs, memory_source):
    sync(docs, memory_source, _post("kit", "What came in the box", "First draft.", "manual"))
    sync(docs, memory_source,
         _post("kit", "Telescope kit contents", "Rewritten from scratch.", "manual"))

    assert "Telescope kit contents" in found(docs, "dry drawer eyepieces")
    assert "Telescope kit contents" in found(docs, "rewritten scratch")
    assert "Telescope kit contents" not in found(docs, "first draft")
    # the attachment chunks carry the new title, weighted as the post's own chunks do
    assert {c.heading for c in attachment_chunks(docs)} == {"Telescope kit contents"}
    assert len(attachment_chunks(docs)) == 3
    assert len(PagedText.calls) == 1


def test_a_post_that_drops_the_document_loses_its_text(docs, memory_source):
    sync(docs, memory_source, _post("kit", "What came in the box", "", "manual", "leaflet"))
    sync(docs, memory_source, _post("kit", "What came in the box", "", "leaflet"))

    assert found(docs, "andromeda") == {}
    assert "What came in the box" in found(docs, "lighthouse")
    assert [c.text for c in attachment_chunks(docs)] == [LEAFLET.decode()]


def test_a_document_no_extractor_reads_is_processed_with_nothing_extracted(docs, memory_source):
    report = sync(docs, memory_source,
                  _post("ebook", "An ebook", "Chapter one inside.", "book.epub"))

    assert report.notices == []
    row = extract_result(docs, "book.epub")
    assert (row.status, row.error, row.result, row.mime_type) == (
        "done", None, {"extractor": None}, "application/epub+zip")
    assert attachment_chunks(docs) == [] and PagedText.calls == []
    assert docs.process_media().processed == 0  # and it is not tried again


def test_an_extractor_error_fails_the_file_with_its_reason_and_the_sync_goes_on(
        docs, memory_source):
    report = sync(docs, memory_source,
                  _post("secret", "Locked notes", "", "locked"),
                  _post("kit", "What came in the box", "", "manual"))

    (notice,) = [n for n in report.notices if n.subject.startswith("extract: ")]
    assert notice.message == "password-protected document: save an unlocked copy"
    row = extract_result(docs, "locked.txt")
    assert (row.status, row.error) == ("failed", notice.message)
    assert "What came in the box" in found(docs, "andromeda")
    assert [c.post for c in attachment_chunks(docs)] == ["kit"] * 3


def test_process_media_reruns_neither_duplicate_nor_keep_stale_text(docs, memory_source):
    sync(docs, memory_source, _post("kit", "What came in the box", "", "manual"),
         _post("faq", "Frequently asked", "", "manual"))
    before = attachment_chunks(docs)
    forget_extraction = text("DELETE FROM media_derivatives WHERE processor = 'extract'")

    with docs.engine.begin() as conn:
        conn.execute(forget_extraction)
    assert docs.process_media(processor="extract").processed == 1
    assert docs.process_media().processed == 0
    assert attachment_chunks(docs) == before  # the same rows: their embeddings stay

    PagedText.edition = " Second edition."  # the file now reads differently
    with docs.engine.begin() as conn:
        conn.execute(forget_extraction)
    docs.process_media(processor="extract")

    after = attachment_chunks(docs)
    assert len(after) == len(before)
    assert all(c.text.endswith("Second edition.") for c in after)
    assert set(found(docs, "second edition")) == {"What came in the box", "Frequently asked"}


def test_text_of_a_deleted_media_row_is_dropped_by_the_next_sync(docs, memory_source):
    """A link removed while the after-sync step could not run, then its file collected: the
    chunks lose their media (the foreign key sets NULL) and the next sync removes them."""
    sync(docs, memory_source, _post("kit", "What came in the box", "", "manual"))
    with docs.engine.begin() as conn:
        conn.execute(text("DELETE FROM post_media"))
        conn.execute(text("DELETE FROM media_files"))

    sync(docs, memory_source, _post("note", "A new note", "Unrelated."))

    assert attachment_chunks(docs) == []
    assert found(docs, "andromeda") == {}


def test_merging_duplicate_rows_of_a_document_keeps_its_text_on_every_post(docs, memory_source):
    """``media dedup`` merges an older-layout row (an upper-case hash) that was extracted too:
    the kept row's passages serve both posts, once each."""
    sync(docs, memory_source, _post("kit", "What came in the box", "", "manual"),
         _post("faq", "Frequently asked", "", "manual"))
    upper = hashlib.sha256(MANUAL).hexdigest().upper()
    legacy_file = docs.media.path_for(upper)
    legacy_file.parent.mkdir(parents=True, exist_ok=True)
    legacy_file.write_bytes(MANUAL)
    with docs.engine.begin() as conn:
        legacy = conn.execute(text(
            "INSERT INTO media_files (sha256, kind, mime_type, size, first_seen_at) "
            "SELECT :upper, kind, mime_type, size, first_seen_at - interval '1 year' "
            "FROM media_files RETURNING id"), {"upper": upper}).scalar_one()
        conn.execute(text(
            "UPDATE post_media SET media_id = :legacy FROM posts "
            "WHERE posts.id = post_media.post_id AND posts.external_id = 'faq'"),
            {"legacy": legacy})
        conn.execute(text("INSERT INTO media_passages "
                          "SELECT :legacy, ordinal, page, text, ts_config FROM media_passages"),
                     {"legacy": legacy})
        attach(conn)  # 'faq' now holds the legacy row's copy of the text

    report = docs.dedup_media()

    assert report.failed == [] and len(report.merged) == 1
    assert set(found(docs, "andromeda")) == {"What came in the box", "Frequently asked"}
    assert sorted(c.post for c in attachment_chunks(docs)) == ["faq"] * 3 + ["kit"] * 3


@pytest.mark.needs_model
def test_semantic_search_finds_document_passages_after_embed_backfill(docs, memory_source):
    if not docs.capabilities().vector_installed:
        pytest.skip("this Postgres has no pgvector")
    if embedder_name(docs.settings, docs.plugins) is None:
        pytest.skip("no local embedder installed (pip install 'alejandria-core[embed]')")
    sync(docs, memory_source,
         _post("kit", "Box contents", "Photos of the parcel.", "manual"),
         _post("bread", "Sourdough", "Feed the starter with flour and water every day."))

    embedded = docs.embed_backfill()

    assert embedded.chunks == 2 + 3  # the posts' own chunks and the manual's three pages
    hit = docs.search("aligning the mirrors of a telescope to look at a galaxy",
                      mode="semantic")[0]
    assert (hit.title, hit.page, hit.mode) == ("Box contents", 2, "semantic")
    assert hit.media_id is not None


# -- originals: files whose text the source gave as the posts' own -----------------------------


def _chapter(eid: str, title: str, page: int, role: str = ORIGINAL_ROLE) -> PostIn:
    """A chapter of the manual as a book source yields it: its page as its own chunk, and the
    manual itself as the file it was read from."""
    text_of_page = MANUAL.decode().split("\f")[page - 1]
    return PostIn(external_id=eid, creator_external_id="ana", title=title, text=text_of_page,
                  chunks=(ChunkIn(text=text_of_page, page=page),),
                  media=(MediaIn(key="manual", filename="manual.txt", role=role),))


def test_a_document_only_originals_hold_is_kept_but_not_extracted(docs, memory_source):
    report = sync(docs, memory_source, _chapter("c1", "Chapter one", 1),
                  _chapter("c2", "Chapter two", 2))

    assert report.notices == [] and report.media_stored == 1
    assert PagedText.calls == []  # never read: its text is the chapters' own
    row = extract_result(docs, "manual.txt")
    assert (row.status, row.error, row.result) == (
        "done", None, {"extractor": None, "skipped": SKIPPED_AS_ORIGINAL})
    assert attachment_chunks(docs) == []
    # a page's words find its chapter alone, once, at that page
    (hit,) = docs.search("collimate secondary mirror", mode="fulltext")
    assert (hit.title, hit.page, hit.media_id) == ("Chapter two", 2, None)
    assert docs.process_media().processed == 0  # and it is not tried again


def test_a_post_attaching_an_original_gets_its_text_and_the_chapters_do_not(
        docs, memory_source):
    chapters = (_chapter("c1", "Chapter one", 1), _chapter("c2", "Chapter two", 2))
    sync(docs, memory_source, *chapters)

    sync(docs, memory_source, *chapters, _post("kit", "What came in the box", "", "manual"))

    assert len(PagedText.calls) == 1  # the skip was reopened by the new link, then read once
    assert extract_result(docs, "manual.txt").result["passages"] == 3
    assert {c.post for c in attachment_chunks(docs)} == {"kit"}
    assert set(found(docs, "collimate secondary mirror")) == {
        "What came in the box", "Chapter two"}
    assert docs.process_media().processed == 0


def test_a_document_attached_first_is_not_attached_to_posts_made_from_it(docs, memory_source):
    sync(docs, memory_source, _post("kit", "What came in the box", "", "manual"))
    assert [c.post for c in attachment_chunks(docs)] == ["kit"] * 3

    sync(docs, memory_source, _post("kit", "What came in the box", "", "manual"),
         _chapter("c2", "Chapter two", 2), _chapter("c3", "Chapter three", 3,
                                                      role="attachment"))
    assert sorted({c.post for c in attachment_chunks(docs)}) == ["c3", "kit"]

    # the chapter that attached the file holds it as its original now: it loses the copies
    sync(docs, memory_source, _post("kit", "What came in the box", "", "manual"),
         _chapter("c2", "Chapter two", 2), _chapter("c3", "Chapter three", 3))

    assert {c.post for c in attachment_chunks(docs)} == {"kit"}
    assert set(found(docs, "collimate secondary mirror")) == {
        "What came in the box", "Chapter two"}
    assert len(PagedText.calls) == 1

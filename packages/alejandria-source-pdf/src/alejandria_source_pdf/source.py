"""The ``pdf`` source: local PDF files become a book (collection) with one post per chapter."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from alejandria.errors import ItemRejected
from alejandria.models import (
    Checkpoint,
    ChunkIn,
    CollectionIn,
    CollectionRef,
    CreatorIn,
    Expect,
    JsonDict,
    MediaIn,
    MediaKind,
    Notice,
    PostIn,
    Prune,
    SyncItem,
    SyncTarget,
)
from alejandria.plugin_types import BaseSource, SourceContext
from alejandria_source_pdf.chapters import Section, plan_sections
from alejandria_source_pdf.extract import PageContent
from alejandria_source_pdf.identity import BooksSeen, content_name, previous_name
from alejandria_source_pdf.metadata import (
    book_title,
    clean_author,
    creator_key,
    parse_pdf_date,
)
from alejandria_source_pdf.original import book_file, open_book_file
from alejandria_source_pdf.reader import reader_for
from alejandria_source_pdf.settings import DEFAULT_PAGES_PER_POST as DEFAULT_PAGES_PER_POST
from alejandria_source_pdf.settings import source_settings

NO_TEXT_NOTICE = "no text layer (scanned?): archived, but its text is not searchable"
PDF_MAGIC = b"%PDF-"
#: The PDF header may follow some junk; readers accept it within the first 1024 bytes.
MAGIC_WINDOW = 1024
READ_SIZE = 1 << 20
#: An image XObject's dictionary entry (whitespace between the names is allowed).
IMAGE_XOBJECT = re.compile(rb"/Subtype\s*/Image(?![A-Za-z0-9])")
IMAGE_XOBJECT_SPAN = 64
#: In a checkpoint: the book's own file is stored with its chapters. A checkpoint without it
#: (written before the source kept the file) has its book read once more, to store the file.
FILE_KEPT = "file_kept"


class PdfSource(BaseSource):
    """Archives local PDF files: ``alejandria sync pdf FILE_OR_FOLDER...``.

    Each file is a collection (the book) by its author; each outline chapter (or window of
    ``pages_per_post`` pages when there is no outline) is a post with one chunk per page, the
    images of its pages, and the book's PDF itself (see ``original``), stored once.
    Files are parsed in a worker process with the memory and time limits of ``PdfSettings``
    (see ``isolation``): a file that overruns them is rejected, the others go on. A book is
    known by its content, not its path (see ``identity``): copies and moves are one book.
    """

    def __init__(self, context: SourceContext) -> None:
        self.context = context
        self.settings = source_settings(context)
        self.pages_per_post = self.settings.pages_per_post
        self.reader = reader_for(self.settings)
        self.books = BooksSeen()

    # -- targets -------------------------------------------------------------------------

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        """Files as given, folders searched recursively for ``*.pdf`` (any case), sorted.

        A path that does not exist still becomes a target, so the sync reports it.
        """
        seen: set[Path] = set()
        for target in targets:
            path = Path(target).expanduser().resolve()
            if path.is_dir():
                for found in _pdfs_under(path):
                    if found not in seen:
                        seen.add(found)
                        yield _sync_target(found, str(found.relative_to(path)))
            elif path not in seen:
                seen.add(path)
                yield _sync_target(path, target)

    # -- fetching ------------------------------------------------------------------------

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        """Yield the book, its chapters and a checkpoint, or nothing when the file is unchanged.

        ``cursor`` is ``{"sha256", "size", "mtime_ns", "book", "file_kept"}`` from the last
        checkpoint: the same size and mtime means unchanged without reading; the same bytes
        under a new mtime only move the checkpoint. Which book the file is, and so the ids of
        its collection and posts, is decided by content first (see ``identity``): a copy of a
        book met earlier in this sync is not read again, only checkpointed as that book. A
        checkpoint without ``file_kept`` predates keeping the book's file: the book is read
        once more, so that its chapters get the file (their text is the same).
        """
        path = Path(target.locator)
        subject = str(path)
        previous = previous_name(cursor, path)
        stat = _stat_file(path, subject)
        file_kept = bool(cursor and cursor.get(FILE_KEPT))
        if _same_stat(cursor, stat) and file_kept:
            if cursor and previous:
                self.books.add(str(cursor["sha256"]), previous, path)
            return
        if stat.st_size == 0:
            raise ItemRejected(subject, "empty file (0 bytes)")
        sha256, has_images = _hash_pdf(path, subject)
        same_bytes = previous is not None and cursor is not None and cursor["sha256"] == sha256
        unchanged = same_bytes and file_kept
        copy_of = None if unchanged else self.books.get(sha256)
        if copy_of is not None and same_bytes and copy_of.name != previous:
            copy_of = None  # the same bytes as another book: this path's book stays its own
        book = copy_of.name if copy_of else previous or content_name(sha256)
        checkpoint = Checkpoint(cursor={
            "sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "book": book,
            FILE_KEPT: True})
        if copy_of is not None:
            # Targets are written in order, so the book met earlier is committed before this
            # checkpoint; were its write to fail, this path is checkpointed without it, and
            # the book is written when the earlier file is synced again.
            yield Notice(message=f"a copy of {copy_of.path}: archived once, as the same book")
        elif not unchanged:
            yield from self._read_book(path, subject, sha256, has_images, book)
        self.books.add(sha256, book, path)
        yield checkpoint

    def _read_book(self, path: Path, subject: str, sha256: str, has_images: bool,
                   collection_id: str) -> Iterator[SyncItem]:
        """Read the whole book, then yield it.

        Everything is extracted before the first item is yielded, so a page that fails halfway
        rejects the file before any of it reaches the pipeline; the price is one book's text
        and images in memory (PDFium pages themselves are closed page by page). Images left out
        on purpose (too large to decode) become notices naming their page.
        """
        with self.reader.open(path, subject, find_images=has_images) as book:
            info = book.metadata()
            title = book_title(info.get("Title"), path)
            author = clean_author(info.get("Author"))
            creator_id = creator_key(author)
            sections = plan_sections(book.outline(), book.page_count, self.pages_per_post, title)
            post_factory = _PostFactory(
                collection_id=collection_id,
                creator_id=creator_id,
                book_title=title,
                published_at=parse_pdf_date(info.get("CreationDate")),
                path=path,
                sha256=sha256,
            )
            # Read every page first: images are encoded in the background meanwhile.
            read = [(section, [book.page(number) for number in section.pages])
                    for section in sections]
            posts: list[PostIn] = []
            notes: list[str] = []
            for section, pages in read:
                notes.extend(note for page in pages for note in page.notes)
                if section.front_matter and not any(p.text or p.pending_images for p in pages):
                    continue
                posts.append(post_factory.build(section, pages, position=len(posts)))
            del read
            page_count = book.page_count

        has_text = any(post.has_text for post in posts)
        yield CreatorIn(external_id=creator_id, name=author)
        yield CollectionIn(
            external_id=collection_id,
            creator_external_id=creator_id,
            title=title,
            description=info.get("Subject", "").strip() or None,
            metadata={
                "path": str(path),
                "sha256": sha256,
                "page_count": page_count,
                "producer": info.get("Producer"),
                "creator_tool": info.get("Creator"),
                "has_text": has_text,
            },
        )
        yield Expect(posts=len(posts))  # for the sync's progress: "0/12 posts"
        yield from posts
        yield Prune(
            collection_external_id=collection_id, keep=tuple(p.external_id for p in posts)
        )
        for note in notes:
            yield Notice(message=note)
        if not has_text:
            yield Notice(message=NO_TEXT_NOTICE)

    # -- media ---------------------------------------------------------------------------

    def open_media(self, media: MediaIn) -> contextlib.AbstractContextManager[BinaryIO]:
        """The book's PDF, streamed from its file (images travel in ``MediaIn.data``)."""
        return open_book_file(media)


class _PostFactory:
    """Builds the posts of one book; holds what all its posts share."""

    def __init__(
        self,
        *,
        collection_id: str,
        creator_id: str,
        book_title: str,
        published_at: datetime | None,
        path: Path,
        sha256: str,
    ) -> None:
        self.collection_id = collection_id
        self.creator_id = creator_id
        self.book_title = book_title
        self.published_at = published_at
        self.path = path
        self.sha256 = sha256

    def build(self, section: Section, pages: Sequence[PageContent], position: int) -> PostIn:
        texts = [page for page in pages if page.text]
        images = tuple(_post_media(pages))
        return PostIn(
            # Keyed by start page, not title or text, so a corrected re-export keeps its ids.
            external_id=f"{self.collection_id}#p{section.first_page}",
            creator_external_id=self.creator_id,
            title=section.title,
            text="\n\n".join(page.text for page in texts),
            chunks=tuple(ChunkIn(text=page.text, page=page.number) for page in texts),
            collections=(CollectionRef(external_id=self.collection_id, position=position),),
            published_at=self.published_at,
            has_text=bool(texts),
            media=(*images, book_file(self.path, self.sha256, position=len(images))),
            metadata={
                "first_page": section.first_page,
                "last_page": section.last_page,
                "book": self.book_title,
            },
        )


def _post_media(pages: Iterable[PageContent]) -> Iterator[MediaIn]:
    """The embedded images of a post's pages, each distinct image once."""
    seen: set[str] = set()
    for page in pages:
        for page_image in page.images():
            image = page_image.image
            if image.key in seen:
                continue
            yield MediaIn(
                key=image.key,
                data=image.data,
                filename=f"page{page.number}-img{page_image.index}.{image.extension}",
                mime_type=image.mime_type,
                kind=MediaKind.IMAGE,
                role="embedded",
                position=len(seen),
                metadata={"page": page.number},
            )
            seen.add(image.key)


# -- files ---------------------------------------------------------------------------------


def _sync_target(path: Path, label: str) -> SyncTarget:
    return SyncTarget(scope="file:" + str(path), label=label, locator=str(path))


def _pdfs_under(folder: Path) -> list[Path]:
    found = (
        Path(root) / name
        for root, _dirs, files in os.walk(folder)
        for name in files
        if Path(name).suffix.lower() == ".pdf"
    )
    return sorted(path for path in found if path.is_file())


def _stat_file(path: Path, subject: str) -> os.stat_result:
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise ItemRejected(subject, "no such file") from exc
    except OSError as exc:
        raise ItemRejected(subject, f"cannot read file: {exc.strerror or exc}") from exc
    if not path.is_file():
        raise ItemRejected(subject, "not a file")
    return stat


def _same_stat(cursor: JsonDict | None, stat: os.stat_result) -> bool:
    """The file has the size and modification time it had at the last checkpoint."""
    if not cursor:
        return False
    return cursor.get("size") == stat.st_size and cursor.get("mtime_ns") == stat.st_mtime_ns


def _hash_pdf(path: Path, subject: str) -> tuple[str, bool]:
    """SHA-256 of the file, read once in 1 MiB blocks, and whether it may hold images.

    Image XObjects are streams, which PDF never stores inside compressed object streams, so
    their ``/Subtype /Image`` dictionaries are always readable in the raw bytes: a file
    without one has no image worth extracting, and its pages need not be searched for images
    (the slowest part of reading a text-only book). Rejects files that are not PDFs.
    """
    digest = hashlib.sha256()
    has_images = False
    tail = b""
    try:
        with path.open("rb") as stream:
            block = stream.read(READ_SIZE)
            if PDF_MAGIC not in block[:MAGIC_WINDOW]:
                raise ItemRejected(subject, "not a PDF file")
            while block:
                digest.update(block)
                if not has_images:
                    has_images = IMAGE_XOBJECT.search(tail + block) is not None
                    tail = block[-IMAGE_XOBJECT_SPAN:]
                block = stream.read(READ_SIZE)
    except FileNotFoundError as exc:
        raise ItemRejected(subject, "no such file") from exc
    except OSError as exc:
        raise ItemRejected(subject, f"cannot read file: {exc.strerror or exc}") from exc
    return digest.hexdigest(), has_images

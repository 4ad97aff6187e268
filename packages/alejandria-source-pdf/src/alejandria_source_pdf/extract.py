"""Everything that talks to PDFium: opening a document, its outline, page text and images.

One ``PdfBook`` opens the document once; ``scan()`` loads a page, extracts its text once,
walks its objects once for images (see ``images``), and closes it again, so PDFium's memory
stays flat on long books. PDFium errors never leave this module raw: opening and page failures
become ``ItemRejected`` and a broken image is skipped.

This module parses the file in the calling process: untrusted files are read through
``isolation``, whose worker process runs this same code under a memory and a time limit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from alejandria.errors import ItemRejected
from alejandria_source_pdf.chapters import OutlineEntry
from alejandria_source_pdf.images import (
    FoundImage,
    ImageCollector,
    ImageEncoder,
    ImageLimits,
    PageImage,
    PendingImage,
    SkippedImage,
    default_limits,
)
from alejandria_source_pdf.text import normalize_text

log = logging.getLogger(__name__)

MAX_OUTLINE_DEPTH = 15

ENCRYPTED_REASON = "encrypted PDF: it needs a password; save an unprotected copy to archive it"
CORRUPT_PREFIX = "corrupt or unreadable PDF"

_LOAD_ERRORS = {
    pdfium_c.FPDF_ERR_UNKNOWN: "PDFium cannot parse it",
    pdfium_c.FPDF_ERR_FILE: "PDFium could not open the file",
    pdfium_c.FPDF_ERR_FORMAT: "its structure is damaged (an incomplete download?)",
    pdfium_c.FPDF_ERR_PAGE: "its pages cannot be read",
}


#: What ``PdfBook.scan`` yields: the page's text first, then its images one by one.
PagePart = str | FoundImage | SkippedImage


@dataclass(frozen=True, slots=True)
class PageContent:
    """What one page holds: its clean text (maybe empty) and its embedded images.

    ``notes`` tell the user about images left out on purpose (too large to decode).
    """

    number: int
    text: str
    pending_images: tuple[PendingImage, ...]
    notes: tuple[str, ...] = ()

    def images(self) -> list[PageImage]:
        """The page's images, waiting for any still being encoded; failed ones are left out."""
        return [image for pending in self.pending_images if (image := pending.result())]


class PdfBook:
    """An open PDF document. Use as a context manager; ``subject`` names it in errors.

    ``find_images=False`` skips looking for embedded images (the caller knows there are none);
    ``image_limits`` bound the images that are decoded (default: the archive's pixel limit).
    """

    def __init__(self, path: Path, subject: str, *, find_images: bool = True,
                 image_limits: ImageLimits | None = None) -> None:
        self.path = path
        self.subject = subject
        self._find_images = find_images
        self._doc = _open_document(path, subject)
        self._images = ImageCollector(self._doc, subject, image_limits or default_limits())
        self._encoder = ImageEncoder()
        try:
            self.page_count: int = len(self._doc)
        except Exception:
            self.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release PDFium's document and stop encoding images nobody asked for yet."""
        self._encoder.close()
        self._doc.close()

    def metadata(self) -> dict[str, str]:
        """The document information dictionary (Title, Author, CreationDate, ...)."""
        try:
            info = self._doc.get_metadata_dict()
        except Exception as exc:  # noqa: BLE001 - metadata is optional, the text is not
            log.debug("%s: cannot read metadata: %s", self.subject, exc)
            return {}
        return {str(key): str(value) for key, value in info.items() if value}

    def outline(self) -> list[OutlineEntry]:
        """The bookmarks, depth first, with 1-based pages (None for broken destinations)."""
        entries: list[OutlineEntry] = []
        try:
            for item in self._doc.get_toc(max_depth=MAX_OUTLINE_DEPTH):
                entries.append(self._outline_entry(item))
        except Exception as exc:  # noqa: BLE001 - a broken outline only costs us the chapters
            log.debug("%s: cannot read the outline: %s", self.subject, exc)
        return entries

    def _outline_entry(self, item: Any) -> OutlineEntry:
        # pypdfium2 5 yields PdfBookmark objects, 4.x yielded PdfOutlineItem tuples.
        if hasattr(item, "get_title"):
            title = item.get_title()
            dest = item.get_dest()
            index = dest.get_index() if dest is not None else None
        else:
            title, index = item.title, item.page_index
        page = int(index) + 1 if index is not None and 0 <= index < self.page_count else None
        return OutlineEntry(level=int(item.level), title=str(title or ""), page=page)

    def page(self, number: int) -> PageContent:
        """Text and images of page ``number`` (1-based); images are encoded in the background."""
        parts = self.scan(number)
        text = str(next(parts))
        pending: list[PendingImage] = []
        notes: list[str] = []
        for part in parts:
            if isinstance(part, SkippedImage):
                notes.append(part.note)
            elif isinstance(part, FoundImage):
                owned = part if part.pixels is None else FoundImage(
                    part.index, part.key, pixels=part.pixels.owned())
                del part  # PDFium's buffer goes here, on PDFium's thread
                started = self._encoder.submit(owned)
                if started is not None:
                    pending.append(started)
        return PageContent(number=number, text=text, pending_images=tuple(pending),
                           notes=tuple(notes))

    def scan(self, number: int) -> Iterator[PagePart]:
        """Page ``number``'s clean text, then its images one by one (their pixels still in
        PDFium's buffers: use each before asking for the next). The page closes at the end."""
        try:
            page = self._doc[number - 1]
        except Exception as exc:
            raise ItemRejected(
                self.subject, f"{CORRUPT_PREFIX}: page {number} cannot be loaded ({exc})"
            ) from exc
        try:
            try:
                textpage = page.get_textpage()
                try:
                    raw_text = _page_text(textpage)
                finally:
                    textpage.close()
            except Exception as exc:
                raise ItemRejected(
                    self.subject, f"{CORRUPT_PREFIX}: the text of page {number} cannot be read"
                ) from exc
            yield normalize_text(raw_text)
            if self._find_images:
                yield from self._images.collect(page, number)
        finally:
            page.close()


def _open_document(path: Path, subject: str) -> Any:
    """Open with PDFium, turning its load errors into reasons a user can act on."""
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)  # pypdfium2 5; 4.x only has the message
        if code is None:
            code = pdfium_c.FPDF_GetLastError()
        if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise ItemRejected(subject, ENCRYPTED_REASON) from exc
        detail = _LOAD_ERRORS.get(code, "it has no readable pages")
        raise ItemRejected(subject, f"{CORRUPT_PREFIX}: {detail}") from exc
    except OSError as exc:
        raise ItemRejected(subject, f"cannot read file: {exc.strerror or exc}") from exc


def _page_text(textpage: Any) -> str:
    """All the text of a page in reading order, as PDFium extracts it.

    The range is explicit because pypdfium2 4.x redirects a call with default arguments to
    ``get_text_bounded()``, which yields different text than pypdfium2 5 does.
    """
    count = int(textpage.count_chars())
    return str(textpage.get_text_range(0, count)) if count > 0 else ""

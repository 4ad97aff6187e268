"""Everything that talks to PDFium: opening a document, its outline, page text and images.

One ``PdfBook`` opens the document once; ``page()`` loads a page, extracts its text once,
walks its objects once for images, and closes it again, so memory stays flat on long books.
PDFium errors never leave this module raw: opening and page failures become ``ItemRejected``
and a broken image is skipped.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
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
from alejandria_source_pdf.text import normalize_text

log = logging.getLogger(__name__)

#: Images smaller than this on either side (bullets, rules, logos' specks) are not media.
MIN_IMAGE_SIDE = 64
#: How deep to look into nested Form XObjects for images.
MAX_FORM_DEPTH = 4
MAX_OUTLINE_DEPTH = 15

ENCRYPTED_REASON = "encrypted PDF: it needs a password; save an unprotected copy to archive it"
CORRUPT_PREFIX = "corrupt or unreadable PDF"

_LOAD_ERRORS = {
    pdfium_c.FPDF_ERR_UNKNOWN: "PDFium cannot parse it",
    pdfium_c.FPDF_ERR_FILE: "PDFium could not open the file",
    pdfium_c.FPDF_ERR_FORMAT: "its structure is damaged (an incomplete download?)",
    pdfium_c.FPDF_ERR_PAGE: "its pages cannot be read",
}

#: (magic bytes, extension, MIME type) of what ``PdfImage.extract`` can write.
_IMAGE_FORMATS = (
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"II*\x00", "tiff", "image/tiff"),
    (b"MM\x00*", "tiff", "image/tiff"),
    (b"\x00\x00\x00\x0cjP  ", "jp2", "image/jp2"),
    (b"\xff\x4f\xff\x51", "j2k", "image/jp2"),
)


@dataclass(frozen=True, slots=True)
class PageImage:
    """An image embedded in a page, as encoded bytes. ``index`` is 1-based on its page."""

    key: str
    data: bytes
    extension: str
    mime_type: str
    index: int


@dataclass(frozen=True, slots=True)
class PageContent:
    """What one page holds: its clean text (maybe empty) and its embedded images."""

    number: int
    text: str
    images: tuple[PageImage, ...]


class PdfBook:
    """An open PDF document. Use as a context manager; ``subject`` names it in errors."""

    def __init__(self, path: Path, subject: str) -> None:
        self.path = path
        self.subject = subject
        self._doc = _open_document(path, subject)
        # The same image (a logo on every page) is decoded and re-encoded only once.
        self._image_cache: dict[tuple[bytes, int, int], tuple[bytes, str, str] | None] = {}
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
        self._image_cache.clear()
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
        """Text and images of page ``number`` (1-based)."""
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
                    raw_text = str(textpage.get_text_range())
                finally:
                    textpage.close()
            except Exception as exc:
                raise ItemRejected(
                    self.subject, f"{CORRUPT_PREFIX}: the text of page {number} cannot be read"
                ) from exc
            images = tuple(self._page_images(page, number))
        finally:
            page.close()
        return PageContent(number=number, text=normalize_text(raw_text), images=images)

    # -- images --------------------------------------------------------------------------

    def _page_images(self, page: Any, number: int) -> Iterator[PageImage]:
        index = 0
        try:
            raw_objects = list(_image_objects(page.raw))
        except Exception as exc:  # noqa: BLE001 - images are a bonus, never fail the book
            log.debug("%s: cannot list the images of page %d: %s", self.subject, number, exc)
            return
        for raw_object in raw_objects:
            try:
                extracted = self._extract_image(page, raw_object)
            except Exception as exc:  # noqa: BLE001 - one broken image must not fail the book
                log.debug("%s: skipping an image on page %d: %s", self.subject, number, exc)
                continue
            if extracted is None:
                continue
            data, extension, mime_type = extracted
            index += 1
            yield PageImage(
                key="sha256:" + hashlib.sha256(data).hexdigest(),
                data=data,
                extension=extension,
                mime_type=mime_type,
                index=index,
            )

    def _extract_image(self, page: Any, raw_object: Any) -> tuple[bytes, str, str] | None:
        """Encoded bytes of an image object, or None when it is too small to be content."""
        width, height = ctypes.c_uint(), ctypes.c_uint()
        if not pdfium_c.FPDFImageObj_GetImagePixelSize(raw_object, width, height):
            return None
        if width.value < MIN_IMAGE_SIDE or height.value < MIN_IMAGE_SIDE:
            return None
        cache_key = (_raw_image_digest(raw_object), width.value, height.value)
        if cache_key in self._image_cache:
            return self._image_cache[cache_key]
        image = pdfium.PdfObject(raw_object, page=page, pdf=self._doc)
        buffer = io.BytesIO()
        try:
            image.extract(buffer)
        except Exception as exc:  # noqa: BLE001 - fall back to the decoded bitmap
            log.debug("direct image extraction failed (%s); saving the bitmap as PNG", exc)
            buffer = io.BytesIO()
            image.get_bitmap().to_pil().save(buffer, format="PNG")
        data = buffer.getvalue()
        result = _identify(data)
        self._image_cache[cache_key] = result
        return result


def _open_document(path: Path, subject: str) -> Any:
    """Open with PDFium, turning its load errors into reasons a user can act on."""
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise ItemRejected(subject, ENCRYPTED_REASON) from exc
        detail = _LOAD_ERRORS.get(code, "it has no readable pages")
        raise ItemRejected(subject, f"{CORRUPT_PREFIX}: {detail}") from exc
    except OSError as exc:
        raise ItemRejected(subject, f"cannot read file: {exc.strerror or exc}") from exc


def _image_objects(parent: Any, form: bool = False, depth: int = 0) -> Iterator[Any]:
    """Raw image objects of a page, descending into Form XObjects.

    Uses PDFium's C API directly: wrapping every text and path object in a Python helper just
    to look at its type costs more than extracting the page's text.
    """
    count_objects = pdfium_c.FPDFFormObj_CountObjects if form else pdfium_c.FPDFPage_CountObjects
    get_object = pdfium_c.FPDFFormObj_GetObject if form else pdfium_c.FPDFPage_GetObject
    for i in range(max(int(count_objects(parent)), 0)):
        raw_object = get_object(parent, i)
        if not raw_object:
            continue
        kind = pdfium_c.FPDFPageObj_GetType(raw_object)
        if kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            yield raw_object
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth + 1 < MAX_FORM_DEPTH:
            yield from _image_objects(raw_object, form=True, depth=depth + 1)


def _raw_image_digest(raw_object: Any) -> bytes:
    """A digest of the image's still-encoded stream: equal streams are the same image."""
    size = int(pdfium_c.FPDFImageObj_GetImageDataRaw(raw_object, None, 0))
    buffer = (ctypes.c_ubyte * size)()
    pdfium_c.FPDFImageObj_GetImageDataRaw(raw_object, buffer, size)
    return hashlib.blake2b(memoryview(buffer), digest_size=16).digest()


def _identify(data: bytes) -> tuple[bytes, str, str] | None:
    if not data:
        return None
    for magic, extension, mime_type in _IMAGE_FORMATS:
        if data.startswith(magic):
            return data, extension, mime_type
    return data, "bin", "application/octet-stream"

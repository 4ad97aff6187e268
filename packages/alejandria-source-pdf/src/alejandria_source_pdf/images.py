"""Embedded images of a page: find them, copy or decode them, encode them off the main thread.

PDFium is not thread-safe, so everything that touches it (walking objects, copying streams,
decoding bitmaps) runs on the caller's thread. The slow part of a book with many figures is PNG
encoding; it runs in worker threads (Pillow releases the GIL while it encodes) while the caller
goes on reading pages. JPEG and JPEG 2000 streams are stored as they are, without re-encoding.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

log = logging.getLogger(__name__)

#: Images smaller than this on either side (bullets, rules, icons) are not media.
MIN_IMAGE_SIDE = 64
#: How deep to look into nested Form XObjects for images.
MAX_FORM_DEPTH = 4
MAX_WORKERS = 4

#: Filters that only wrap the image data (PDFium removes them for us).
_SIMPLE_FILTERS = frozenset(
    {"ASCIIHexDecode", "ASCII85Decode", "RunLengthDecode", "FlateDecode", "LZWDecode"}
)
#: Image codecs whose stream already is a file a browser can show: stored as they are.
_PASSTHROUGH = {"DCTDecode": ("jpg", "image/jpeg"), "JPXDecode": ("jp2", "image/jp2")}
#: PIL modes PNG can store; anything else (CMYK, RGBX, ...) is converted to RGB first.
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"})


@dataclass(frozen=True, slots=True)
class EncodedImage:
    """An image as a file: its bytes, their ``sha256:`` key, extension and MIME type."""

    key: str
    data: bytes
    extension: str
    mime_type: str


@dataclass(frozen=True, slots=True)
class PageImage:
    """An image of a page; ``index`` is its 1-based place among the page's images."""

    index: int
    image: EncodedImage


@dataclass(frozen=True, slots=True)
class PendingImage:
    """An image whose encoding may still be running; ``result()`` waits for it."""

    index: int
    future: Future[EncodedImage | None]

    def result(self) -> PageImage | None:
        try:
            encoded = self.future.result()
        except Exception as exc:  # noqa: BLE001 - one broken image must not fail the book
            log.debug("skipping an image that could not be encoded: %s", exc)
            return None
        return PageImage(self.index, encoded) if encoded is not None else None


class ImageCollector:
    """Collects the images of one document's pages; ``close()`` stops its worker threads."""

    def __init__(self, document: Any, subject: str) -> None:
        self._document = document
        self._subject = subject
        self._executor: ThreadPoolExecutor | None = None
        # The same image (a logo on every page) is decoded and encoded only once.
        self._by_stream: dict[tuple[bytes, int, int], Future[EncodedImage | None]] = {}

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._by_stream.clear()

    def collect(self, page: Any, number: int) -> tuple[PendingImage, ...]:
        """Start extracting the images of ``page``; failures skip the image, never the page."""
        try:
            raw_objects = list(_image_objects(page.raw))
        except Exception as exc:  # noqa: BLE001 - images are a bonus, never fail the book
            log.debug("%s: cannot list the images of page %d: %s", self._subject, number, exc)
            return ()
        pending: list[PendingImage] = []
        for raw_object in raw_objects:
            try:
                future = self._extract(page, raw_object)
            except Exception as exc:  # noqa: BLE001 - one broken image must not fail the book
                log.debug("%s: skipping an image on page %d: %s", self._subject, number, exc)
                continue
            if future is not None:
                pending.append(PendingImage(len(pending) + 1, future))
        return tuple(pending)

    def _extract(self, page: Any, raw_object: Any) -> Future[EncodedImage | None] | None:
        width, height = ctypes.c_uint(), ctypes.c_uint()
        if not pdfium_c.FPDFImageObj_GetImagePixelSize(raw_object, width, height):
            return None
        if width.value < MIN_IMAGE_SIDE or height.value < MIN_IMAGE_SIDE:
            return None
        image = pdfium.PdfObject(raw_object, page=page, pdf=self._document)
        complex_filters = [
            str(name) for name in image.get_filters() if name not in _SIMPLE_FILTERS
        ]
        if len(complex_filters) == 1 and complex_filters[0] in _PASSTHROUGH:
            extension, mime_type = _PASSTHROUGH[complex_filters[0]]
            done: Future[EncodedImage | None] = Future()
            done.set_result(_encoded(bytes(image.get_data(decode_simple=True)), extension,
                                     mime_type))
            return done
        stream_key = (_raw_stream_digest(raw_object), width.value, height.value)
        if stream_key not in self._by_stream:
            self._by_stream[stream_key] = self._workers().submit(_encode_png, _decode(image))
        return self._by_stream[stream_key]

    def _workers(self) -> ThreadPoolExecutor:
        if self._executor is None:
            workers = max(1, min(MAX_WORKERS, os.cpu_count() or 1))
            self._executor = ThreadPoolExecutor(workers, thread_name_prefix="pdf-images")
        return self._executor


def _image_objects(parent: Any, form: bool = False, depth: int = 0) -> list[Any]:
    """Raw image objects of a page, descending into Form XObjects.

    Uses PDFium's C API directly: wrapping every text and path object in a Python helper just
    to look at its type costs more than extracting the page's text.
    """
    count_objects = pdfium_c.FPDFFormObj_CountObjects if form else pdfium_c.FPDFPage_CountObjects
    get_object = pdfium_c.FPDFFormObj_GetObject if form else pdfium_c.FPDFPage_GetObject
    get_type = pdfium_c.FPDFPageObj_GetType
    found: list[Any] = []
    for i in range(max(int(count_objects(parent)), 0)):
        raw_object = get_object(parent, i)
        if not raw_object:
            continue
        kind = get_type(raw_object)
        if kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            found.append(raw_object)
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth + 1 < MAX_FORM_DEPTH:
            found.extend(_image_objects(raw_object, form=True, depth=depth + 1))
    return found


def _raw_stream_digest(raw_object: Any) -> bytes:
    """A digest of the image's still-encoded stream: equal streams are the same image."""
    size = int(pdfium_c.FPDFImageObj_GetImageDataRaw(raw_object, None, 0))
    buffer = (ctypes.c_ubyte * size)()
    pdfium_c.FPDFImageObj_GetImageDataRaw(raw_object, buffer, size)
    return hashlib.blake2b(memoryview(buffer), digest_size=16).digest()


def _decode(image: Any) -> Any:
    """The image as a PIL image that owns its pixels.

    ``to_pil()`` may share PDFium's buffer, which PDFium frees when the last reference goes.
    The copy travels to a worker thread; the bitmap and its buffer die here, on this thread.
    """
    bitmap = image.get_bitmap(render=False)
    shared = bitmap.to_pil()
    owned = shared.copy()
    del shared, bitmap
    return owned


def _encode_png(pil_image: Any) -> EncodedImage | None:
    """Runs in a worker thread: no PDFium here."""
    if pil_image.mode not in _PNG_MODES:
        pil_image = pil_image.convert("RGB")
    buffer = io.BytesIO()
    pil_image.save(buffer, format="PNG", compress_level=1)
    return _encoded(buffer.getvalue(), "png", "image/png")


def _encoded(data: bytes, extension: str, mime_type: str) -> EncodedImage | None:
    if not data:
        return None
    return EncodedImage("sha256:" + hashlib.sha256(data).hexdigest(), data, extension, mime_type)

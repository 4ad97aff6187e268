"""Embedded images of a page: find and decode them (PDFium), encode them (Pillow).

The two halves run in different places. ``ImageCollector`` touches PDFium, so it runs where
the document is open: in the worker process that parses untrusted PDFs (see ``isolation``),
or on the caller's thread (PDFium is not thread-safe). It refuses images too large to decode
before decoding them and hands out the decoded pixels as PDFium laid them out.
``ImageEncoder`` turns pixels into PNG files in worker threads (Pillow releases the GIL while
it encodes) while the caller goes on reading pages. JPEG and JPEG 2000 streams are stored as
they are, without re-encoding.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

log = logging.getLogger(__name__)

#: Images smaller than this on either side (bullets, rules, icons) are not media.
MIN_IMAGE_SIDE = 64
#: How deep to look into nested Form XObjects for images.
MAX_FORM_DEPTH = 4
MAX_WORKERS = 4
#: What one decoded image costs, a pixel: PDFium's bitmap (3-4 bytes) where it is decoded,
#: then the received pixels and Pillow's copy (3-4 bytes each) where it is encoded as PNG.
DECODE_BYTES_PER_PIXEL = 8
#: Decoded pixels waiting for an encoder thread, at most (one larger image still goes alone).
MAX_PENDING_PIXEL_BYTES = 256 << 20

#: Filters that only wrap the image data (PDFium removes them for us).
_SIMPLE_FILTERS = frozenset(
    {"ASCIIHexDecode", "ASCII85Decode", "RunLengthDecode", "FlateDecode", "LZWDecode"}
)
#: Image codecs whose stream already is a file a browser can show: stored as they are.
_PASSTHROUGH = {"DCTDecode": ("jpg", "image/jpeg"), "JPXDecode": ("jp2", "image/jp2")}
#: PIL modes PNG can store; anything else (CMYK, RGBX, ...) is converted to RGB first.
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"})
#: PDFium bitmap format -> (PIL mode of the image, PIL raw mode of PDFium's bytes).
_BITMAP_MODES = {
    pdfium_c.FPDFBitmap_Gray: ("L", "L"),
    pdfium_c.FPDFBitmap_BGR: ("RGB", "BGR"),
    pdfium_c.FPDFBitmap_BGRx: ("RGBX", "BGRX"),
    pdfium_c.FPDFBitmap_BGRA: ("RGBA", "BGRA"),
}
#: The (mode, raw mode) pairs decoded pixels come in, and the file types stored as they are:
#: what the parent accepts from the worker.
PIXEL_LAYOUTS = frozenset(_BITMAP_MODES.values())
FILE_TYPES = frozenset(_PASSTHROUGH.values())


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """The largest embedded image that is decoded; bigger ones are skipped with a note.

    ``max_pixels`` is the archive's limit for any image (core's ``MAX_IMAGE_PIXELS``);
    ``max_decode_bytes`` is what the reading process can afford (None: no limit).
    """

    max_pixels: int
    max_decode_bytes: int | None = None
    memory_setting: str = ""  # named in the note when max_decode_bytes refuses an image


def default_limits() -> ImageLimits:
    """The archive's pixel limit, no memory limit."""
    from alejandria.settings import MAX_IMAGE_PIXELS

    return ImageLimits(max_pixels=MAX_IMAGE_PIXELS)


@dataclass(frozen=True, slots=True)
class EncodedImage:
    """An image as a file: its bytes, their ``sha256:`` key, extension and MIME type."""

    key: str
    data: bytes
    extension: str
    mime_type: str


@dataclass(frozen=True, slots=True)
class Pixels:
    """Decoded pixels as PDFium lays them out: ``raw_mode`` rows of ``stride`` bytes.

    ``data`` may be PDFium's own buffer (``owned()`` copies it); ``mode`` is what Pillow
    makes of it.
    """

    width: int
    height: int
    stride: int
    mode: str
    raw_mode: str
    data: Any = field(repr=False)  # bytes, bytearray or a ctypes array

    @property
    def size(self) -> int:
        return self.stride * self.height

    def owned(self) -> Pixels:
        """A copy whose bytes no longer belong to PDFium."""
        return Pixels(self.width, self.height, self.stride, self.mode, self.raw_mode,
                      bytes(memoryview(self.data).cast("B")))

    def to_pil(self) -> Any:
        from PIL import Image

        return Image.frombuffer(self.mode, (self.width, self.height), self.data, "raw",
                                self.raw_mode, self.stride, 1)


@dataclass(frozen=True, slots=True)
class FoundImage:
    """An image of a page, ``index`` its 1-based place among the page's images.

    Exactly one of ``file`` (a stream stored as it is) and ``pixels`` (to encode as PNG) is
    set, or neither: then it is the same image as an earlier one with this ``key``.
    """

    index: int
    key: str
    file: EncodedImage | None = None
    pixels: Pixels | None = None


@dataclass(frozen=True, slots=True)
class SkippedImage:
    """An image left out on purpose; ``note`` says which and why, for the user."""

    note: str


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


# -- PDFium side ---------------------------------------------------------------------------


class ImageCollector:
    """Finds and decodes the images of one document's pages; each distinct one once."""

    def __init__(self, document: Any, subject: str, limits: ImageLimits) -> None:
        self._document = document
        self._subject = subject
        self._limits = limits
        # The same image (a logo on every page) is decoded only once.
        self._seen: set[str] = set()

    def collect(self, page: Any, number: int) -> Iterator[FoundImage | SkippedImage]:
        """The images of ``page``, one at a time: the caller is done with an image's pixels
        (PDFium's buffer) before asking for the next. Failures skip the image, never the page."""
        try:
            raw_objects = list(_image_objects(page.raw))
        except Exception as exc:  # noqa: BLE001 - images are a bonus, never fail the book
            log.debug("%s: cannot list the images of page %d: %s", self._subject, number, exc)
            return
        index = 0
        for raw_object in raw_objects:
            try:
                found = self._extract(page, raw_object, number, index + 1)
            except Exception as exc:  # noqa: BLE001 - one broken image must not fail the book
                log.debug("%s: skipping an image on page %d: %s", self._subject, number, exc)
                continue
            if found is None:
                continue
            if isinstance(found, FoundImage):
                index += 1
            yield found
            del found  # the caller is done with it: PDFium's buffer goes before the next decode

    def _extract(self, page: Any, raw_object: Any, number: int,
                 index: int) -> FoundImage | SkippedImage | None:
        width, height = ctypes.c_uint(), ctypes.c_uint()
        if not pdfium_c.FPDFImageObj_GetImagePixelSize(raw_object, width, height):
            return None
        if width.value < MIN_IMAGE_SIDE or height.value < MIN_IMAGE_SIDE:
            return None
        refused = self._refusal(width.value, height.value)
        if refused:
            note = (f"page {number}: skipped an embedded image of "
                    f"{width.value}\u00d7{height.value} pixels: {refused}")
            log.warning("%s: %s", self._subject, note)
            return SkippedImage(note)
        image = pdfium.PdfObject(raw_object, page=page, pdf=self._document)
        complex_filters = [
            str(name) for name in image.get_filters() if name not in _SIMPLE_FILTERS
        ]
        if len(complex_filters) == 1 and complex_filters[0] in _PASSTHROUGH:
            extension, mime_type = _PASSTHROUGH[complex_filters[0]]
            encoded = encoded_file(bytes(image.get_data(decode_simple=True)), extension, mime_type)
            return FoundImage(index, "", file=encoded) if encoded is not None else None
        key = f"{_raw_stream_digest(raw_object)}-{width.value}x{height.value}"
        if key in self._seen:
            return FoundImage(index, key)
        pixels = _decode(raw_object)
        self._seen.add(key)
        return FoundImage(index, key, pixels=pixels)

    def _refusal(self, width: int, height: int) -> str:
        """Why an image of this size is not decoded ("" when it is)."""
        pixels = width * height
        if pixels > self._limits.max_pixels:
            return f"more than the {self._limits.max_pixels:,} pixels an image may have"
        budget = self._limits.max_decode_bytes
        if budget is not None and pixels * DECODE_BYTES_PER_PIXEL > budget:
            needed = pixels * DECODE_BYTES_PER_PIXEL >> 20
            return (f"decoding it needs about {needed:,} MB, more than "
                    f"{self._limits.memory_setting or 'the memory limit'} allows")
        return ""


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


def _raw_stream_digest(raw_object: Any) -> str:
    """A digest of the image's still-encoded stream: equal streams are the same image."""
    size = int(pdfium_c.FPDFImageObj_GetImageDataRaw(raw_object, None, 0))
    buffer = (ctypes.c_ubyte * size)()
    pdfium_c.FPDFImageObj_GetImageDataRaw(raw_object, buffer, size)
    return hashlib.blake2b(memoryview(buffer), digest_size=16).hexdigest()


def _decode(raw_object: Any) -> Pixels:
    """The image's pixels, still in PDFium's buffer (freed when the last reference goes)."""
    bitmap = pdfium_c.FPDFImageObj_GetBitmap(raw_object)
    if not bitmap:
        raise ValueError("PDFium cannot decode the image")
    bitmap_format = int(pdfium_c.FPDFBitmap_GetFormat(bitmap))
    if bitmap_format not in _BITMAP_MODES:
        pdfium_c.FPDFBitmap_Destroy(bitmap)
        raise ValueError(f"unknown bitmap format {bitmap_format}")
    width = int(pdfium_c.FPDFBitmap_GetWidth(bitmap))
    height = int(pdfium_c.FPDFBitmap_GetHeight(bitmap))
    stride = int(pdfium_c.FPDFBitmap_GetStride(bitmap))
    mode, raw_mode = _BITMAP_MODES[bitmap_format]
    return Pixels(width, height, stride, mode, raw_mode, _bitmap_buffer(bitmap, stride * height))


def _bitmap_buffer(bitmap: Any, size: int) -> Any:
    """A ctypes array over a bitmap's buffer that destroys the bitmap when it is collected."""
    address = pdfium_c.FPDFBitmap_GetBuffer(bitmap)
    if not address:
        pdfium_c.FPDFBitmap_Destroy(bitmap)
        raise ValueError("PDFium gave no bitmap buffer")
    array = ctypes.cast(address, ctypes.POINTER(ctypes.c_ubyte * size)).contents
    weakref.finalize(array, pdfium_c.FPDFBitmap_Destroy, bitmap)
    return array


# -- Pillow side ---------------------------------------------------------------------------


class ImageEncoder:
    """Encodes one document's decoded images as PNG in worker threads; ``close()`` stops them.

    Decoded pixels wait for a thread with at most ``MAX_PENDING_PIXEL_BYTES`` queued, so a
    book full of figures read faster than it is encoded does not pile them up in memory.
    """

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._by_key: dict[str, Future[EncodedImage | None]] = {}
        self._pending = 0
        self._room = threading.Condition()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._by_key.clear()

    def submit(self, found: FoundImage) -> PendingImage | None:
        """Start encoding ``found`` (its pixels must be ``owned()``); None if unknown."""
        if found.file is not None:
            done: Future[EncodedImage | None] = Future()
            done.set_result(found.file)
            return PendingImage(found.index, done)
        if found.pixels is not None and found.key not in self._by_key:
            self._by_key[found.key] = self._encode_later(found.pixels)
        future = self._by_key.get(found.key)
        return PendingImage(found.index, future) if future is not None else None

    def _encode_later(self, pixels: Pixels) -> Future[EncodedImage | None]:
        size = pixels.size
        with self._room:
            self._room.wait_for(
                lambda: self._pending == 0 or self._pending + size <= MAX_PENDING_PIXEL_BYTES)
            self._pending += size
        try:
            return self._workers().submit(self._encode, pixels)
        except BaseException:
            self._release(size)
            raise

    def _encode(self, pixels: Pixels) -> EncodedImage | None:
        """Runs in a worker thread: no PDFium here."""
        try:
            return _encode_png(pixels.to_pil())
        finally:
            self._release(pixels.size)

    def _release(self, size: int) -> None:
        with self._room:
            self._pending -= size
            self._room.notify_all()

    def _workers(self) -> ThreadPoolExecutor:
        if self._executor is None:
            workers = max(1, min(MAX_WORKERS, os.cpu_count() or 1))
            self._executor = ThreadPoolExecutor(workers, thread_name_prefix="pdf-images")
        return self._executor


def _encode_png(pil_image: Any) -> EncodedImage | None:
    """Runs in a worker thread: no PDFium here."""
    if pil_image.mode not in _PNG_MODES:
        pil_image = pil_image.convert("RGB")
    buffer = io.BytesIO()
    pil_image.save(buffer, format="PNG", compress_level=1)
    return encoded_file(buffer.getvalue(), "png", "image/png")


def encoded_file(data: bytes, extension: str, mime_type: str) -> EncodedImage | None:
    """``data`` as a stored file, keyed by its SHA-256 (None when empty)."""
    if not data:
        return None
    return EncodedImage("sha256:" + hashlib.sha256(data).hexdigest(), data, extension, mime_type)

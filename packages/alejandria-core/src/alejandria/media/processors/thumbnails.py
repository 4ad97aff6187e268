"""The ``thumbnails`` processor: WebP previews at 150, 300 and 600 px on the longest side.

Images (the first frame of animated ones), the first page of PDFs (with pypdfium2) and a
poster frame of videos (with ``ffmpeg``) become ``150.webp``, ``300.webp`` and ``600.webp`` in
the processor's derived directory. Nothing is ever upscaled: a small image keeps its size.

Speed matters because archives hold thousands of camera photos. A JPEG is decoded once, at
the smallest libjpeg scale (1/2, 1/4 or 1/8) that still covers 600 px (``Image.draft``), and
the 300 and 150 px thumbnails are derived from the 600 px one instead of decoding again.
The image's size is checked from its header before anything is decoded, so decompression
bombs are refused without touching Pillow's process-wide limits.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alejandria.errors import MediaError
from alejandria.media.processors.pdfium_lock import PDFIUM_LOCK
from alejandria.media.processors.probe import (
    NATIVE_IMAGE_TYPES,
    TOOL_TIMEOUT_S,
    open_image,
    sniff_file,
)
from alejandria.models import Availability, JsonDict, MediaKind

if TYPE_CHECKING:
    from PIL import Image

    from alejandria.plugin_types import ProcessorContext

#: Longest side of each thumbnail, in pixels, biggest first (each is derived from the last).
SIZES = (600, 300, 150)
QUALITY = 85
#: libwebp's speed/size trade-off (0 fastest .. 6 smallest; Pillow's default is 4). At 600 px,
#: 2 encodes about 3× faster than 4 for files 2-4 % larger and 0.1-0.3 dB lower PSNR.
WEBP_METHOD = 2
#: The kinds this processor reads (documents: PDFs only; others are skipped).
ACCEPTS = frozenset({MediaKind.IMAGE, MediaKind.DOCUMENT, MediaKind.VIDEO})

_SHA256 = re.compile(r"[0-9a-f]{64}")
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError)
_SWAPPED_ORIENTATIONS = {5, 6, 7, 8}
_EXIF_ORIENTATION = 0x0112


class ThumbnailProcessor:
    """Writes WebP thumbnails of images, PDFs and videos.

    ``process`` returns ``{"thumbnails": {"150": path, "300": path, "600": path}, "width": w,
    "height": h}``, each path relative to ``settings.data_dir``; ``width``/``height`` are the
    source's size as displayed (after EXIF rotation; the video's frame size; absent for PDFs).
    It returns ``{}`` when there is nothing to draw or the tool for it is missing.
    """

    def __init__(self, context: ProcessorContext) -> None:
        self.context = context

    def availability(self) -> Availability:
        try:
            importlib.import_module("PIL.Image")
        except ImportError:
            return Availability.no("thumbnails need Pillow: pip install pillow")
        return Availability.yes()

    def process(self, path: Path, media: JsonDict) -> JsonDict:
        try:
            mime_type, kind = sniff_file(path)
        except OSError as exc:
            raise MediaError(f"cannot read media file {path.name}: {exc}") from exc
        result: JsonDict = {}
        if kind is MediaKind.IMAGE:
            preview = _image_preview(path, mime_type)
            if preview is None:
                return {}
            image, (width, height) = preview
            result = {"width": width, "height": height}
        elif mime_type == "application/pdf":
            pdf_page = _render_pdf_first_page(path, max(SIZES))
            if pdf_page is None:
                return {}
            image = pdf_page
        elif kind is MediaKind.VIDEO:
            poster = _video_poster(path, max(SIZES))
            if poster is None:
                return {}
            image, (width, height) = poster
            result = {"width": width, "height": height}
        else:
            return {}
        with image:
            thumbnails = self._write_thumbnails(image, _sha256_of(path, media))
        return {"thumbnails": thumbnails, **result}

    def _write_thumbnails(self, image: Image.Image, sha256: str) -> dict[str, str]:
        from PIL import Image

        directory = self.context.derived_dir(sha256)
        directory.mkdir(parents=True, exist_ok=True)
        written: dict[str, str] = {}
        current = image
        for limit in SIZES:
            size = fit_size(current.size, limit)
            if size != current.size:
                # Each step halves the last: a 2×2 box reduce, then a small Lanczos fix-up.
                current = current.resize(size, Image.Resampling.LANCZOS, reducing_gap=1.0)
            target = directory / f"{limit}.webp"
            _save_webp_atomically(current, target)
            written[str(limit)] = target.relative_to(self.context.settings.data_dir).as_posix()
        return dict(sorted(written.items(), key=lambda item: int(item[0])))


def _image_preview(path: Path, mime_type: str) -> tuple[Image.Image, tuple[int, int]] | None:
    """``load_preview`` at the biggest size; None for a HEIC/AVIF no installed plugin reads."""
    from PIL import UnidentifiedImageError

    try:
        return load_preview(path, mime_type, max(SIZES))
    except MediaError as exc:
        if mime_type not in NATIVE_IMAGE_TYPES and isinstance(
            exc.__cause__, UnidentifiedImageError
        ):
            return None
        raise


def fit_size(size: tuple[int, int], limit: int) -> tuple[int, int]:
    """``size`` scaled down so its longest side is ``limit``; unchanged if it already fits."""
    width, height = size
    longest = max(width, height)
    if longest <= limit:
        return size
    scale = limit / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def load_preview(path: Path, mime_type: str, limit: int) -> tuple[Image.Image, tuple[int, int]]:
    """Decode the image at ``path`` (its first frame) at no more than ``limit`` px on the
    longest side, upright per its EXIF orientation, in a mode WebP can store.

    Return the preview and the full image's displayed size. JPEGs are decoded at reduced
    scale by libjpeg. Raise ``MediaError`` for bombs and truncated or corrupt files.
    """
    from PIL import Image, ImageOps

    image = open_image(path, mime_type)  # header only; bombs already refused
    try:
        width, height = image.size
        if image.format == "JPEG":
            image.draft("RGB", _draft_box(width, height, limit))
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
        if orientation in _SWAPPED_ORIENTATIONS:
            width, height = height, width
        frame = _storable(image)
        # A drafted JPEG is already within 2× of the limit: bilinear (a triangle filter over
        # the whole footprint) is enough there. Other images are box-reduced first.
        resample = (
            Image.Resampling.BILINEAR if image.format == "JPEG" else Image.Resampling.BICUBIC
        )
        frame.thumbnail((limit, limit), resample, reducing_gap=2.0)
        upright = ImageOps.exif_transpose(frame)
        if upright is image:
            upright = image.copy()  # the file-backed image is closed below
        if frame is not image and upright is not frame:
            frame.close()
        return upright, (width, height)
    except _DECODE_ERRORS as exc:
        raise MediaError(f"truncated or corrupt image: {exc}") from exc
    finally:
        image.close()


def _draft_box(width: int, height: int, limit: int) -> tuple[int, int]:
    """The box a JPEG decoded at reduced scale must still cover: the image fitted to
    ``limit``, so libjpeg may pick its smallest scale whose longest side reaches ``limit``."""
    return fit_size((width, height), limit)


def _storable(image: Image.Image) -> Image.Image:
    """``image`` itself when it resizes well and WebP stores it, else an RGB(A) copy."""
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _save_webp_atomically(image: Image.Image, target: Path) -> None:
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            image.save(out, format="WEBP", quality=QUALITY, method=WEBP_METHOD)
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


def _sha256_of(path: Path, media: JsonDict) -> str:
    sha256 = media.get("sha256")
    if isinstance(sha256, str) and _SHA256.fullmatch(sha256):
        return sha256
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _render_pdf_first_page(path: Path, limit: int) -> Image.Image | None:
    """Page 1 rendered with ``limit`` px on its longest side; None without pypdfium2."""
    with PDFIUM_LOCK:
        return _render_first_page_locked(path, limit)


def _render_first_page_locked(path: Path, limit: int) -> Image.Image | None:
    try:
        pdfium: Any = importlib.import_module("pypdfium2")
    except ImportError:
        return None
    pdfium_error: type[Exception] = getattr(pdfium, "PdfiumError", OSError)
    try:
        document = pdfium.PdfDocument(os.fspath(path))
    except pdfium_error as exc:
        raise MediaError(f"cannot open the PDF to draw its first page: {exc}") from exc
    try:
        if len(document) == 0:
            return None
        page = document[0]
        try:
            width, height = page.get_size()
            if max(width, height) <= 0:
                return None
            bitmap = page.render(scale=limit / max(width, height))
            try:
                rendered: Image.Image = bitmap.to_pil()
                return rendered.convert("RGB")  # a copy that owns its pixels
            finally:
                bitmap.close()  # here, under the PDFium lock, not whenever it is collected
        except pdfium_error as exc:
            raise MediaError(f"cannot draw the PDF's first page: {exc}") from exc
        finally:
            page.close()
    finally:
        document.close()


def _video_poster(path: Path, limit: int) -> tuple[Image.Image, tuple[int, int]] | None:
    """A frame one second in (or the first, for shorter videos) via ``ffmpeg``; None when
    ffmpeg is missing or the file has no frame to show."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    with tempfile.TemporaryDirectory(prefix="alejandria-poster-") as temp_dir:
        poster = Path(temp_dir) / "poster.png"
        for seek in (["-ss", "1"], []):
            command = [
                ffmpeg, "-v", "error", "-nostdin", "-y", *seek, "-i", os.fspath(path),
                "-frames:v", "1", os.fspath(poster),
            ]
            try:
                subprocess.run(command, capture_output=True, timeout=TOOL_TIMEOUT_S, check=False)
            except (OSError, subprocess.SubprocessError):
                return None
            if poster.is_file() and poster.stat().st_size > 0:
                return load_preview(poster, "image/png", limit)
    return None

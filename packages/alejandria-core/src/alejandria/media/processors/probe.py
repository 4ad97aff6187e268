"""The ``probe`` processor: what a stored file really is, told from its bytes.

The MIME type comes from the file's magic bytes, never from its name or URL (a ``.jpg`` that
is really a PNG is a PNG; plain text, which has none, keeps a declared ``text/*`` type). Then,
when the tools are here: image dimensions and frame counts (Pillow reads only the header), PDF
page counts (pypdfium2, else pypdf) and audio/video duration and codecs (``ffprobe``, else
PyAV, else the ``wave`` module for WAV). A missing tool only leaves its fields out; sniffing
always works, so the probe is always available.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alejandria.errors import MediaError
from alejandria.media.processors.pdfium_lock import PDFIUM_LOCK
from alejandria.media.types import kind_for_mime
from alejandria.models import Availability, JsonDict, MediaKind
from alejandria.settings import MAX_IMAGE_PIXELS

if TYPE_CHECKING:
    from PIL import Image

    from alejandria.plugin_types import ProcessorContext

#: Bytes read from the start of a file to tell its type.
HEAD_SIZE = 4096
#: Seconds an external tool (ffprobe, ffmpeg) may run on one file.
TOOL_TIMEOUT_S = 120.0

OCTET_STREAM = "application/octet-stream"
#: Image types Pillow always reads; others (HEIC, AVIF) need a plugin that may be missing.
NATIVE_IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"}
)

_HEIF_BRANDS = {
    b"heic": "image/heic", b"heix": "image/heic", b"heim": "image/heic", b"heis": "image/heic",
    b"hevc": "image/heic-sequence", b"hevx": "image/heic-sequence",
    b"avif": "image/avif", b"avis": "image/avif",
    b"mif1": "image/heif", b"msf1": "image/heif-sequence",
}
_GENERIC_HEIF_BRANDS = {b"mif1", b"msf1"}
_AUDIO_MP4_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}


def sniff(head: bytes) -> tuple[str, MediaKind]:
    """The MIME type and kind that the first bytes of a file (``HEAD_SIZE`` is plenty) show.

    Anything not recognised is ``application/octet-stream`` of kind ``other``.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", MediaKind.IMAGE
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", MediaKind.IMAGE
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", MediaKind.IMAGE
    if head[:4] == b"RIFF" and len(head) >= 12:
        return _sniff_riff(head[8:12])
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff", MediaKind.IMAGE
    if (
        head[:2] == b"BM"
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES
    ):
        return "image/bmp", MediaKind.IMAGE
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" in head[:64]:
            return "video/webm", MediaKind.VIDEO
        return "video/x-matroska", MediaKind.VIDEO
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return "application/pdf", MediaKind.DOCUMENT
    if head.startswith(b"OggS"):
        if b"\x80theora" in head[:128]:
            return "video/ogg", MediaKind.VIDEO
        return "audio/ogg", MediaKind.AUDIO
    if head.startswith(b"fLaC"):
        return "audio/flac", MediaKind.AUDIO
    if head.startswith(b"ID3"):
        return "audio/mpeg", MediaKind.AUDIO
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return _sniff_frame_sync(head[1])
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        if head[30:58] == b"mimetypeapplication/epub+zip":
            return "application/epub+zip", MediaKind.DOCUMENT
        return "application/zip", MediaKind.OTHER
    return OCTET_STREAM, MediaKind.OTHER


def _sniff_riff(form: bytes) -> tuple[str, MediaKind]:
    if form == b"WAVE":
        return "audio/wav", MediaKind.AUDIO
    if form == b"WEBP":
        return "image/webp", MediaKind.IMAGE
    if form == b"AVI ":
        return "video/x-msvideo", MediaKind.VIDEO
    return OCTET_STREAM, MediaKind.OTHER


def _sniff_ftyp(head: bytes) -> tuple[str, MediaKind]:
    """ISO base media files (MP4, M4A, MOV, 3GP, HEIC, AVIF) by their ``ftyp`` brands."""
    box_size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    end = min(max(box_size, 16), len(head))
    brands = [major] + [head[i:i + 4] for i in range(16, end - 3, 4)]
    # A specific HEIF brand (heic, avif) wins over the generic ones (mif1, msf1), which
    # files of both kinds list; the major brand is looked at first.
    heif = [brand for brand in brands if brand in _HEIF_BRANDS]
    if heif:
        specific = [brand for brand in heif if brand not in _GENERIC_HEIF_BRANDS]
        return _HEIF_BRANDS[(specific or heif)[0]], MediaKind.IMAGE
    if major in _AUDIO_MP4_BRANDS:
        return "audio/mp4", MediaKind.AUDIO
    if major == b"qt  ":
        return "video/quicktime", MediaKind.VIDEO
    if major.startswith(b"3g2"):
        return "video/3gpp2", MediaKind.VIDEO
    if major.startswith(b"3gp"):
        return "video/3gpp", MediaKind.VIDEO
    return "video/mp4", MediaKind.VIDEO


def _sniff_frame_sync(second: int) -> tuple[str, MediaKind]:
    """An MPEG audio frame (MP3) or an ADTS AAC frame, from the byte after the 0xFF sync."""
    version = (second >> 3) & 0b11
    layer = (second >> 1) & 0b11
    if layer == 0 and second & 0xF0 == 0xF0:
        return "audio/aac", MediaKind.AUDIO
    if version != 0b01 and layer != 0:
        return "audio/mpeg", MediaKind.AUDIO
    return OCTET_STREAM, MediaKind.OTHER


def sniff_file(path: Path) -> tuple[str, MediaKind]:
    """``sniff`` over the first ``HEAD_SIZE`` bytes of the file at ``path``."""
    with path.open("rb") as handle:
        return sniff(handle.read(HEAD_SIZE))


def _reads_as_declared_text(path: Path, media: JsonDict) -> bool:
    """Plain text has no magic bytes: a declared ``text/*`` type is kept for bytes that read
    as text (no NUL in the head), so a text extractor still gets the file."""
    declared = media.get("mime_type")
    if not isinstance(declared, str) or not declared.startswith("text/"):
        return False
    with path.open("rb") as handle:
        return b"\x00" not in handle.read(HEAD_SIZE)


# --- images --------------------------------------------------------------------------------


def open_image(path: Path, mime_type: str) -> Image.Image:
    """Open an image lazily (only its header is read) and refuse decompression bombs.

    Known formats are opened through their Pillow plugin class, which skips Pillow's own
    process-wide ``MAX_IMAGE_PIXELS`` check, so our limit (``MAX_IMAGE_PIXELS`` here) is the
    one that applies and no global setting is touched. Raise ``MediaError`` for bombs and for
    files Pillow cannot read. The caller closes the image.
    """
    from PIL import Image

    try:
        image = _open_with_plugin(path, mime_type)
    except Image.DecompressionBombError as exc:
        raise MediaError(f"image is too large to decode safely: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError(f"truncated or corrupt image: {exc}") from exc
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise MediaError(f"image is too large to decode safely: {width}×{height} pixels")
    return image


def _open_with_plugin(path: Path, mime_type: str) -> Image.Image:
    from PIL import Image

    plugin_class: Any = None
    if mime_type == "image/jpeg":
        from PIL import JpegImagePlugin

        plugin_class = JpegImagePlugin.JpegImageFile
    elif mime_type == "image/png":
        from PIL import PngImagePlugin

        plugin_class = PngImagePlugin.PngImageFile
    elif mime_type == "image/gif":
        from PIL import GifImagePlugin

        plugin_class = GifImagePlugin.GifImageFile
    elif mime_type == "image/webp":
        from PIL import WebPImagePlugin

        plugin_class = WebPImagePlugin.WebPImageFile
    elif mime_type == "image/bmp":
        from PIL import BmpImagePlugin

        plugin_class = BmpImagePlugin.BmpImageFile
    elif mime_type == "image/tiff":
        from PIL import TiffImagePlugin

        plugin_class = TiffImagePlugin.TiffImageFile
    if plugin_class is not None:
        image: Image.Image = plugin_class(os.fspath(path))
        return image
    # HEIC, AVIF, ...: whatever plugins are installed (pillow-heif, Pillow's AVIF support).
    return Image.open(path)


def _pillow_available() -> bool:
    try:
        importlib.import_module("PIL.Image")
    except ImportError:
        return False
    return True


def _image_info(path: Path, mime_type: str) -> JsonDict:
    """Width, height and (when animated) frames, from the header only; {} if unreadable.

    A decompression bomb still has honest dimensions, so they are reported here; the
    thumbnails processor is the one that refuses to decode it.
    """
    if not _pillow_available():
        return {}
    from PIL import Image

    errors = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)
    try:
        image = _open_with_plugin(path, mime_type)
    except errors:
        return {}
    with image:
        width, height = image.size
        info: JsonDict = {"width": width, "height": height}
        if width * height <= MAX_IMAGE_PIXELS:
            try:
                if getattr(image, "is_animated", False):
                    info["frames"] = int(getattr(image, "n_frames", 1))
            except errors:
                pass  # a truncated animation: the header's size is still right
    return info


# --- documents -----------------------------------------------------------------------------


def pdf_page_count(path: Path) -> int | None:
    """Pages in the PDF at ``path`` (pypdfium2, else pypdf), or None when neither can tell."""
    try:
        pdfium: Any = importlib.import_module("pypdfium2")
    except ImportError:
        pdfium = None
    if pdfium is not None:
        with PDFIUM_LOCK:
            try:
                document = pdfium.PdfDocument(os.fspath(path))
            except Exception:  # noqa: BLE001 - PdfiumError, or anything a broken file raises
                return None
            try:
                return len(document)
            finally:
                document.close()
    try:
        pypdf: Any = importlib.import_module("pypdf")
    except ImportError:
        return None
    try:
        return len(pypdf.PdfReader(os.fspath(path)).pages)
    except Exception:  # noqa: BLE001 - pypdf raises many kinds of errors on broken files
        return None


# --- audio and video -----------------------------------------------------------------------


def _av_info(path: Path, mime_type: str) -> JsonDict:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is not None:
        return _ffprobe_info(ffprobe, path)
    try:
        av: Any = importlib.import_module("av")
    except ImportError:
        av = None
    if av is not None:
        return _pyav_info(av, path)
    if mime_type == "audio/wav":
        return _wave_info(path)
    return {}


def _ffprobe_info(ffprobe: str, path: Path) -> JsonDict:
    command = [
        ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
        os.fspath(path),
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, timeout=TOOL_TIMEOUT_S, check=False
        )
        data = json.loads(result.stdout or b"{}")
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    info: JsonDict = {}
    duration = _float_or_none(data.get("format", {}).get("duration"))
    streams = [s for s in data.get("streams", []) if isinstance(s, dict)]
    if duration is None:
        durations = [_float_or_none(s.get("duration")) for s in streams]
        duration = max((d for d in durations if d is not None), default=None)
    if duration is not None:
        info["duration_s"] = duration
    codecs = [str(s["codec_name"]) for s in streams if s.get("codec_name")]
    if codecs:
        info["codecs"] = codecs
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic")), None)
    if video is not None and video.get("width") and video.get("height"):
        info["width"] = int(video["width"])
        info["height"] = int(video["height"])
    return info


def _pyav_info(av: Any, path: Path) -> JsonDict:
    try:
        with av.open(os.fspath(path)) as container:
            info: JsonDict = {}
            if container.duration is not None:
                info["duration_s"] = float(container.duration) / float(av.time_base)
            codecs = [s.codec_context.name for s in container.streams if s.codec_context]
            if codecs:
                info["codecs"] = [str(name) for name in codecs]
            for stream in container.streams.video:
                if stream.codec_context.width and stream.codec_context.height:
                    info["width"] = int(stream.codec_context.width)
                    info["height"] = int(stream.codec_context.height)
                    break
            return info
    except Exception:  # noqa: BLE001 - av.error.* on broken or unsupported files
        return {}


def _wave_info(path: Path) -> JsonDict:
    try:
        with wave.open(os.fspath(path), "rb") as reader:
            rate = reader.getframerate()
            if rate <= 0:
                return {}
            return {"duration_s": reader.getnframes() / rate}
    except (OSError, EOFError, wave.Error):
        return {}


def _float_or_none(value: object) -> float | None:
    if value is None:
        return None
    try:
        return float(str(value))
    except ValueError:
        return None


# --- the processor -------------------------------------------------------------------------


class ProbeProcessor:
    """Tells a stored file's real type and reads its basic facts.

    ``process`` returns ``mime_type``, ``kind`` (a ``MediaKind`` value) and ``size``, plus
    ``width``/``height`` (and ``frames`` when animated) for images, ``page_count`` for PDFs,
    and ``duration_s``/``codecs`` (and ``width``/``height`` for video) for audio and video,
    each only when the tool that reads it is installed.
    """

    def __init__(self, context: ProcessorContext) -> None:
        self.context = context

    def availability(self) -> Availability:
        return Availability.yes()

    def process(self, path: Path, media: JsonDict) -> JsonDict:
        try:
            mime_type, kind = sniff_file(path)
            if mime_type == OCTET_STREAM and _reads_as_declared_text(path, media):
                mime_type, kind = media["mime_type"], kind_for_mime(media["mime_type"])
            size = path.stat().st_size
        except OSError as exc:
            raise MediaError(f"cannot read media file {path.name}: {exc}") from exc
        result: JsonDict = {"mime_type": mime_type, "kind": kind.value, "size": size}
        if kind is MediaKind.IMAGE:
            result.update(_image_info(path, mime_type))
        elif mime_type == "application/pdf":
            pages = pdf_page_count(path)
            if pages is not None:
                result["page_count"] = pages
        elif kind in (MediaKind.AUDIO, MediaKind.VIDEO):
            result.update(_av_info(path, mime_type))
        return result

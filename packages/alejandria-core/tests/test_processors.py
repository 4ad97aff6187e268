"""The probe and thumbnails processors, over real files made here (Pillow, fpdf2, wave, ffmpeg)."""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import shutil
import struct
import subprocess
import wave
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image

from alejandria.errors import MediaError
from alejandria.media.processors import probe as probe_module
from alejandria.media.processors import thumbnails as thumbnails_module
from alejandria.media.processors.probe import ProbeProcessor, sniff
from alejandria.media.processors.thumbnails import ThumbnailProcessor
from alejandria.models import JsonDict, MediaKind
from alejandria.plugin_types import ProcessorContext
from alejandria.settings import Settings
from alejandria.testing import require

# --- helpers -------------------------------------------------------------------------------


def photo(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A gradient with noise, so encoders do real work."""
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40)
    blended = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.ROTATE_180)))
    return blended.convert(mode)


def save(image: Image.Image, path: Path, fmt: str, **params: Any) -> Path:
    image.save(path, format=fmt, **params)
    return path


def media_for(path: Path) -> JsonDict:
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


@pytest.fixture
def probe(tmp_path: Path) -> ProbeProcessor:
    return ProbeProcessor(ProcessorContext(settings=Settings(data_dir=tmp_path), name="probe"))


@pytest.fixture
def thumbs(tmp_path: Path) -> ThumbnailProcessor:
    settings = Settings(data_dir=tmp_path)
    return ThumbnailProcessor(ProcessorContext(settings=settings, name="thumbnails"))


def thumbnail_sizes(result: JsonDict, data_dir: Path) -> dict[str, tuple[int, int]]:
    sizes = {}
    for key, relative in result["thumbnails"].items():
        assert not Path(relative).is_absolute()
        with Image.open(data_dir / relative) as image:
            assert image.format == "WEBP"
            sizes[key] = image.size
    return sizes


def bomb_png(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose IHDR claims ``width``×``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def write_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    with wave.open(os.fspath(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\x00\x01" * int(seconds * rate))
    return path


def write_pdf(path: Path, pages: int) -> Path:
    fpdf = importlib.import_module("fpdf")
    document = fpdf.FPDF()
    document.set_font("helvetica", size=14)
    for number in range(pages):
        document.add_page()
        document.cell(text=f"Page {number + 1}")
    document.output(os.fspath(path))
    return path


def hide_module(monkeypatch: pytest.MonkeyPatch, module: ModuleType, hidden: str) -> None:
    """Make ``module``'s ``importlib.import_module(hidden)`` raise ImportError."""
    real: Callable[..., ModuleType] = importlib.import_module

    def fake(name: str, package: str | None = None) -> ModuleType:
        if name == hidden:
            raise ImportError(f"no module named {hidden!r} (hidden by the test)")
        return real(name, package)

    monkeypatch.setattr(module, "importlib", type("FakeImportlib", (), {
        "import_module": staticmethod(fake),
    }))


@pytest.fixture
def ffmpeg() -> str:
    binary = shutil.which("ffmpeg")
    require(binary is not None and shutil.which("ffprobe") is not None,
            "ffmpeg and ffprobe (apt-get install ffmpeg)")
    assert binary is not None
    return binary


@pytest.fixture
def video(tmp_path: Path, ffmpeg: str) -> Path:
    out = tmp_path / "clip.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-nostdin", "-f", "lavfi",
         "-i", "testsrc=duration=2:size=320x240:rate=10", "-pix_fmt", "yuv420p", os.fspath(out)],
        check=True, capture_output=True,
    )
    return out


# --- sniffing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "mime", "kind"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic", MediaKind.IMAGE),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "image/avif", MediaKind.IMAGE),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "image/heic", MediaKind.IMAGE),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41", "video/mp4",
         MediaKind.VIDEO),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A mp42isom", "audio/mp4", MediaKind.AUDIO),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "video/quicktime", MediaKind.VIDEO),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm", MediaKind.VIDEO),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska",
         MediaKind.VIDEO),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav", MediaKind.AUDIO),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp", MediaKind.IMAGE),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo", MediaKind.VIDEO),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis", "audio/ogg", MediaKind.AUDIO),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x80theora", "video/ogg", MediaKind.VIDEO),
        (b"fLaC\x00\x00\x00\x22", "audio/flac", MediaKind.AUDIO),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg", MediaKind.AUDIO),
        (b"\xff\xfb\x90\x64\x00\x00", "audio/mpeg", MediaKind.AUDIO),
        (b"\xff\xf1\x50\x80\x02\x1f", "audio/aac", MediaKind.AUDIO),
        (b"%PDF-1.7\n", "application/pdf", MediaKind.DOCUMENT),
        (b"\xef\xbb\xbf%PDF-1.4\n", "application/pdf", MediaKind.DOCUMENT),
        (b"PK\x03\x04" + b"\x00" * 26 + b"mimetypeapplication/epub+zip", "application/epub+zip",
         MediaKind.DOCUMENT),
        (b"PK\x03\x04\x14\x00\x00\x00", "application/zip", MediaKind.OTHER),
        (b"II*\x00\x08\x00\x00\x00", "image/tiff", MediaKind.IMAGE),
        (b"MM\x00*\x00\x00\x00\x08", "image/tiff", MediaKind.IMAGE),
        (b"hello, world", "application/octet-stream", MediaKind.OTHER),
        (b"BMalso text", "application/octet-stream", MediaKind.OTHER),
        (b"", "application/octet-stream", MediaKind.OTHER),
    ],
)
def test_sniff(head: bytes, mime: str, kind: MediaKind) -> None:
    assert sniff(head) == (mime, kind)


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp"),
     ("BMP", "image/bmp"), ("TIFF", "image/tiff")],
)
def test_probe_real_images(
    probe: ProbeProcessor, tmp_path: Path, fmt: str, mime: str
) -> None:
    path = save(photo(64, 48), tmp_path / "picture.bin", fmt)
    result = probe.process(path, media_for(path))
    assert result == {
        "mime_type": mime, "kind": "image", "size": path.stat().st_size,
        "width": 64, "height": 48,
    }


def test_probe_trusts_content_not_the_name(probe: ProbeProcessor, tmp_path: Path) -> None:
    path = save(photo(30, 20), tmp_path / "holiday.jpg", "PNG")
    result = probe.process(path, {"mime_type": "image/jpeg", "kind": "image"})
    assert result["mime_type"] == "image/png"
    assert (result["width"], result["height"]) == (30, 20)


def test_probe_unknown_bytes(probe: ProbeProcessor, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"just some text\n")
    assert probe.process(path, {}) == {
        "mime_type": "application/octet-stream", "kind": "other", "size": 15,
    }


def test_probe_animated_gif_counts_frames(probe: ProbeProcessor, tmp_path: Path) -> None:
    frames = [photo(40, 30).convert("P") for _ in range(3)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    result = probe.process(path, {})
    assert result["mime_type"] == "image/gif"
    assert result["frames"] == 3
    assert (result["width"], result["height"]) == (40, 30)


def test_probe_bomb_reports_header_size(probe: ProbeProcessor, tmp_path: Path) -> None:
    path = bomb_png(tmp_path / "bomb.png", 100_000, 100_000)
    result = probe.process(path, {})
    assert result["mime_type"] == "image/png"
    assert (result["width"], result["height"]) == (100_000, 100_000)


def test_probe_pdf_page_count(probe: ProbeProcessor, tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "book.pdf", pages=3)
    result = probe.process(path, {})
    assert result["mime_type"] == "application/pdf"
    assert result["kind"] == "document"
    assert result["page_count"] == 3


def test_probe_pdf_page_count_with_pypdf_only(
    probe: ProbeProcessor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pypdf")
    hide_module(monkeypatch, probe_module, "pypdfium2")
    path = write_pdf(tmp_path / "book.pdf", pages=2)
    assert probe.process(path, {})["page_count"] == 2


def test_probe_wav(probe: ProbeProcessor, tmp_path: Path) -> None:
    path = write_wav(tmp_path / "voice.wav", seconds=1.5)
    result = probe.process(path, {})
    assert result["mime_type"] == "audio/wav"
    assert result["kind"] == "audio"
    if shutil.which("ffprobe"):
        assert result["duration_s"] == pytest.approx(1.5, abs=0.01)
        assert result["codecs"] == ["pcm_s16le"]


def test_probe_wav_without_ffprobe_or_pyav(
    probe: ProbeProcessor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    hide_module(monkeypatch, probe_module, "av")
    path = write_wav(tmp_path / "voice.wav", seconds=2.0)
    result = probe.process(path, {})
    assert result["duration_s"] == pytest.approx(2.0)
    assert "codecs" not in result


def test_probe_mp3_header_never_fails(probe: ProbeProcessor, tmp_path: Path) -> None:
    path = tmp_path / "song.bin"
    path.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10 + b"\xff\xfb\x90\x64"
                     + b"\x00" * 400)
    result = probe.process(path, {})
    assert result["mime_type"] == "audio/mpeg"
    assert result["kind"] == "audio"
    assert result["size"] == path.stat().st_size


def test_probe_audio_without_any_tool(
    probe: ProbeProcessor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    hide_module(monkeypatch, probe_module, "av")
    path = tmp_path / "song.mp3"
    path.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 100)
    assert probe.process(path, {}) == {"mime_type": "audio/mpeg", "kind": "audio", "size": 110}
    assert probe.availability().available


def test_probe_video(probe: ProbeProcessor, video: Path) -> None:
    result = probe.process(video, {})
    assert result["mime_type"] == "video/mp4"
    assert result["kind"] == "video"
    assert result["duration_s"] == pytest.approx(2.0, abs=0.15)
    assert result["codecs"]
    assert result["codecs"][0] in {"h264", "mpeg4", "hevc", "av1", "vp9"}
    assert (result["width"], result["height"]) == (320, 240)


# --- thumbnails ----------------------------------------------------------------------------


def test_thumbnails_of_a_large_jpeg(
    thumbs: ThumbnailProcessor, tmp_path: Path
) -> None:
    path = save(photo(2400, 1600), tmp_path / "photo.jpg", "JPEG", quality=90)
    media = media_for(path)
    result = thumbs.process(path, media)
    assert (result["width"], result["height"]) == (2400, 1600)
    assert list(result["thumbnails"]) == ["150", "300", "600"]
    assert thumbnail_sizes(result, tmp_path) == {
        "150": (150, 100), "300": (300, 200), "600": (600, 400),
    }
    directory = thumbs.context.derived_dir(media["sha256"])
    assert result["thumbnails"]["600"] == (directory / "600.webp").relative_to(tmp_path).as_posix()
    assert sorted(p.name for p in directory.iterdir()) == ["150.webp", "300.webp", "600.webp"]


def test_thumbnails_never_upscale(thumbs: ThumbnailProcessor, tmp_path: Path) -> None:
    path = save(photo(100, 50), tmp_path / "tiny.png", "PNG")
    result = thumbs.process(path, media_for(path))
    assert thumbnail_sizes(result, tmp_path) == {"150": (100, 50), "300": (100, 50),
                                                 "600": (100, 50)}


def test_thumbnails_medium_image_keeps_size_where_smaller(
    thumbs: ThumbnailProcessor, tmp_path: Path
) -> None:
    path = save(photo(400, 200, "RGBA"), tmp_path / "mid.webp", "WEBP")
    result = thumbs.process(path, media_for(path))
    assert thumbnail_sizes(result, tmp_path) == {"150": (150, 75), "300": (300, 150),
                                                 "600": (400, 200)}


def test_thumbnails_of_an_animated_gif(thumbs: ThumbnailProcessor, tmp_path: Path) -> None:
    frames = [Image.new("RGB", (800, 400), color) for color in ("red", "green", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    result = thumbs.process(path, media_for(path))
    assert thumbnail_sizes(result, tmp_path)["600"] == (600, 300)
    with Image.open(tmp_path / result["thumbnails"]["150"]) as first:
        pixel = first.convert("RGB").getpixel((10, 10))
    assert isinstance(pixel, tuple)
    assert pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60  # the first frame: red


def test_thumbnails_respect_exif_orientation(
    thumbs: ThumbnailProcessor, tmp_path: Path
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90° clockwise: portrait
    path = save(photo(1200, 800), tmp_path / "phone.jpg", "JPEG", exif=exif.tobytes())
    result = thumbs.process(path, media_for(path))
    assert (result["width"], result["height"]) == (800, 1200)
    sizes = thumbnail_sizes(result, tmp_path)
    assert sizes["600"] == (400, 600)
    assert sizes["150"] == (100, 150)


def test_thumbnails_refuse_a_decompression_bomb(
    thumbs: ThumbnailProcessor, tmp_path: Path
) -> None:
    limit_before = Image.MAX_IMAGE_PIXELS
    path = bomb_png(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises(MediaError, match=r"too large to decode safely: 100000×100000 pixels"):
        thumbs.process(path, media_for(path))
    assert limit_before == Image.MAX_IMAGE_PIXELS
    assert not (tmp_path / "derived").exists()


def test_thumbnails_refuse_a_truncated_jpeg(thumbs: ThumbnailProcessor, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    photo(800, 600).save(buffer, format="JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(MediaError, match="truncated or corrupt image"):
        thumbs.process(path, media_for(path))


def test_thumbnails_of_a_png_named_jpg(thumbs: ThumbnailProcessor, tmp_path: Path) -> None:
    path = save(photo(900, 300), tmp_path / "liar.jpg", "PNG")
    result = thumbs.process(path, media_for(path))
    assert thumbnail_sizes(result, tmp_path)["600"] == (600, 200)


def test_thumbnails_overwrite_atomically(thumbs: ThumbnailProcessor, tmp_path: Path) -> None:
    path = save(photo(700, 700), tmp_path / "square.png", "PNG")
    media = media_for(path)
    thumbs.process(path, media)
    thumbs.process(path, media)  # a re-run replaces the files, leaves no temp files
    directory = thumbs.context.derived_dir(media["sha256"])
    assert sorted(p.name for p in directory.iterdir()) == ["150.webp", "300.webp", "600.webp"]


def test_thumbnails_of_a_pdf_first_page(thumbs: ThumbnailProcessor, tmp_path: Path) -> None:
    pytest.importorskip("pypdfium2")
    path = write_pdf(tmp_path / "book.pdf", pages=2)
    result = thumbs.process(path, media_for(path))
    sizes = thumbnail_sizes(result, tmp_path)
    assert max(sizes["600"]) == 600
    assert sizes["600"][0] < sizes["600"][1]  # A4 portrait
    assert max(sizes["150"]) == 150


def test_thumbnails_skip_a_pdf_without_pypdfium2(
    thumbs: ThumbnailProcessor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hide_module(monkeypatch, thumbnails_module, "pypdfium2")
    path = write_pdf(tmp_path / "book.pdf", pages=1)
    assert thumbs.process(path, media_for(path)) == {}


def test_thumbnails_skip_what_they_cannot_draw(
    thumbs: ThumbnailProcessor, tmp_path: Path
) -> None:
    path = write_wav(tmp_path / "voice.wav", seconds=0.5)
    assert thumbs.process(path, media_for(path)) == {}
    assert thumbs.availability().available


def test_thumbnails_skip_video_without_ffmpeg(
    thumbs: ThumbnailProcessor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64)
    assert thumbs.process(path, media_for(path)) == {}


def test_thumbnails_video_poster(thumbs: ThumbnailProcessor, tmp_path: Path, video: Path) -> None:
    result = thumbs.process(video, media_for(video))
    assert (result["width"], result["height"]) == (320, 240)
    assert thumbnail_sizes(result, tmp_path) == {"150": (150, 112), "300": (300, 225),
                                                 "600": (320, 240)}


def test_thumbnails_skip_heic_without_a_plugin(
    thumbs: ThumbnailProcessor, tmp_path: Path
) -> None:
    path = tmp_path / "phone.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200)
    try:
        importlib.import_module("pillow_heif")
    except ImportError:
        assert thumbs.process(path, media_for(path)) == {}
    else:  # pragma: no cover - with pillow-heif these bytes are a corrupt HEIC
        with pytest.raises(MediaError):
            thumbs.process(path, media_for(path))


@pytest.mark.parametrize("mode", ["CMYK", "L"])
def test_thumbnails_of_other_jpeg_modes(
    thumbs: ThumbnailProcessor, tmp_path: Path, mode: str
) -> None:
    path = save(photo(1300, 650, mode), tmp_path / f"{mode}.jpg", "JPEG")
    result = thumbs.process(path, media_for(path))
    assert thumbnail_sizes(result, tmp_path)["600"] == (600, 300)


def test_thumbnails_of_a_transparent_palette_png(
    thumbs: ThumbnailProcessor, tmp_path: Path
) -> None:
    image = Image.new("P", (640, 320), 0)
    image.putpalette([255, 255, 255, 200, 30, 30])
    image.paste(1, (320, 0, 640, 320))  # the left half is index 0: transparent
    path = save(image, tmp_path / "logo.png", "PNG", transparency=0)
    result = thumbs.process(path, media_for(path))
    with Image.open(tmp_path / result["thumbnails"]["600"]) as thumbnail:
        assert thumbnail.size == (600, 300)
        assert thumbnail.mode == "RGBA"
        assert thumbnail.getchannel("A").getpixel((10, 150)) == 0
        assert thumbnail.getchannel("A").getpixel((590, 150)) == 255


def test_probe_and_thumbnails_refuse_nothing_for_a_missing_sha(
    thumbs: ThumbnailProcessor, tmp_path: Path
) -> None:
    path = save(photo(200, 100), tmp_path / "x.png", "PNG")
    result = thumbs.process(path, {"sha256": "../../etc"})  # not a digest: hashed from the file
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert result["thumbnails"]["150"].endswith(f"{digest}/150.webp")

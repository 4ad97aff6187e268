"""Untrusted PDFs cost only themselves: bombs are built here (small files, written to
``tmp_path``) and synced next to good books, in a worker under memory and time limits.

- a content stream that inflates from 3 MB to 3 GiB (PDFium aborts under a memory cap),
- a 20000×20000 image in a 1.2 MB file (decoding it takes gigabytes),
- 100,000 outline entries on one page (merging their titles used to be quadratic).
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from PIL import Image

from alejandria import Archive
from alejandria.errors import ConfigurationError, ItemRejected, MediaError
from alejandria.settings import MAX_IMAGE_PIXELS
from alejandria.testing import reads
from alejandria_source_pdf.chapters import (
    MAX_MERGED_TITLE,
    OutlineEntry,
    plan_sections,
)
from alejandria_source_pdf.extract import PdfBook
from alejandria_source_pdf.extractor import PdfExtractor
from alejandria_source_pdf.images import ImageLimits
from alejandria_source_pdf.isolation import IsolatedReader, Limits
from alejandria_source_pdf.reader import InProcessReader
from alejandria_source_pdf.source import PdfSource

MIB = 1 << 20
TIDES = "Las mareas vivas llegan con la luna nueva y con la luna llena."
BREAD = "El pan de masa madre necesita paciencia y un horno bien caliente."
HARBOUR = "Plano del puerto con las boyas de entrada."


# -- building PDFs by hand -------------------------------------------------------------------


def zeros_flate(mib: int) -> bytes:
    """A zlib stream of ``mib`` MiB of zeros, about 1 KB per MiB, built without ever holding
    them: after a full flush, every further MiB of zeros compresses to the same bytes."""
    compressor = zlib.compressobj(9)
    block = bytes(MIB)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.flush(zlib.Z_FINISH)[:-4]  # its checksum covers only two MiB
    total = mib * MIB
    adler32 = ((total % 65521) << 16) | 1  # Adler-32 of zeros: A stays 1, B adds 1 per byte
    return first + repeated * (mib - 1) + last + adler32.to_bytes(4, "big")


def stream(entries: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (entries, len(data), data)


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF of numbered ``objects`` (1 is the catalog) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


FONT = b"/Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >>"


def text_content(text: str) -> bytes:
    return b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % text.encode("latin-1")


def content_bomb(path: Path, mib: int = 3072) -> Path:
    """One page whose FlateDecode content stream inflates to ``mib`` MiB of zeros."""
    path.write_bytes(raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        stream(b"/Filter /FlateDecode", zeros_flate(mib)),
    ]))
    return path


def image_bomb(path: Path, side: int = 20000) -> Path:
    """Page 1: text and a ``side``×``side`` RGB image of zeros; page 2: an 80×80 figure."""
    noise = random.Random(7).randbytes(80 * 80 * 3)
    draw = b"q 400 0 0 400 100 200 cm /Big Do Q q 80 0 0 80 100 100 cm /Small Do Q "
    path.write_bytes(raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        b"/Resources << %s /XObject << /Big 7 0 R >> >> >>" % FONT,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 6 0 R "
        b"/Resources << %s /XObject << /Small 8 0 R >> >> >>" % FONT,
        stream(b"", draw.split(b"q 80")[0] + text_content(HARBOUR)),
        stream(b"", b"q 80" + draw.split(b"q 80")[1] + text_content("Figura dos.")),
        stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
               b"/BitsPerComponent 8 /Filter /FlateDecode" % (side, side),
               zeros_flate(-(-side * side * 3 // MIB))),
        stream(b"/Type /XObject /Subtype /Image /Width 80 /Height 80 /ColorSpace /DeviceRGB "
               b"/BitsPerComponent 8 /Filter /FlateDecode", zlib.compress(noise)),
    ]))
    return path


def outline_bomb(path: Path, entries: int = 100_000) -> Path:
    """Two pages; ``entries`` bookmarks all on page 1, then one ("Epílogo") on page 2."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Outlines 6 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        b"/Resources << %s >> >>" % FONT,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        b"/Resources << %s >> >>" % FONT,
        stream(b"", text_content("Un libro con demasiados marcadores.")),
        b"<< /Type /Outlines /First 7 0 R /Last %d 0 R /Count %d >>" % (
            7 + entries, entries + 1),
    ]
    for i in range(entries + 1):
        number = 7 + i
        title = b"Ep\\355logo" if i == entries else b"Marcador %d" % i
        links = (b" /Prev %d 0 R" % (number - 1) if i else b"") + (
            b" /Next %d 0 R" % (number + 1) if i < entries else b"")
        objects.append(b"<< /Title (%s) /Parent 6 0 R%s /Dest [%d 0 R /Fit] >>" % (
            title, links, 4 if i == entries else 3))
    path.write_bytes(raw_pdf(objects))
    return path


def good_pdf(path: Path, text: str, *, title: str) -> Path:
    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    return path


def figure_pdf(path: Path) -> Path:
    """A small book with a figure, for comparing how both readers see it."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for page in range(3):
        pdf.add_page()
        pdf.start_section(f"Capítulo {page + 1}")
        pdf.multi_cell(0, 6, f"{TIDES} Página {page + 1}.")
        image = Image.frombytes("RGB", (96, 72), random.Random(page).randbytes(96 * 72 * 3))
        pdf.image(image, x=10, y=60, w=60)
    pdf.output(str(path))
    return path


def test_the_bombs_are_what_they_claim(tmp_path: Path) -> None:
    """The builders are right: the stream inflates to its size, the files are small."""
    assert zlib.decompress(zeros_flate(5)) == bytes(5 * MIB)
    assert content_bomb(tmp_path / "c.pdf").stat().st_size < 4 * MIB
    assert image_bomb(tmp_path / "i.pdf").stat().st_size < 2 * MIB
    with PdfBook(content_bomb(tmp_path / "small.pdf", mib=2), "small") as book:
        assert book.page_count == 1 and book.page(1).text == ""
    with PdfBook(outline_bomb(tmp_path / "o.pdf", entries=3), "o") as book:
        assert [(e.title, e.page) for e in book.outline()] == [
            ("Marcador 0", 1), ("Marcador 1", 1), ("Marcador 2", 1), ("Epílogo", 2)]


# -- the worker: one per reader, replaced when a file kills it -------------------------------


def isolated(max_memory_mb: int = 1024, timeout_s: float = 120) -> IsolatedReader:
    return IsolatedReader(Limits(max_memory_mb=max_memory_mb, timeout_s=timeout_s,
                                 max_pixels=MAX_IMAGE_PIXELS))


def read_all(reader: Any, path: Path) -> dict[str, Any]:
    with reader.open(path, path.name, find_images=True) as book:
        pages = [book.page(number) for number in range(1, book.page_count + 1)]
        return {
            "metadata": book.metadata(),
            "outline": book.outline(),
            "text": [page.text for page in pages],
            "images": [[(i.index, i.image.key) for i in page.images()] for page in pages],
            "notes": [note for page in pages for note in page.notes],
        }


def test_one_worker_reads_file_after_file_as_this_process_would(
        tmp_path: Path, pdfs: Any) -> None:
    reader = isolated()
    files = [figure_pdf(tmp_path / "figuras.pdf"), pdfs.book, pdfs.images, pdfs.scanned]
    try:
        first = read_all(reader, files[0])
        pid = reader.worker_pid
        rest = [read_all(reader, path) for path in files[1:]]
        assert reader.worker_pid == pid  # no Python start-up per file
    finally:
        reader.close()

    assert [first, *rest] == [read_all(InProcessReader(), path) for path in files]
    assert first["images"][0] and first["outline"][0].title == "Capítulo 1"


def test_a_file_that_exhausts_the_memory_limit_costs_only_itself(tmp_path: Path) -> None:
    reader = isolated(max_memory_mb=256)
    good = good_pdf(tmp_path / "mareas.pdf", TIDES, title="Mareas")
    try:
        read_all(reader, good)
        first_pid = reader.worker_pid
        with pytest.raises(ItemRejected) as rejected:
            read_all(reader, content_bomb(tmp_path / "bomba.pdf"))
        assert reader.worker_pid is None
        after = read_all(reader, good)
        second_pid = reader.worker_pid
    finally:
        reader.close()

    assert rejected.value.subject == "bomba.pdf"
    assert rejected.value.reason == (
        "the PDF could not be read within 256 MB of memory (page 1); it may be damaged or "
        "hostile; raise ALEJANDRIA_PDF_MAX_MEMORY_MB if it is a genuine large book")
    assert after["text"] == [TIDES]
    assert second_pid not in (None, first_pid)


def test_a_file_that_takes_too_long_is_killed_and_the_next_one_is_read(tmp_path: Path) -> None:
    # Memory enough for the 3 GiB stream to be inflated for seconds; half a second allowed.
    reader = isolated(max_memory_mb=6144, timeout_s=0.5)
    bomb = content_bomb(tmp_path / "lento.pdf")
    try:
        started = time.monotonic()
        with pytest.raises(ItemRejected) as rejected:
            read_all(reader, bomb)
        elapsed = time.monotonic() - started
        after = read_all(reader, good_pdf(tmp_path / "pan.pdf", BREAD, title="Pan"))
    finally:
        reader.close()

    assert rejected.value.reason == (
        "the PDF could not be read within 0.5 s (page 1); it may be damaged or hostile; "
        "raise ALEJANDRIA_PDF_TIMEOUT_S if it is a genuine large book")
    assert elapsed < 5
    assert after["text"] == [BREAD]


def test_a_worker_that_died_while_idle_is_replaced_without_losing_the_file(
        tmp_path: Path) -> None:
    reader = isolated()
    good = good_pdf(tmp_path / "mareas.pdf", TIDES, title="Mareas")
    try:
        read_all(reader, good)
        pid = reader.worker_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # as the OOM killer would, between two files
        assert read_all(reader, good)["text"] == [TIDES]
        assert reader.worker_pid not in (None, pid)
    finally:
        reader.close()


def test_the_extractor_reports_a_bomb_and_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alejandria_settings: Any) -> None:
    monkeypatch.setenv("ALEJANDRIA_PDF_MAX_MEMORY_MB", "256")
    extractor = PdfExtractor(alejandria_settings)
    try:
        with pytest.raises(MediaError, match=r"within 256 MB of memory \(page 1\)"):
            extractor.extract(content_bomb(tmp_path / "adjunto.pdf"), {"sha256": "ab" * 32})
        passages = extractor.extract(good_pdf(tmp_path / "pan.pdf", BREAD, title="Pan"), {})
    finally:
        extractor.reader.close()

    assert [(p.page, p.text) for p in passages] == [(1, BREAD)]


# -- settings ----------------------------------------------------------------------------------


def test_limits_come_from_the_environment_and_options(
        make_source: Callable[..., PdfSource], monkeypatch: pytest.MonkeyPatch) -> None:
    default = make_source()
    assert (default.settings.max_memory_mb, default.settings.timeout_s) == (1024, 120.0)

    monkeypatch.setenv("ALEJANDRIA_PDF_TIMEOUT_S", "30")
    tuned = make_source(max_memory_mb="2048")
    assert (tuned.settings.max_memory_mb, tuned.settings.timeout_s) == (2048, 30.0)
    assert isinstance(tuned.reader, IsolatedReader)
    assert tuned.reader.limits == Limits(2048, 30.0, MAX_IMAGE_PIXELS)

    with pytest.raises(ConfigurationError, match="max_memory_mb"):
        make_source(max_memory_mb=16)


# -- images too large to decode ------------------------------------------------------------------


def test_an_image_over_the_pixel_limit_is_skipped_with_a_note_and_the_rest_kept(
        tmp_path: Path) -> None:
    with PdfBook(image_bomb(tmp_path / "puerto.pdf"), "puerto.pdf") as book:
        first, second = book.page(1), book.page(2)
        images = first.images(), second.images()

    assert first.text == HARBOUR and first.notes == (
        "page 1: skipped an embedded image of 20000\u00d720000 pixels: more than the "
        f"{MAX_IMAGE_PIXELS:,} pixels an image may have",)
    assert images[0] == [] and [i.index for i in images[1]] == [1] and second.notes == ()


def test_an_image_the_worker_cannot_afford_to_decode_is_skipped(tmp_path: Path) -> None:
    limits = ImageLimits(max_pixels=MAX_IMAGE_PIXELS, max_decode_bytes=64 * MIB,
                         memory_setting="ALEJANDRIA_PDF_MAX_MEMORY_MB")
    with PdfBook(image_bomb(tmp_path / "mapa.pdf", side=4000), "mapa.pdf",
                 image_limits=limits) as book:
        page = book.page(1)

    assert page.notes == ("page 1: skipped an embedded image of 4000\u00d74000 pixels: "
                          "decoding it needs about 122 MB, more than "
                          "ALEJANDRIA_PDF_MAX_MEMORY_MB allows",)
    assert page.text == HARBOUR and page.images() == []


# -- outlines ----------------------------------------------------------------------------------


def test_100k_outline_entries_on_one_page_are_planned_in_linear_time() -> None:
    outline = [OutlineEntry(0, f"Marcador {i}", 1) for i in range(100_000)]
    outline.append(OutlineEntry(0, "Epílogo", 2))

    started = time.perf_counter()
    first, last = plan_sections(outline, 2, 10, "Libro")
    elapsed = time.perf_counter() - started

    assert elapsed < 5
    assert first.title.startswith("Marcador 0 / Marcador 1 / Marcador 2 / ")
    assert first.title.endswith(" / \u2026")
    assert MAX_MERGED_TITLE <= len(first.title) <= MAX_MERGED_TITLE + 40
    assert (last.title, last.first_page, last.last_page) == ("Epílogo", 2, 2)


def test_same_page_titles_below_the_cap_are_joined_in_full() -> None:
    titles = [f"Sección {i}" for i in range(30)]  # about 330 characters joined
    (first, _) = plan_sections([*(OutlineEntry(0, t, 1) for t in titles),
                                OutlineEntry(0, "Fin", 2)], 2, 10, "Libro")
    assert first.title == " / ".join(titles)


# -- a whole sync in its own process, measured ---------------------------------------------------

#: Runs ``alejandria ARGS`` and then prints the peak memory of this process and of the
#: children it reaped (the PDF worker) to stderr.
# The CLI's own peak is VmHWM, the high-water mark of its own address space: ru_maxrss of
# RUSAGE_SELF keeps the peak of the process it was spawned from (Linux carries it across
# exec), so under a pytest process that had loaded a model it read 1.2 GB for a 100 MB CLI.
MEASURED_CLI = """
import atexit, json, resource, runpy, sys
def own_peak_kb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
def peak():
    own = own_peak_kb()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sys.stderr.write("\\nPEAK " + json.dumps({"own_kb": own, "workers_kb": workers}) + "\\n")
atexit.register(peak)
sys.argv = ["alejandria", *sys.argv[1:]]
runpy.run_module("alejandria.cli.main", run_name="__main__")
"""


def measured_sync(env: dict[str, str], folder: Path) -> tuple[dict[str, Any], dict[str, int],
                                                             float]:
    """``alejandria sync pdf FOLDER --json`` in a subprocess: its report, peaks and seconds."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", MEASURED_CLI, "sync", "pdf", str(folder),
                           "--json"], capture_output=True, text=True, env=env, timeout=300,
                          stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    peaks = [line for line in done.stderr.splitlines() if line.startswith("PEAK ")]
    assert peaks and done.stdout, done.stderr
    return json.loads(done.stdout), json.loads(peaks[-1][5:]), seconds


def shelf_with(tmp_path: Path, bomb: str) -> Path:
    """Two good books around the bomb (sorted, the bomb is read between them)."""
    folder = tmp_path / "estante"
    folder.mkdir()
    good_pdf(folder / "a-mareas.pdf", TIDES, title="Mareas")
    good_pdf(folder / "c-pan.pdf", BREAD, title="Pan")
    build = {"content": content_bomb, "image": image_bomb, "outline": outline_bomb}[bomb]
    build(folder / "b-bomba.pdf")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("bomb", ["content", "image", "outline"])
def test_a_sync_of_a_folder_with_a_hostile_pdf_archives_the_good_books(
        bomb: str, tmp_path: Path, alejandria_cli_env: dict[str, str],
        open_archive: Callable[..., Archive]) -> None:
    report, peaks, seconds = measured_sync(alejandria_cli_env, shelf_with(tmp_path, bomb))
    archive = open_archive()

    assert seconds < 90
    # This process never parses a PDF: the bombs cost the worker, within its limit.
    assert peaks["own_kb"] < 600 * 1024, peaks
    assert peaks["workers_kb"] <= 1024 * 1024, peaks
    titles = {collection.title for collection in reads.collections(archive)}
    assert {"Mareas", "Pan"} <= titles
    for words, title in (("mareas vivas luna nueva", "Mareas"), ("masa madre horno", "Pan")):
        assert [hit.title for hit in archive.search(words, mode="fulltext")] == [title]
    errors = [(e["subject"], e["message"]) for e in report["errors"]]
    notices = [(n["subject"], n["message"]) for n in report["notices"]]
    if bomb == "content":
        assert errors == [("b-bomba.pdf", (
            "the PDF could not be read within 1024 MB of memory (page 1); it may be damaged "
            "or hostile; raise ALEJANDRIA_PDF_MAX_MEMORY_MB if it is a genuine large book"))]
        assert titles == {"Mareas", "Pan"}
    elif bomb == "image":
        assert errors == []
        assert notices == [("b-bomba.pdf", (
            "page 1: skipped an embedded image of 20000\u00d720000 pixels: more than the "
            f"{MAX_IMAGE_PIXELS:,} pixels an image may have"))]
        assert [hit.title for hit in archive.search("boyas de entrada", mode="fulltext")] == [
            "b bomba"]
        assert [(m.filename, m.width, m.height) for m in reads.media_links(archive)
                if m.kind == "image"] == [("page2-img1.png", 80, 80)]
        # the three books' own PDFs are kept too, the hostile one with them (core's probe
        # and thumbnails read them after the sync, within the limits above)
        assert sorted({m.filename for m in reads.media_links(archive)
                       if m.kind == "document"}) == ["a-mareas.pdf", "b-bomba.pdf", "c-pan.pdf"]
    else:
        assert errors == []
        posts = [post for post in reads.posts(archive) if post.title.startswith("Marcador")]
        assert len(posts) == 1 and len(posts[0].title) < MAX_MERGED_TITLE + 40
        assert "Epílogo" in {post.title for post in reads.posts(archive)}


def test_png_bytes_match_what_pillow_makes_of_the_figure(tmp_path: Path) -> None:
    """Decoded pixels cross the pipe unchanged: the PNG holds the very pixels embedded."""
    source = Image.frombytes("RGB", (96, 72), random.Random(0).randbytes(96 * 72 * 3))
    reader = isolated()
    try:
        with reader.open(figure_pdf(tmp_path / "f.pdf"), "f.pdf", find_images=True) as book:
            (image,) = book.page(1).images()
    finally:
        reader.close()
    with Image.open(io.BytesIO(image.image.data)) as png:
        assert png.size == (96, 72) and png.convert("RGB").tobytes() == source.tobytes()

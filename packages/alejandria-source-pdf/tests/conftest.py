"""Test PDFs, generated once per session with fpdf2, and a ``PdfSource`` factory."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image

from alejandria.models import SyncItem
from alejandria.testing import PluginManager, Settings, source_context
from alejandria_source_pdf.source import PdfSource

CREATED = dt.datetime(2024, 5, 17, 9, 30, 0, tzinfo=dt.UTC)
AUTHOR = "  Lucía   Fernández "
LOREM = (
    "La carta natal es un mapa del cielo en el momento exacto del nacimiento. "
    "Cada planeta ocupa un signo y una casa, y la relación entre ellos describe tendencias. "
)


@dataclass(frozen=True)
class SamplePdfs:
    book: Path  # outline: front matter p1, chapter 1 p2-3, chapter 2 p4-6, chapter 3 p7
    no_outline: Path  # 25 pages of text, no outline
    scanned: Path  # 3 pages that only hold an image each
    images: Path  # a figure on pages 1 and 2, an icon on 2, a figure on 3, a JPEG on 4
    encrypted: Path
    truncated: Path
    garbage: Path
    empty: Path
    png_named_pdf: Path
    text_named_pdf: Path


def new_pdf(title: str | None = None, author: str | None = None) -> FPDF:
    pdf = FPDF()
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creation_date(CREATED)
    pdf.set_font("helvetica", size=12)
    pdf.set_auto_page_break(False)
    if title is not None:
        pdf.set_title(title)
    if author is not None:
        pdf.set_author(author)
    return pdf


def make_book(path: Path, *, extra: str = "") -> Path:
    """A small Spanish book with a level-0 outline and level-1 sections inside chapter 2."""
    pdf = new_pdf(title="Manual de prueba", author=AUTHOR)
    pdf.add_page()
    pdf.cell(text="Manual de prueba")  # cover: front matter
    chapters = [
        ("Capítulo 1: Introducción", 2, []),
        ("Capítulo 2: La carta natal", 3, ["2.1 El ascendente", "2.2 Las casas"]),
        ("Capítulo 3: Tránsitos", 1, []),
    ]
    for title, pages, sections in chapters:
        for page in range(pages):
            pdf.add_page()
            if page == 0:
                pdf.start_section(title, level=0)
                pdf.cell(text=title, new_x="LMARGIN", new_y="NEXT")
            elif page - 1 < len(sections):
                pdf.start_section(sections[page - 1], level=1)
            pdf.multi_cell(0, 6, f"{title}, página {page + 1}. {LOREM}{extra}")
            if title.startswith("Capítulo 2") and page == 0:
                pdf.cell(text="Un ejem-", new_x="LMARGIN", new_y="NEXT")
                pdf.cell(text="plo de palabra partida.", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def pattern_image(width: int, height: int, seed: int) -> Image.Image:
    """A deterministic noisy RGB image (noise so that every seed gives different bytes)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    image.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256))
         for _ in range(width * height)]
    )
    return image


@pytest.fixture(scope="session")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> SamplePdfs:
    root = tmp_path_factory.mktemp("pdfs")

    book = make_book(root / "manual.pdf")

    no_outline = new_pdf(title="Untitled", author="Sam Carter")
    for number in range(1, 26):
        no_outline.add_page()
        no_outline.multi_cell(0, 6, f"Field note number {number}. Sparrows at the station.")
    no_outline.output(str(root / "field_notes-2024.pdf"))

    scanned = new_pdf(title="Escaneado")
    for seed in range(3):
        scanned.add_page()
        scanned.image(pattern_image(120, 160, seed), x=10, y=10, w=120)
    scanned.output(str(root / "scanned.pdf"))

    images = new_pdf(title="Imágenes")
    big, small, other = pattern_image(100, 80, 10), pattern_image(20, 20, 11), pattern_image(
        64, 64, 12
    )
    images.add_page()
    images.cell(text="Figure on page one")
    images.image(big, x=10, y=30, w=60)
    images.add_page()
    images.cell(text="The same figure again")
    images.image(big, x=10, y=30, w=60)
    images.image(small, x=100, y=30, w=10)
    images.add_page()
    images.cell(text="Another figure")
    images.image(other, x=10, y=30, w=40)
    images.add_page()
    images.cell(text="A photo")
    jpeg = io.BytesIO()
    pattern_image(96, 72, 13).save(jpeg, format="JPEG", quality=80)
    images.image(io.BytesIO(jpeg.getvalue()), x=10, y=30, w=60)  # embedded as DCTDecode
    images.output(str(root / "images.pdf"))

    encrypted = new_pdf(title="Secreto")
    encrypted.add_page()
    encrypted.cell(text="Texto secreto")
    encrypted.set_encryption(owner_password="owner", user_password="secret")
    encrypted.output(str(root / "encrypted.pdf"))

    data = book.read_bytes()
    (root / "truncated.pdf").write_bytes(data[: len(data) // 2])
    (root / "garbage.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 16)
    (root / "empty.pdf").write_bytes(b"")
    png = io.BytesIO()
    pattern_image(8, 8, 1).save(png, format="PNG")
    (root / "picture.pdf").write_bytes(png.getvalue())
    (root / "notes.pdf").write_text("Just some notes, not a PDF at all.\n" * 10)

    return SamplePdfs(
        book=book,
        no_outline=root / "field_notes-2024.pdf",
        scanned=root / "scanned.pdf",
        images=root / "images.pdf",
        encrypted=root / "encrypted.pdf",
        truncated=root / "truncated.pdf",
        garbage=root / "garbage.pdf",
        empty=root / "empty.pdf",
        png_named_pdf=root / "picture.pdf",
        text_named_pdf=root / "notes.pdf",
    )


@pytest.fixture
def make_source(plugin_manager: PluginManager,
                alejandria_settings: Settings) -> Callable[..., PdfSource]:
    """``make_source(**options)``: a ``PdfSource`` built as a sync builds it, no database."""

    def make(**options: object) -> PdfSource:
        return PdfSource(source_context(plugin_manager, alejandria_settings, options=options))

    return make


@pytest.fixture
def source(make_source: Callable[..., PdfSource]) -> PdfSource:
    return make_source()


@pytest.fixture
def fetch_all(source: PdfSource) -> Callable[..., list[SyncItem]]:
    """Resolve one path and fetch it completely."""

    def fetch(path: Path, cursor: dict[str, object] | None = None) -> list[SyncItem]:
        (target,) = source.resolve([str(path)])
        return list(source.fetch(target, cursor))

    return fetch


@pytest.fixture
def write_book() -> Callable[..., Path]:
    """``write_book(path, extra="...")`` writes the outline test book (with extra text)."""
    return make_book


@pytest.fixture
def pdf_created() -> dt.datetime:
    """The creation date every generated PDF carries."""
    return CREATED

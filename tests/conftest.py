"""Cross-package fixtures: real PDFs written with fpdf2, and the CLI run as a user runs it."""

from __future__ import annotations

import datetime as dt
import functools
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image

from alejandria.testing import CliResult, require, run_cli

REPO = Path(__file__).resolve().parents[1]
DEVELOPERS_REFERENCE = Path("/usr/share/developers-reference/developers-reference.pdf")


def noise_image(size: int, seed: int) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("RGB", (size, size), rng.randbytes(size * size * 3))


def write_book(path: Path, *, title: str, author: str, chapters: list[tuple[str, list[str]]],
               image_seed: int | None = None) -> Path:
    """A PDF with one outline entry per chapter and one page per paragraph."""
    pdf = FPDF()
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creation_date(dt.datetime(2024, 1, 2, tzinfo=dt.UTC))
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_font("helvetica", size=11)
    for chapter, pages in chapters:
        for number, paragraph in enumerate(pages):
            pdf.add_page()
            if number == 0:
                pdf.start_section(chapter)
                pdf.multi_cell(0, 6, chapter, new_x="LMARGIN", new_y="NEXT")
            pdf.multi_cell(0, 6, paragraph)
            if image_seed is not None and number == 0:
                pdf.image(noise_image(96, image_seed), x=20, y=120, w=40)
    pdf.output(str(path))
    return path


def write_secret(path: Path) -> Path:
    """A password-protected PDF."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.cell(text="Texto secreto")
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.output(str(path))
    return path


def write_scan(path: Path) -> Path:
    """A "scanned" PDF: pages that hold only a picture, no text layer."""
    pdf = FPDF()
    for seed in range(2):
        pdf.add_page()
        pdf.image(noise_image(120, 100 + seed), x=10, y=10, w=150)
    pdf.output(str(path))
    return path


@pytest.fixture
def cli_env(alejandria_database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEJANDRIA_")}
    env["ALEJANDRIA_DATABASE_URL"] = alejandria_database_url
    env["ALEJANDRIA_DATA_DIR"] = str(tmp_path / "data")
    # embedding with the local model costs seconds per sync; the semantic journey turns it on
    env["ALEJANDRIA_EMBED_AFTER_SYNC"] = "false"
    return env


@pytest.fixture
def alejandria(cli_env: dict[str, str]) -> Callable[..., CliResult]:
    """Run the real ``alejandria`` command in a subprocess, as a user or script would."""
    return functools.partial(run_cli, cli_env)


@pytest.fixture(scope="session")
def real_world_pdf() -> Path:
    require(DEVELOPERS_REFERENCE.exists(), "install Debian's developers-reference package "
            "(apt-get install developers-reference)")
    return DEVELOPERS_REFERENCE

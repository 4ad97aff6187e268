"""The ``pdf`` extractor: a PDF any source stores is searchable by its pages' words, and an
encrypted one is reported with its reason while the sync goes on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fpdf import FPDF

from alejandria.api import Archive
from alejandria.errors import MediaError
from alejandria.testing import PluginManager, Settings, reads
from alejandria_source_pdf import plugin
from alejandria_source_pdf.extract import ENCRYPTED_REASON
from alejandria_source_pdf.extractor import PdfExtractor

PAGE_TWO = "Las mareas vivas llegan con la luna nueva y con la luna llena."


def write_pdf(path: Path, pages: list[str], *, password: str | None = None) -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for page in pages:
        pdf.add_page()
        if page:
            pdf.multi_cell(0, 6, page)
    if password is not None:
        pdf.set_encryption(owner_password="owner", user_password=password)
    pdf.output(str(path))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder of files to archive: a tide guide (page 3 blank) and a locked PDF."""
    root = tmp_path / "descargas"
    root.mkdir()
    write_pdf(root / "guia-de-mareas.pdf",
              ["Guía de mareas para el verano.", PAGE_TWO, "", "Tabla de horarios del puerto."])
    write_pdf(root / "privado.pdf", ["Texto secreto del patrocinador."], password="secret")
    return root


def test_the_plugin_registers_a_pdf_extractor(plugin_manager: PluginManager,
                                              register_plugin: Callable[..., None],
                                              alejandria_settings: Settings) -> None:
    plugin_manager.unregister("pdf")  # the installed entry point's: register the module itself
    register_plugin(plugin, name="pdf")

    spec = plugin_manager.extractors()["pdf"]

    assert spec.mime_types == frozenset({"application/pdf"})
    assert isinstance(spec.factory(alejandria_settings), PdfExtractor)


def test_one_passage_per_page_with_text(folder: Path, alejandria_settings: Settings) -> None:
    extractor = PdfExtractor(alejandria_settings)

    passages = extractor.extract(folder / "guia-de-mareas.pdf", {"sha256": "ab" * 32})

    assert [(p.page, p.text) for p in passages] == [
        (1, "Guía de mareas para el verano."), (2, PAGE_TWO),
        (4, "Tabla de horarios del puerto.")]


def test_an_encrypted_pdf_raises_a_media_error_with_the_reason(
        folder: Path, alejandria_settings: Settings) -> None:
    with pytest.raises(MediaError) as raised:
        PdfExtractor(alejandria_settings).extract(folder / "privado.pdf", {})

    assert str(raised.value) == ENCRYPTED_REASON


def test_a_pdf_stored_by_another_source_is_found_by_page_two(archive: Archive,
                                                             folder: Path) -> None:
    report = archive.sync("files", folder)

    assert report.ok, report.errors
    hits = archive.search("mareas vivas luna nueva", mode="fulltext")
    assert [(hit.source, hit.title, hit.page) for hit in hits] == [
        ("files", "guia-de-mareas", 2)]
    assert "mareas vivas" in hits[0].snippet
    assert hits[0].media_id is not None
    assert archive.search("horarios del puerto", mode="fulltext")[0].page == 4
    # the text only: the extractor never stores a PDF's images as media of its own
    assert reads.count(archive, "media_files") == 2


def test_an_encrypted_pdf_is_reported_and_the_sync_goes_on(archive: Archive,
                                                           folder: Path) -> None:
    report = archive.sync("files", folder)

    assert report.ok
    (notice,) = [n for n in report.notices if n.subject.startswith("extract: ")]
    assert notice.message == ENCRYPTED_REASON
    (locked,) = [link for link in reads.media_links(archive) if link.filename == "privado.pdf"]
    (extracted,) = reads.derivatives(archive, locked.sha256, processor="extract")
    assert (extracted.status, extracted.error) == ("failed", ENCRYPTED_REASON)
    assert archive.search("texto secreto patrocinador", mode="fulltext") == []
    assert archive.search("mareas vivas", mode="fulltext")[0].title == "guia-de-mareas"

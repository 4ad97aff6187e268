"""The plugin registers the ``pdf`` source without importing PDFium."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from importlib import metadata

from alejandria.plugin_types import Source
from alejandria.testing import PluginManager, Settings, source_context
from alejandria_source_pdf import plugin
from alejandria_source_pdf.source import PdfSource


def test_registers_the_pdf_source(plugin_manager: PluginManager,
                                  register_plugin: Callable[..., None],
                                  alejandria_settings: Settings) -> None:
    plugin_manager.unregister("pdf")  # the installed entry point's: register the module itself
    register_plugin(plugin, name="pdf")

    spec = plugin_manager.sources()["pdf"]

    assert spec.plugin == "pdf"
    assert spec.description == "Local PDF books and documents"
    source = spec.factory(source_context(plugin_manager, alejandria_settings))
    assert isinstance(source, PdfSource)
    assert isinstance(source, Source)


def test_entry_point_names_the_plugin_module() -> None:
    (entry_point,) = [ep for ep in metadata.entry_points(group="alejandria") if ep.name == "pdf"]
    assert entry_point.value == "alejandria_source_pdf.plugin"


def test_plugin_import_does_not_load_pdfium() -> None:
    code = (
        "import sys, alejandria_source_pdf.plugin; "
        "heavy = [m for m in ('pypdfium2', 'PIL') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

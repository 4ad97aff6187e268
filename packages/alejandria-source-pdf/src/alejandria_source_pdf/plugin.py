"""Registers the ``pdf`` source, the ``pdf`` text extractor and their settings.

Importing this module must stay cheap: no PDFium here, the factories import it when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alejandria import hookimpl
from alejandria.plugin_types import (
    Extractor,
    ExtractorSpec,
    SettingsSpec,
    Source,
    SourceContext,
    SourceSpec,
)
from alejandria_source_pdf.settings import PdfSettings

if TYPE_CHECKING:
    from alejandria.settings import Settings


def create_source(context: SourceContext) -> Source:
    """Build a ``PdfSource``, importing PDFium only when a PDF sync actually runs."""
    from alejandria_source_pdf.source import PdfSource

    return PdfSource(context)


def create_extractor(settings: Settings) -> Extractor:
    """Build a ``PdfExtractor``, importing PDFium only when a PDF is extracted."""
    from alejandria_source_pdf.extractor import PdfExtractor

    return PdfExtractor(settings)


@hookimpl
def register_sources() -> list[SourceSpec]:
    return [
        SourceSpec(
            name="pdf",
            factory=create_source,
            description="Local PDF books and documents",
        )
    ]


@hookimpl
def register_extractors() -> list[ExtractorSpec]:
    return [
        ExtractorSpec(
            name="pdf",
            mime_types=frozenset({"application/pdf"}),
            factory=create_extractor,
            description="The text of PDFs any source stores, page by page",
        )
    ]


@hookimpl
def register_settings() -> list[SettingsSpec]:
    return [SettingsSpec(name="pdf", model=PdfSettings,
                         description="PDF reading limits and pages per post "
                                     "(-o key=value overrides them)")]

"""Registers the ``pdf`` source. Importing this module must stay cheap: no PDFium here."""

from __future__ import annotations

from alejandria import hookimpl
from alejandria.plugin_types import Source, SourceContext, SourceSpec


def create_source(context: SourceContext) -> Source:
    """Build a ``PdfSource``, importing PDFium only when a PDF sync actually runs."""
    from alejandria_source_pdf.source import PdfSource

    return PdfSource(context)


@hookimpl
def register_sources() -> list[SourceSpec]:
    return [
        SourceSpec(
            name="pdf",
            factory=create_source,
            description="Local PDF books and documents",
        )
    ]

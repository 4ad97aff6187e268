"""Alejandria source for local PDF books: one collection per file, one post per chapter.

The plugin module (``alejandria_source_pdf.plugin``) is what the ``alejandria`` entry point
names; ``alejandria_source_pdf.source.PdfSource`` is the source itself.
"""

from __future__ import annotations

__version__ = "0.1.0"

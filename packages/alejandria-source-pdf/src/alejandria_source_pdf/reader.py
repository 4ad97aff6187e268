"""How the source and the extractor open PDFs: isolated in a worker process by default.

A ``Reader`` opens a ``Book``; both kinds of book answer the same questions (page count,
metadata, outline, then each page in order), so callers do not know where PDFium runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from alejandria_source_pdf.chapters import OutlineEntry

if TYPE_CHECKING:
    from alejandria_source_pdf.extract import PageContent
    from alejandria_source_pdf.images import ImageLimits
    from alejandria_source_pdf.settings import PdfSettings


class Book(Protocol):
    """An open PDF. Pages are asked for in increasing order."""

    page_count: int

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None: ...

    def metadata(self) -> dict[str, str]: ...

    def outline(self) -> list[OutlineEntry]: ...

    def page(self, number: int) -> PageContent: ...

    def close(self) -> None: ...


class Reader(Protocol):
    def open(self, path: Path, subject: str, *, find_images: bool) -> Book:
        """Open ``path``; ``ItemRejected`` (naming ``subject``) when it cannot be read."""
        ...

    def close(self) -> None: ...


class InProcessReader:
    """Parses in this process: fast, but a hostile file can take the process down.

    For trusted files and for measuring what the isolation costs (``bench/pdf_bench.py``).
    """

    def __init__(self, image_limits: ImageLimits | None = None) -> None:
        self.image_limits = image_limits

    def open(self, path: Path, subject: str, *, find_images: bool) -> Book:
        from alejandria_source_pdf.extract import PdfBook

        return PdfBook(path, subject, find_images=find_images, image_limits=self.image_limits)

    def close(self) -> None:
        pass


def isolation_supported() -> bool:
    """The worker needs POSIX resource limits (``resource.setrlimit``) and ``select`` on pipes."""
    return os.name == "posix"


def reader_for(settings: PdfSettings) -> Reader:
    """The reader a sync or the extractor uses: isolated with the settings' limits where the
    platform allows it, else in this process."""
    if not isolation_supported():
        return InProcessReader()
    from alejandria_source_pdf.isolation import IsolatedReader, Limits

    return IsolatedReader(Limits.from_settings(settings))

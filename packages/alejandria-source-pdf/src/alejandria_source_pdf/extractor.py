"""The ``pdf`` extractor: the text of a PDF that any source stores, one passage per page.

Core's ``extract`` processor runs it for every stored ``application/pdf`` file (a PDF attached
to a Patreon post, a PDF the ``files`` source archives) and makes the passages searchable as
part of each post that holds the file, with their page numbers. It reads pages with the same
PDFium code and text clean-up as the ``pdf`` source, but never looks for images: those belong
to the posts of the ``pdf`` source, not to a document attached elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alejandria.errors import ItemRejected, MediaError
from alejandria.models import Availability, ChunkIn, JsonDict
from alejandria_source_pdf.reader import reader_for
from alejandria_source_pdf.settings import environment_settings

if TYPE_CHECKING:
    from alejandria.settings import Settings


class PdfExtractor:
    """Page text of stored PDFs; encrypted or damaged files raise ``MediaError`` with the same
    reasons the ``pdf`` source gives.

    Files are parsed in a worker process (one per extractor, reused from file to file) with
    the limits of ``ALEJANDRIA_PDF_MAX_MEMORY_MB`` and ``ALEJANDRIA_PDF_TIMEOUT_S``.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.reader = reader_for(environment_settings())

    def availability(self) -> Availability:
        return Availability.yes()  # pypdfium2 is a dependency of this package

    def extract(self, path: Path, media: JsonDict) -> list[ChunkIn]:
        """One passage per page that holds text (pages are 1-based), in page order."""
        subject = str(media.get("sha256") or path.name)[:12]
        try:
            with self.reader.open(path, subject, find_images=False) as book:
                pages = [book.page(number) for number in range(1, book.page_count + 1)]
        except ItemRejected as exc:
            # the processor names the file; the reason is what the user can act on
            raise MediaError(exc.reason) from exc
        return [ChunkIn(text=page.text, page=page.number) for page in pages if page.text]

"""The ``extract`` processor: documents any source stores become searchable.

For a stored document it runs the extractor registered for its MIME type
(``register_extractors``; the PDF plugin registers PDFs), keeps the passages once per file
(``media_passages``), and attaches them to every post that holds the file, so a PDF attached
to a Patreon post is found by what it says, with its page. A document no extractor reads is
recorded as done with nothing extracted.

A document that every post holding it holds as its original (``ORIGINAL_ROLE``: a book's PDF,
held by each chapter the ``pdf`` source read from it) is not read: its source gave its text
as those posts' own chunks, and extracting it would index every page again in every chapter.
It is recorded as done with ``{"skipped": SKIPPED_AS_ORIGINAL}`` (a skip with its reason, not a
failure); if a post later attaches the same file, that record is dropped when the link is
written, and the file is extracted for that post (``storage.passages``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alejandria.errors import AlejandriaError, MediaError
from alejandria.models import Availability
from alejandria.plugin_types import Extractor, ExtractorSpec, ProcessorContext
from alejandria.storage.passages import (
    SKIPPED_AS_ORIGINAL,
    Passage,
    attach,
    only_originals_hold,
    store_passages,
)
from alejandria.text.language import detect_language


class ExtractProcessor:
    def __init__(self, context: ProcessorContext) -> None:
        self.context = context
        self._extractors: dict[str, tuple[Extractor | None, str]] = {}

    def availability(self) -> Availability:
        if self.context.plugins is None or self.context.engine is None:
            return Availability.no("text extraction needs the archive's database")
        return Availability.yes()

    def process(self, path: Path, media: dict[str, Any]) -> dict[str, Any]:
        engine = self.context.engine
        assert engine is not None
        with engine.connect() as conn:
            if only_originals_hold(conn, int(media["id"])):
                return {"extractor": None, "skipped": SKIPPED_AS_ORIGINAL}
        spec = self._spec_for(media.get("mime_type") or "")
        if spec is None:
            return {"extractor": None}
        extractor, reason = self._extractor(spec)
        if extractor is None:
            raise MediaError(f"{spec.name} cannot run here: {reason}")
        try:
            chunks = list(extractor.extract(path, dict(media)))
        except MediaError:
            raise
        except AlejandriaError as exc:  # a plugin's ItemRejected: as readable, so kept
            raise MediaError(str(exc)) from exc
        languages = self.context.settings.search_languages
        sample = " ".join(chunk.text for chunk in chunks[:20])
        ts_config = detect_language(sample, languages)
        passages = [Passage(text=chunk.text, page=chunk.page, ts_config=ts_config)
                    for chunk in chunks if chunk.text.strip()]
        with engine.begin() as conn:
            media_id = int(media["id"])
            store_passages(conn, media_id, passages)
            attach(conn, media_id)  # every post holding this file, now
        return {"extractor": spec.name, "passages": len(passages),
                "characters": sum(len(passage.text) for passage in passages),
                "language": ts_config}

    def _spec_for(self, mime_type: str) -> ExtractorSpec | None:
        assert self.context.plugins is not None
        for spec in self.context.plugins.extractors().values():
            if mime_type in spec.mime_types:
                return spec
        return None

    def _extractor(self, spec: ExtractorSpec) -> tuple[Extractor | None, str]:
        if spec.name not in self._extractors:
            made = spec.factory(self.context.settings)
            availability = made.availability()
            self._extractors[spec.name] = ((made, "") if availability.available
                                           else (None, availability.reason or "unavailable"))
        return self._extractors[spec.name]

"""The PDF source passes core's source contract against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from alejandria.testing.contracts import SourceContract

SAMPLE_BOOKS = Path(__file__).resolve().parents[3] / "examples" / "books"


class TestPdfSourceContract(SourceContract):
    source_name = "pdf"

    @pytest.fixture
    def contract_targets(self, pdfs) -> list[str]:
        return [str(SAMPLE_BOOKS), str(pdfs.images), str(pdfs.scanned)]

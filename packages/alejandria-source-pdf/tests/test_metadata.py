"""Titles, authors and dates from the document information dictionary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from alejandria_source_pdf.metadata import (
    book_title,
    clean_author,
    creator_key,
    parse_pdf_date,
)

BOOK = Path("/books/astrologia_para-principiantes.pdf")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Astrología para principiantes", "Astrología para principiantes"),
        ("  Astrología \n para  principiantes ", "Astrología para principiantes"),
        ("Microsoft Word - Informe anual.docx", "Informe anual"),
        ("Microsoft Word - x.doc", "x"),
        ("notes.tex", "notes"),
        ("untitled", "astrologia para principiantes"),
        ("Untitled Document", "astrologia para principiantes"),
        ("", "astrologia para principiantes"),
        (None, "astrologia para principiantes"),
        ("Microsoft Word - Document.docx", "astrologia para principiantes"),
        ("---", "astrologia para principiantes"),
    ],
)
def test_book_title(raw: str | None, expected: str) -> None:
    assert book_title(raw, BOOK) == expected


def test_author_and_creator_key() -> None:
    assert clean_author("  Lucía   Fernández ") == "Lucía Fernández"
    assert clean_author("") == "Unknown author"
    assert clean_author(None) == "Unknown author"
    assert creator_key("Lucía  FERNÁNDEZ") == creator_key("lucía fernández") == "lucía fernández"
    assert creator_key("Straße") == "strasse"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("D:20230306180657Z", dt.datetime(2023, 3, 6, 18, 6, 57, tzinfo=dt.UTC)),
        (
            "D:20230306180657+01'00'",
            dt.datetime(2023, 3, 6, 18, 6, 57, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        ),
        (
            "D:20230306180657-05'30",
            dt.datetime(2023, 3, 6, 18, 6, 57,
                        tzinfo=dt.timezone(-dt.timedelta(hours=5, minutes=30))),
        ),
        ("D:2023", dt.datetime(2023, 1, 1, tzinfo=dt.UTC)),
        ("20230306", dt.datetime(2023, 3, 6, tzinfo=dt.UTC)),
        ("D:20231340000000Z", None),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_pdf_date(raw: str | None, expected: dt.datetime | None) -> None:
    parsed = parse_pdf_date(raw)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None

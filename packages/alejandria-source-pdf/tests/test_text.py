"""Page text normalisation."""

from __future__ import annotations

import pytest

from alejandria_source_pdf.text import normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("line one\r\nline two\r\n", "line one\nline two"),
        ("exam-\r\nple", "example"),
        ("año-\nnuevo", "añonuevo"),
        ("admin\ufffeistrator", "administrator"),  # PDFium's marker for a line-break hyphen
        ("admin\x02\r\nistrator", "administrator"),  # the same in older PDFium builds
        ("Debian-\nBased", "Debian-\nBased"),  # a capital: probably a real hyphen
        ("Foo\ufffeBar", "Foo-Bar"),
        ("pages 9-\n10", "pages 9-\n10"),
        ("tab\there\x00\x07\x1b\x7f", "tab\there"),
        ("soft\xadhyphen \ufeffBOM", "softhyphen BOM"),
        ("\ufb01ne and \ufb02ow", "fine and flow"),
        ("trailing   \nspaces\t\nend   ", "trailing\nspaces\nend"),
        ("  \n\n indented first line", "indented first line"),
        ("", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected

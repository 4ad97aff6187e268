"""Book-level facts from the PDF's document information: title, author, creation date."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

UNKNOWN_AUTHOR = "Unknown author"

#: Prefixes office suites put in front of the file name when they print to PDF.
_APP_PREFIX = re.compile(
    r"^(?:microsoft\s+(?:word|excel|powerpoint|office\s+word)|word|powerpoint)\s*-\s*",
    re.IGNORECASE,
)
#: File-name extensions that show a title is only the name of the source document.
_DOC_EXTENSION = re.compile(
    r"\.(?:docx?|odt|rtf|pptx?|xlsx?|pdf|tex|dvi|ps|txt|indd|pages|qxd|html?|md)$",
    re.IGNORECASE,
)
#: Titles that authoring tools fill in when the author did not set one.
_PLACEHOLDER_TITLES = frozenset({
    "untitled", "untitled document", "document", "title", "no title", "unknown", "none", "null",
    "(anonymous)", "anonymous", "blank", "new document", "slide 1", "pdf", "print",
})

_WHITESPACE = re.compile(r"\s+")
_PDF_DATE = re.compile(
    r"^(?:D:)?(?P<year>\d{4})(?P<month>\d{2})?(?P<day>\d{2})?"
    r"(?P<hour>\d{2})?(?P<minute>\d{2})?(?P<second>\d{2})?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<tzh>\d{2})'?(?P<tzm>\d{2})?'?)?"
)


def collapse_whitespace(value: str) -> str:
    return _WHITESPACE.sub(" ", value).strip()


def clean_author(raw: str | None) -> str:
    """The author as the document names it, or ``Unknown author``."""
    author = collapse_whitespace(raw or "")
    return author or UNKNOWN_AUTHOR


def creator_key(author: str) -> str:
    """A stable creator id: ``Lucía  Fernández`` and ``lucía fernández`` are one creator."""
    return collapse_whitespace(author).casefold()


def book_title(raw: str | None, path: Path) -> str:
    """The document's Title when it is a real title, else a title made from the file name.

    Tools often store junk there: ``Microsoft Word - notes.doc``, ``untitled``, the name of the
    source file. Office prefixes and file extensions are cut off; placeholders are ignored.
    """
    title = collapse_whitespace(raw or "")
    title = _APP_PREFIX.sub("", title)
    title = _DOC_EXTENSION.sub("", title).strip()
    if title and title.casefold() not in _PLACEHOLDER_TITLES and any(c.isalnum() for c in title):
        return title
    return title_from_filename(path)


def title_from_filename(path: Path) -> str:
    """``astrologia_para-principiantes.pdf`` becomes ``astrologia para principiantes``."""
    name = collapse_whitespace(path.stem.replace("_", " ").replace("-", " "))
    return name or path.name


def parse_pdf_date(raw: str | None) -> datetime | None:
    """Parse a PDF date (``D:20230306180657+01'00'``) into an aware datetime.

    A date without a time zone is taken as UTC; anything unparseable gives None.
    """
    if not raw:
        return None
    match = _PDF_DATE.match(raw.strip())
    if match is None:
        return None
    parts = match.groupdict()
    try:
        tz: timezone = UTC
        if parts["sign"]:
            offset = timedelta(hours=int(parts["tzh"]), minutes=int(parts["tzm"] or 0))
            tz = timezone(-offset if parts["sign"] == "-" else offset)
        return datetime(
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None

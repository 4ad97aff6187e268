"""Clean-up of the plain text PDFium extracts from one page.

This runs on every page of every book, so it avoids regexes that would test every character
and only does work where the cheap ``in`` checks find something to fix.
"""

from __future__ import annotations

import re

#: PDFium replaces a hyphen that breaks a word at the end of a line (together with the line
#: break) by U+FFFE; older builds used U+0002. Either one means "hyphen at a line break".
_HYPHEN_MARKERS = ("\ufffe", "\x02")

#: Characters that are dropped or replaced: control characters except tab and newline, the
#: soft hyphen (only a hint where a word may break), BOMs, leftover hyphen markers, ligatures.
_SPECIAL = re.compile("[\x00-\x08\x0b-\x1f\x7f\xad\ufb00-\ufb06\ufeff\ufffe\uffff]")
_REPLACEMENTS = {
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st", "\ufffe": "-",
}
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def normalize_text(raw: str) -> str:
    """Turn PDFium's page text into clean plain text for search and display.

    Line breaks become ``\\n``, control characters go (tab and newline stay), words hyphenated
    across a line break are joined when the next line continues in lowercase (``exam-\\nple``
    becomes ``example``, ``Debian-\\nBased`` keeps its hyphen), ligatures are spelled out and
    trailing spaces are stripped.
    """
    if not raw:
        return ""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    for marker in _HYPHEN_MARKERS:
        if marker in text:
            text = _join_broken_words(text, marker, marker=True)
    if "-\n" in text:
        text = _join_broken_words(text, "-\n", marker=False)
    text = _SPECIAL.sub(_replacement, text)
    if " \n" in text or "\t\n" in text:
        text = _TRAILING_SPACE.sub("\n", text)
    return text.strip()


def _replacement(match: re.Match[str]) -> str:
    return _REPLACEMENTS.get(match.group(), "")


def _join_broken_words(text: str, separator: str, *, marker: bool) -> str:
    """Remove ``separator`` (a hyphen at a line break) between a letter and a lowercase letter.

    Elsewhere a PDFium marker becomes a plain hyphen and a spelled-out ``-\\n`` stays as it is.
    """
    parts = text.split(separator)
    pieces = [parts[0]]
    for part in parts[1:]:
        line_break = ""
        if marker and part.startswith("\n"):
            part, line_break = part[1:], "\n"
        before, after = pieces[-1][-1:], part[:1]
        if before.isalpha() and after.isalpha() and after.islower():
            pieces.append(part)
        else:
            pieces.append(("-" + line_break if marker else separator) + part)
    return "".join(pieces)

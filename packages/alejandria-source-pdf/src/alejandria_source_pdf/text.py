"""Clean-up of the plain text PDFium extracts from one page."""

from __future__ import annotations

import re

#: PDFium replaces a hyphen that breaks a word at the end of a line (together with the line
#: break) by U+FFFE; older builds used U+0002. Either one means "hyphen at a line break".
_HYPHEN_MARKERS = "\ufffe\x02"

#: A hyphen at a line break between two letters, either as PDFium's marker or spelled out.
_BROKEN_WORD = re.compile(r"(?<=[^\W\d_])(?:-\n|[\ufffe\x02]\n?)(?=[^\W\d_])")

#: Characters that are dropped or replaced: control characters except tab and newline, the
#: soft hyphen (only a hint where a word may break), BOMs, leftover hyphen markers, ligatures.
_SPECIAL = re.compile("[\x00-\x08\x0b-\x1f\x7f\xad\ufb00-\ufb06\ufeff\ufffe\uffff]")
_REPLACEMENTS = {
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st", "\ufffe": "-",
}
_TRAILING_SPACE = re.compile(r"[^\S\n]+$", re.MULTILINE)


def _join_broken_word(match: re.Match[str]) -> str:
    """Drop the hyphen of ``exam-\\nple``; keep it before a capital (``Debian-\\nBased``)."""
    if match.string[match.end()].islower():
        return ""
    return match.group() if match.group()[0] == "-" else "-"


def normalize_text(raw: str) -> str:
    """Turn PDFium's page text into clean plain text for search and display.

    Line breaks become ``\\n``, control characters go (tab and newline stay), words hyphenated
    across a line break are joined when the next line continues in lowercase, ligatures are
    spelled out and trailing spaces are stripped.
    """
    if not raw:
        return ""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "-\n" in text or any(marker in text for marker in _HYPHEN_MARKERS):
        text = _BROKEN_WORD.sub(_join_broken_word, text)
    # A regex finds the rare special characters much faster than str.translate walks them all.
    text = _SPECIAL.sub(lambda match: _REPLACEMENTS.get(match.group(), ""), text)
    return _TRAILING_SPACE.sub("", text).strip()

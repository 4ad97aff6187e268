"""Turning ``ts_headline`` output into a plain snippet plus highlight offsets."""

from __future__ import annotations

import re

from alejandria.text.accents import HIGHLIGHT_START, HIGHLIGHT_STOP, restore_accents

_SPACES = re.compile(r"\s+")


def build_snippet(headline: str, original: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Restore accents, collapse whitespace and extract the highlighted spans."""
    marked = _SPACES.sub(" ", restore_accents(headline, original)).strip()
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start: int | None = None
    for char in marked:
        if char == HIGHLIGHT_START:
            start = length
        elif char == HIGHLIGHT_STOP:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            plain.append(char)
            length += 1
    return "".join(plain), tuple(spans)


def mark(snippet: str, highlights: tuple[tuple[int, int], ...], before: str, after: str) -> str:
    """Wrap each highlighted span of ``snippet`` in ``before``/``after``."""
    out: list[str] = []
    cursor = 0
    for start, end in highlights:
        out.append(snippet[cursor:start])
        out.append(before + snippet[start:end] + after)
        cursor = end
    out.append(snippet[cursor:])
    return "".join(out)

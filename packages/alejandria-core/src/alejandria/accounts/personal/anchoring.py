"""Text-quote anchoring (the W3C Web Annotation ``TextQuoteSelector`` with a position hint):
pure functions over strings, used when a highlight is made and when its text changes."""

from __future__ import annotations

from dataclasses import dataclass

#: Characters of context kept before and after a quote.
CONTEXT = 32
#: At most this many occurrences of a quote are weighed (a one-letter quote in a book).
MAX_CANDIDATES = 1000


@dataclass(frozen=True)
class Anchor:
    """Where a quote is: ``text[start:end] == exact``, with its context."""

    start: int
    end: int
    exact: str
    prefix: str
    suffix: str


def anchor_at(text: str, start: int, end: int) -> Anchor:
    """The anchor of ``text[start:end]``."""
    return Anchor(start, end, text[start:end], text[max(0, start - CONTEXT):start],
                  text[end:end + CONTEXT])


def occurrences(text: str, exact: str) -> list[int]:
    found: list[int] = []
    at = text.find(exact)
    while at >= 0 and len(found) < MAX_CANDIDATES:
        found.append(at)
        at = text.find(exact, at + 1)
    return found


def _common_suffix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def locate(text: str, exact: str, prefix: str = "", suffix: str = "",
           hint: int | None = None) -> Anchor | None:
    """Find the quote in ``text``: first where quote, prefix and suffix all match, else where
    the quote with the most matching context is (ties: nearest ``hint``); None when the quote
    is not in the text at all."""
    if not exact:
        return None
    candidates = occurrences(text, exact)
    if not candidates:
        return None

    def score(at: int) -> tuple[int, int, int]:
        before = text[max(0, at - len(prefix)):at]
        after = text[at + len(exact):at + len(exact) + len(suffix)]
        full = int(before == prefix and after == suffix)
        context = _common_suffix(before, prefix) + _common_prefix(after, suffix)
        distance = 0 if hint is None else abs(at - hint)
        return (full, context, -distance)

    best = max(candidates, key=score)
    return anchor_at(text, best, best + len(exact))

"""How a book is split into posts: chapters from its outline, or fixed windows of pages.

Pure functions over page numbers (1-based everywhere); nothing here touches PDFium.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

from alejandria_source_pdf.metadata import collapse_whitespace

FRONT_MATTER_TITLE = "Front matter"
TITLE_SEPARATOR = " / "
#: A chapter title joined from the titles of same-page entries stops growing past this.
MAX_MERGED_TITLE = 500


@dataclass(frozen=True, slots=True)
class OutlineEntry:
    """One bookmark of the PDF's outline. ``page`` is None when its destination is unusable."""

    level: int
    title: str
    page: int | None


@dataclass(frozen=True, slots=True)
class Section:
    """A run of pages that becomes one post.

    ``front_matter`` marks the pages before the first chapter; the source drops that section
    when those pages hold nothing (no text, no images).
    """

    title: str
    first_page: int
    last_page: int
    front_matter: bool = False

    @property
    def pages(self) -> range:
        return range(self.first_page, self.last_page + 1)


def plan_sections(
    outline: Sequence[OutlineEntry], page_count: int, pages_per_post: int, book_title: str
) -> list[Section]:
    """Chapters from the outline when it is usable, else windows of ``pages_per_post`` pages."""
    chapters = chapters_from_outline(outline, page_count)
    if chapters is not None:
        return chapters
    return page_windows(page_count, pages_per_post, book_title)


def chapters_from_outline(
    outline: Sequence[OutlineEntry], page_count: int
) -> list[Section] | None:
    """Sections from the shallowest outline level with two or more distinct start pages.

    A book whose outline has one root (the book itself) with the chapters below it is thus
    split by chapter. Entries on the same start page are one chapter with their titles joined.
    Returns None when no level is usable.
    """
    levels = sorted({entry.level for entry in outline})
    for level in levels:
        starts = _chapter_starts(outline, level, page_count)
        if len(starts) >= 2:
            return _sections_from_starts(starts, page_count)
    return None


def _chapter_starts(
    outline: Sequence[OutlineEntry], level: int, page_count: int
) -> list[tuple[int, str]]:
    """(start page, title) of the entries at ``level``, by page, same-page entries merged."""
    return [
        (page, _merge_titles(title for _, title in entries) or f"Page {page}")
        for page, entries in groupby(_entries_by_page(outline, level, page_count),
                                     key=itemgetter(0))
    ]


def _merge_titles(titles: Iterable[str]) -> str:
    """``Part I / Chapter 1``: the titles joined, leaving out empty ones and any title that
    already appears in what was joined so far (ignoring case).

    Past ``MAX_MERGED_TITLE`` characters nothing more is joined and `` / …`` says so, which
    keeps this linear: an outline of 100,000 entries on one page would otherwise make a title
    of megabytes, each entry searched for in all the ones before it.
    """
    merged: list[str] = []
    folded = ""  # the casefolded join so far (casefold maps each character on its own)
    length = 0
    cut = False
    for title in titles:
        if not title:
            continue
        key = title.casefold()
        if key in folded:
            continue
        if length >= MAX_MERGED_TITLE:
            cut = True
            continue
        folded = f"{folded}{TITLE_SEPARATOR}{key}" if merged else key
        length += len(title) + (len(TITLE_SEPARATOR) if merged else 0)
        merged.append(title)
    return TITLE_SEPARATOR.join(merged) + (f"{TITLE_SEPARATOR}\u2026" if cut else "")


def _entries_by_page(
    outline: Sequence[OutlineEntry], level: int, page_count: int
) -> list[tuple[int, str]]:
    """Valid entries of one level sorted by page, in outline order among same-page entries."""
    valid = [
        (entry.page, collapse_whitespace(entry.title))
        for entry in outline
        if entry.level == level and entry.page is not None and 1 <= entry.page <= page_count
    ]
    return sorted(valid, key=lambda item: item[0])


def _sections_from_starts(starts: list[tuple[int, str]], page_count: int) -> list[Section]:
    sections: list[Section] = []
    first_start = starts[0][0]
    if first_start > 1:
        sections.append(Section(FRONT_MATTER_TITLE, 1, first_start - 1, front_matter=True))
    for index, (start, title) in enumerate(starts):
        end = starts[index + 1][0] - 1 if index + 1 < len(starts) else page_count
        sections.append(Section(title, start, end))
    return sections


def page_windows(page_count: int, pages_per_post: int, book_title: str) -> list[Section]:
    """Windows titled ``Pages 1–10``, ``Pages 11–20``...; a short document is one post."""
    if page_count <= pages_per_post:
        return [Section(book_title, 1, max(page_count, 1))]
    sections: list[Section] = []
    for first in range(1, page_count + 1, pages_per_post):
        last = min(first + pages_per_post - 1, page_count)
        title = f"Page {first}" if first == last else f"Pages {first}\u2013{last}"
        sections.append(Section(title, first, last))
    return sections

"""Splitting a book into sections: outline levels, same-page entries, front matter, windows."""

from __future__ import annotations

from alejandria_source_pdf.chapters import (
    FRONT_MATTER_TITLE,
    OutlineEntry,
    Section,
    page_windows,
    plan_sections,
)


def spans(sections: list[Section]) -> list[tuple[str, int, int]]:
    return [(s.title, s.first_page, s.last_page) for s in sections]


def test_shallowest_level_with_two_entries_wins() -> None:
    outline = [
        OutlineEntry(0, "The Book", 1),  # a single root: not a chapter level
        OutlineEntry(1, "One", 3),
        OutlineEntry(2, "1.1", 4),
        OutlineEntry(1, "Two", 10),
        OutlineEntry(2, "2.1", 11),
        OutlineEntry(1, "Three", 15),
    ]
    assert spans(plan_sections(outline, 20, 10, "Book")) == [
        (FRONT_MATTER_TITLE, 1, 2), ("One", 3, 9), ("Two", 10, 14), ("Three", 15, 20),
    ]
    assert plan_sections(outline, 20, 10, "Book")[0].front_matter


def test_no_front_matter_when_the_first_chapter_starts_on_page_one() -> None:
    outline = [OutlineEntry(0, "A", 1), OutlineEntry(0, "B", 2)]
    assert spans(plan_sections(outline, 3, 10, "Book")) == [("A", 1, 1), ("B", 2, 3)]


def test_entries_are_sorted_by_page_and_invalid_pages_ignored() -> None:
    outline = [
        OutlineEntry(0, "Late", 8),
        OutlineEntry(0, "Broken", None),
        OutlineEntry(0, "Beyond the end", 99),
        OutlineEntry(0, "Early", 2),
    ]
    assert spans(plan_sections(outline, 10, 10, "Book")) == [
        (FRONT_MATTER_TITLE, 1, 1), ("Early", 2, 7), ("Late", 8, 10),
    ]


def test_same_page_entries_are_one_chapter() -> None:
    outline = [
        OutlineEntry(0, "Part I", 3),
        OutlineEntry(0, "Chapter 1", 3),
        OutlineEntry(0, "Chapter 1", 3),
        OutlineEntry(0, "  Chapter\n 2 ", 6),
    ]
    assert spans(plan_sections(outline, 9, 10, "Book")) == [
        (FRONT_MATTER_TITLE, 1, 2), ("Part I / Chapter 1", 3, 5), ("Chapter 2", 6, 9),
    ]


def test_untitled_entry_is_named_by_its_page() -> None:
    outline = [OutlineEntry(0, "", 1), OutlineEntry(0, "Next", 4)]
    assert spans(plan_sections(outline, 5, 10, "Book")) == [("Page 1", 1, 3), ("Next", 4, 5)]


def test_outline_without_two_distinct_pages_falls_back_to_windows() -> None:
    outline = [OutlineEntry(0, "Only", 1), OutlineEntry(0, "Same", 1), OutlineEntry(1, "x", None)]
    assert spans(plan_sections(outline, 12, 5, "Book")) == [
        ("Pages 1–5", 1, 5), ("Pages 6–10", 6, 10), ("Pages 11–12", 11, 12),
    ]


def test_windows() -> None:
    assert spans(page_windows(25, 10, "Book")) == [
        ("Pages 1–10", 1, 10), ("Pages 11–20", 11, 20), ("Pages 21–25", 21, 25),
    ]
    assert spans(page_windows(21, 10, "Book"))[-1] == ("Page 21", 21, 21)
    assert spans(page_windows(10, 10, "Book")) == [("Book", 1, 10)]
    assert spans(page_windows(1, 10, "Book")) == [("Book", 1, 1)]

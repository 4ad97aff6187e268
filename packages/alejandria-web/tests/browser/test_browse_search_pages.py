"""Browsing and search in a real browser: the filter form swaps the list with htmx and
pushes its URL; typing in the header's box, picking a mode and opening a hit (a transcript
hit opens the post at the hit's moment); screenshots of each page at desktop and phone width,
with no console error or CSP refusal."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

# the catalogue of the pages' tests (a sibling folder: no absolute name to import it by)
from ..pages.shelf import HOSTILE_TITLE, Shelf, shelf_fixture  # noqa: F401, TID252
from .conftest import LiveServer, describe, errors_of, login, run_axe, screenshot

PASSWORD = "correct horse battery staple"


def signed_in_page(page: Page, live_server: LiveServer, username: str = "alice") -> Page:
    login(page, live_server.url, username, PASSWORD)
    return page


def test_filters_swap_the_posts_and_push_the_url(page: Page, live_server: LiveServer,
                                                 shelf: Shelf, people: Any) -> None:
    signed_in_page(page, live_server)
    page.goto("/posts")
    expect(page.locator("#post-results .post-card")).to_have_count(4)
    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Creator").select_option(label="Carla Cantante")
    expect(page).to_have_url(re.compile(rf"/posts\?sort=newest&creator={shelf.carla}$"))
    expect(page.locator("#post-results .post-card")).to_have_count(2)
    page.get_by_label("Sort").select_option("title")
    expect(page).to_have_url(re.compile(r"sort=title"))
    expect(page.locator("#post-results .card-title").first).to_have_text(HOSTILE_TITLE)
    assert page.evaluate("window.alerted === undefined")
    page.go_back()
    expect(page.locator("#post-results .post-card")).to_have_count(2)
    errors_of(page).assert_none()


def test_search_from_the_header_pick_a_mode_and_open_a_transcript_hit(
        page: Page, live_server: LiveServer, shelf: Shelf, catalogue: Any,
        people: Any) -> None:
    signed_in_page(page, live_server)
    page.goto("/")
    box = page.get_by_role("searchbox", name="Search the archive")
    box.fill("eclipses")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=eclipses$"))
    hit = page.locator(".hit-title a")
    expect(hit).to_have_text(["Capítulo 2: Eclipses"])
    expect(page.locator(".hit-snippet mark").first).to_have_text(re.compile("eclipses", re.I))

    page.locator("#search-q").fill("mundo")
    page.locator(".mode-option", has_text="Transcripts").click()
    expect(page).to_have_url(re.compile(r"/search\?q=mundo&mode=transcripts$"))
    expect(page.locator(".mode-hint")).to_contain_text("audio and video")
    expect(hit).to_have_text(["Carta natal"])
    expect(page.locator(".hit-kind")).to_have_text("Transcript at 0:02")
    errors_of(page).assert_none()
    violations = run_axe(page)
    assert not violations, describe(violations)

    hit.click()
    expect(page).to_have_url(re.compile(
        rf"/posts/{catalogue.post_id}\?t=1\.5&media={catalogue.audio_id}$"))


def test_a_pdf_page_hit_and_the_more_link_keep_working_without_htmx(
        new_page: Any, live_server: LiveServer, shelf: Shelf, people: Any) -> None:
    page = new_page(java_script_enabled=False)
    signed_in_page(page, live_server)
    page.goto("/search?q=luna&mode=fulltext")
    expect(page.locator(".hit-title a")).to_have_count(2)
    page.locator(".hit-title a", has_text="Eclipses").click()
    expect(page).to_have_url(re.compile(rf"/posts/{shelf.posts['b2']}#page-7$"))


def test_screenshots_of_the_browse_and_search_pages(new_page: Any, live_server: LiveServer,
                                                    shelf: Shelf, catalogue: Any,
                                                    people: Any) -> None:
    pages = {"posts": "/posts", "creators": "/creators",
             "creator": f"/creators/{shelf.bruno}", "collections": "/collections",
             "collection": f"/collections/{shelf.book}",
             "search": "/search?q=luna&published_after=2023-01-01",
             "search-transcripts": "/search?q=mundo&mode=transcripts",
             "search-start": "/search", "search-nothing": "/search?q=xilófono&mode=fulltext"}
    for width, height, label in ((1280, 800, "desktop"), (390, 844, "phone")):
        options: dict[str, Any] = {"is_mobile": True, "has_touch": True} \
            if label == "phone" else {}
        page = new_page(width, height, **options)
        signed_in_page(page, live_server)
        for name, url in pages.items():
            answer = page.goto(url)
            assert answer is not None and answer.status == 200, url
            screenshot(page, f"browse-search-{name}-{label}")
            # nothing wider than the screen
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (url, label)
        errors_of(page).assert_none()
        violations = run_axe(page)
        assert not violations, describe(violations)
    dark = new_page(color_scheme="dark")
    signed_in_page(dark, live_server)
    for name in ("posts", "search"):
        dark.goto(pages[name])
        screenshot(dark, f"browse-search-{name}-dark")
    violations = run_axe(dark)
    assert not violations, describe(violations)

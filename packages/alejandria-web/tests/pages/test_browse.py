"""Browsing pages: every post with filters, sort and cursor pages; the creators and one
creator's posts; the collections and one collection; the htmx part the filter form swaps;
empty states; Spanish."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from alejandria_web.pages import browse

from .shelf import HOSTILE_TITLE, Shelf, shelf_fixture  # noqa: F401  (the fixture)


def titles(page: str) -> list[str]:
    """The titles of the post cards on a page, in order."""
    return [unescape(found) for found in
            re.findall(r'<h3 class="card-title">(.*?)</h3>', page, re.S)]


def test_all_posts_newest_first_with_every_filter_and_sort(shelf: Shelf,
                                                           signed_in: Any) -> None:
    alice = signed_in("user")
    newest = alice.get("/posts")
    assert newest.status_code == 200, newest.text
    assert titles(newest.text) == ["Capítulo 2: Eclipses", "Capítulo 1: La luna nueva",
                                   HOSTILE_TITLE, "Canciones de cuna"]
    assert titles(alice.get("/posts?sort=oldest").text)[0] == "Canciones de cuna"
    assert titles(alice.get("/posts?sort=title").text) == sorted(
        titles(newest.text), key=str.lower)

    def shown(query: str) -> set[str]:
        return set(titles(alice.get(f"/posts?{query}").text))

    assert shown(f"creator={shelf.carla}") == {"Canciones de cuna", HOSTILE_TITLE}
    assert shown(f"collection={shelf.book}") == {"Capítulo 1: La luna nueva",
                                                 "Capítulo 2: Eclipses"}
    assert shown("media_kind=image") == {"Canciones de cuna"}
    assert shown("tag=música") == {"Canciones de cuna"}
    assert shown("published_after=2024-01-10") == {"Capítulo 1: La luna nueva",
                                                   "Capítulo 2: Eclipses"}
    # "until" is the last day shown: the 10th of January is in it
    assert shown("published_before=2024-01-10") == {"Capítulo 1: La luna nueva",
                                                    "Canciones de cuna", HOSTILE_TITLE}
    assert shown("source=shelf&published_after=2023-06-15&published_before=2023-12-31") == {
        HOSTILE_TITLE}
    assert shown("source=elsewhere") == set()
    # an empty field of the plain form, or nonsense, is no filter (never a 400)
    assert len(shown("creator=&published_after=&media_kind=&tag=&sort=bogus&collection=x")) == 4


def test_the_form_shows_what_is_chosen_and_an_empty_result_says_what_to_do(
        shelf: Shelf, signed_in: Any) -> None:
    page = signed_in("user").get(f"/posts?creator={shelf.carla}&tag=nada&sort=title").text
    assert f'<option value="{shelf.carla}" selected>Carla Cantante</option>' in page
    assert '<option value="title" selected>' in page
    assert 'value="nada"' in page and "<details class=\"filter-details\" open>" in page
    assert "No posts match these filters." in page
    assert 'href="/posts?sort=title">Clear filters' in page


def test_hostile_titles_are_escaped_in_lists(shelf: Shelf, signed_in: Any) -> None:
    page = signed_in("user").get("/posts").text
    assert HOSTILE_TITLE not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_pages_follow_the_next_cursor_and_keep_the_filters(
        shelf: Shelf, signed_in: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browse, "PAGE_SIZE", 1)
    alice = signed_in("user")
    seen: list[str] = []
    url: str | None = f"/posts?source=shelf&sort=title&creator={shelf.bruno}"
    while url:
        page = alice.get(url).text
        seen.extend(titles(page))
        found = re.search(r'<a class="button" href="([^"]+)">Next page', page)
        url = unescape(found.group(1)) if found else None
        if url:
            assert "source=shelf" in url and "sort=title" in url
            assert f"creator={shelf.bruno}" in url and "cursor=" in url
    assert seen == ["Capítulo 1: La luna nueva", "Capítulo 2: Eclipses"]


def test_a_bad_cursor_is_a_readable_error_page(shelf: Shelf, signed_in: Any) -> None:
    answer = signed_in("user").get("/posts?cursor=nonsense")
    assert answer.status_code == 400
    assert "<html" in answer.text and "invalid page cursor" in answer.text
    # a long cursor (a title sort's holds a whole title) is read, not dropped for page 1
    long = signed_in("user").get("/posts?sort=title&cursor=" + "A" * 600)
    assert long.status_code == 400


def test_the_filter_form_swaps_only_the_results_with_htmx(shelf: Shelf,
                                                          signed_in: Any) -> None:
    page = signed_in("user").get("/posts").text
    assert 'hx-get="/posts" hx-target="#post-results"' in page and 'hx-push-url="true"' in page
    part = signed_in("user").get(f"/posts?creator={shelf.bruno}", headers={
        "HX-Request": "true", "HX-Target": "post-results"})
    assert part.text.lstrip().startswith('<div id="post-results"')
    assert "<html" not in part.text
    assert set(titles(part.text)) == {"Capítulo 1: La luna nueva", "Capítulo 2: Eclipses"}
    # going back in history asks for the whole page
    restore = signed_in("user").get("/posts", headers={
        "HX-Request": "true", "HX-Target": "post-results", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_creators_list_with_their_counts(shelf: Shelf, signed_in: Any) -> None:
    page = signed_in("readonly").get("/creators").text
    assert f'href="/creators/{shelf.bruno}">Bruno Bibliotecario</a>' in page
    assert f'href="/creators/{shelf.carla}">Carla Cantante</a>' in page
    assert "2 posts" in page and "1 collection" in page
    assert "Bruno" not in signed_in("readonly").get("/creators?source=elsewhere").text


def test_a_creator_page_lists_only_their_posts(shelf: Shelf, signed_in: Any) -> None:
    page = signed_in("user").get(f"/creators/{shelf.carla}")
    assert page.status_code == 200
    assert set(titles(page.text)) == {"Canciones de cuna", HOSTILE_TITLE}
    assert 'name="creator"' not in page.text  # the page's own filter is not offered
    bruno = signed_in("user").get(f"/creators/{shelf.bruno}?sort=oldest").text
    assert titles(bruno) == ["Capítulo 1: La luna nueva", "Capítulo 2: Eclipses"]
    assert f'href="/collections/{shelf.book}"' in bruno
    assert 'href="https://example.com/bruno"' in bruno
    part = signed_in("user").get(f"/creators/{shelf.carla}?media_kind=image", headers={
        "HX-Request": "true", "HX-Target": "post-results"}).text
    assert titles(part) == ["Canciones de cuna"]
    assert signed_in("user").get("/creators/987654").status_code == 404
    nothing = signed_in("user").get(f"/creators/{shelf.dora}").text
    assert "This creator has no posts archived yet." in nothing and titles(nothing) == []


def test_collections_and_a_collection_in_reading_order(shelf: Shelf, signed_in: Any) -> None:
    alice = signed_in("user")
    listed = alice.get("/collections").text
    assert f'href="/collections/{shelf.book}"' in listed and "El libro de la luna" in listed
    assert "El libro de la luna" in alice.get(f"/collections?creator={shelf.bruno}").text
    assert "El libro de la luna" not in alice.get(f"/collections?creator={shelf.carla}").text
    page = alice.get(f"/collections/{shelf.book}").text
    assert titles(page) == ["Capítulo 1: La luna nueva", "Capítulo 2: Eclipses"]
    assert "Un libro sobre la luna." in page and 'name="collection"' not in page
    assert f'href="/search?collection={shelf.book}"' in page


def test_empty_archive_says_what_to_do(signed_in: Any) -> None:
    alice = signed_in("user")
    assert "Nothing archived yet" in alice.get("/posts").text
    assert "No creators yet" in alice.get("/creators").text
    assert "No collections yet" in alice.get("/collections").text


def test_browse_pages_in_spanish(shelf: Shelf, signed_in: Any) -> None:
    alice = signed_in("user")
    assert alice.patch("/api/v1/me/preferences", json={"language": "es"}).status_code == 200
    page = alice.get("/posts").text
    assert "<h1>Todas las publicaciones</h1>" in page and 'lang="es"' in page
    assert "Más recientes primero" in page and "Filtros" in page
    assert "2 publicaciones" in alice.get("/creators").text
    assert "1 colección" in alice.get(f"/creators/{shelf.bruno}").text

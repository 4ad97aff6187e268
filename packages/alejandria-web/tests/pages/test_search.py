"""The search page: hits with <mark>ed snippets and nothing else of a post's text as markup,
links to the place of each hit (a PDF page, a transcript's moment), modes and filters, the
personal filters (one's own only; none for readonly), a mode that cannot run, the htmx part,
pages of hits, Spanish."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from alejandria_web.pages import search as search_page
from alejandria_web.pages.search import highlighted

from .shelf import HOSTILE_TITLE, Shelf, shelf_fixture  # noqa: F401  (the fixture)


@pytest.fixture
def alejandria_settings_overrides() -> dict[str, Any]:
    # no semantic search: "semantic" and "hybrid" cannot run, whatever this machine has
    return {"embedder": "none"}


def hits(page: str) -> list[tuple[str, str]]:
    """``(href, title)`` of each hit, in order."""
    return [(unescape(href), unescape(title)) for href, title in re.findall(
        r'<h2 class="hit-title"><a href="([^"]+)">(.*?)</a></h2>', page, re.S)]


def test_marks_are_the_only_markup_of_a_snippet() -> None:
    assert highlighted("a <b>luna</b> & sol", ((3, 7),)) == \
        "a &lt;<mark>b&gt;lu</mark>na&lt;/b&gt; &amp; sol"
    assert highlighted("<script>", ()) == "&lt;script&gt;"
    # overlapping or out-of-range spans never break the text apart
    assert highlighted("abc", ((5, 9), (1, 2), (0, 2))) == "<mark>ab</mark>c"


def test_search_finds_posts_by_text_and_links_pdf_pages(shelf: Shelf, signed_in: Any) -> None:
    answer = signed_in("user").get("/search", params={"q": "eclipses"})
    assert answer.status_code == 200, answer.text
    found = hits(answer.text)
    assert found == [(f"/posts/{shelf.posts['b2']}#page-7", "Capítulo 2: Eclipses")]
    assert "<mark>eclipses</mark>" in answer.text.lower()
    assert "PDF page 7" in answer.text
    # the header's box shows the query too
    assert 'id="header-q" type="search" name="q" placeholder="Search…" value="eclipses"' \
        in answer.text


def test_hostile_text_of_a_post_is_escaped_in_hits(shelf: Shelf, signed_in: Any) -> None:
    page = signed_in("user").get("/search", params={"q": "canción mar"}).text
    assert hits(page) == [(f"/posts/{shelf.posts['c2']}", HOSTILE_TITLE)]
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Post text" in page
    snippet = re.search(r'<p class="hit-snippet">(.*?)</p>', page, re.S)
    assert snippet is not None
    assert "<mark>" in snippet.group(1) and "alert(&#39;xss&#39;)" in snippet.group(1)
    assert re.sub(r"</?mark>", "", snippet.group(1)).count("<") == 0
    # a hostile query is escaped too
    query = signed_in("user").get("/search", params={"q": "<b>zzz</b>"}).text
    assert "<b>zzz</b>" not in query and "&lt;b&gt;zzz&lt;/b&gt;" in query


def test_a_transcript_hit_opens_the_player_at_its_moment(catalogue: Any,
                                                         signed_in: Any) -> None:
    alice = signed_in("user")
    page = alice.get("/search", params={"q": "mundo", "mode": "transcripts"}).text
    assert hits(page) == [(f"/posts/{catalogue.post_id}?t=1.5&media={catalogue.audio_id}",
                           "Carta natal")]
    assert "Transcript at 0:02" in page and "<mark>mundo</mark>" in page
    assert "<b>fin</b>" not in page  # the segment's own markup is text
    hola = alice.get("/search", params={"q": "hola", "mode": "transcripts"}).text
    assert hits(hola)[0][0] == f"/posts/{catalogue.post_id}?t=0&media={catalogue.audio_id}"
    assert '<input type="radio" name="mode" value="transcripts" checked>' in hola


def test_filters_narrow_the_hits(shelf: Shelf, signed_in: Any) -> None:
    alice = signed_in("user")

    def found(**params: Any) -> set[str]:
        return {title for _, title in hits(alice.get("/search", params={
            "q": "luna", **params}).text)}

    both = {"Capítulo 1: La luna nueva", "Capítulo 2: Eclipses"}
    assert found() == both
    assert found(creator=shelf.carla) == set()
    assert found(creator=shelf.bruno, collection=shelf.book, source="shelf") == both
    assert found(published_after="2024-02-01") == {"Capítulo 2: Eclipses"}
    assert found(published_before="2024-01-10") == {"Capítulo 1: La luna nueva"}
    assert found(media_kind="image") == set()
    # what the plain form sends for fields left empty is no filter
    assert found(source="", creator="", collection="", published_after="", media_kind="",
                 in_list="", status="", has_note="", highlighted="") == both


def test_my_list_status_and_note_filters_are_mine_alone(shelf: Shelf, signed_in: Any) -> None:
    alice, bob = signed_in("user"), signed_in("other")
    made = alice.post("/api/v1/lists", json={"name": "Para releer"})
    assert made.status_code == 201, made.text
    list_id = made.json()["id"]
    added = alice.put(f"/api/v1/lists/{list_id}/posts/{shelf.posts['b1']}")
    assert added.status_code == 204, added.text
    assert alice.put(f"/api/v1/posts/{shelf.posts['b2']}/note",
                     json={"markdown": "eclipse anular"}).status_code in (200, 201)

    page = alice.get("/search", params={"q": "luna", "in_list": list_id}).text
    assert [title for _, title in hits(page)] == ["Capítulo 1: La luna nueva"]
    assert f'<option value="{list_id}" selected>Para releer</option>' in page
    noted = alice.get("/search", params={"q": "luna", "has_note": "yes"}).text
    assert [title for _, title in hits(noted)] == ["Capítulo 2: Eclipses"]
    unread = alice.get("/search", params={"q": "luna", "status": "completed"}).text
    assert hits(unread) == []

    # bob with alice's list id: an explanation, never her posts, nor her list's name
    theirs = bob.get("/search", params={"q": "luna", "in_list": list_id}).text
    assert hits(theirs) == []
    assert "That list is not one of yours" in theirs and "Para releer" not in theirs
    bob_noted = bob.get("/search", params={"q": "luna", "has_note": "yes"}).text
    assert hits(bob_noted) == []


def test_readonly_sees_no_personal_filters(shelf: Shelf, signed_in: Any) -> None:
    reader = signed_in("readonly").get("/search", params={"q": "luna", "in_list": "1",
                                                          "has_note": "yes"})
    assert reader.status_code == 200
    for name in ("in_list", "status", "has_note", "highlighted"):
        assert f'name="{name}"' not in reader.text
    assert len(hits(reader.text)) == 2  # the personal values are ignored
    assert 'name="in_list"' in signed_in("user").get("/search").text


def test_a_mode_that_cannot_run_here_says_why(shelf: Shelf, signed_in: Any) -> None:
    for mode in ("semantic", "hybrid"):
        answer = signed_in("user").get("/search", params={"q": "luna", "mode": mode})
        assert answer.status_code == 200
        assert "This search could not run." in answer.text
        assert "unavailable" in answer.text and 'role="alert"' in answer.text
        assert 'href="/search?q=luna&amp;mode=fulltext"' in answer.text
    # an unknown mode is auto
    assert len(hits(signed_in("user").get("/search?q=luna&mode=bogus").text)) == 2


def test_the_results_are_an_htmx_part_and_the_page_a_plain_get(shelf: Shelf,
                                                               signed_in: Any) -> None:
    alice = signed_in("user")
    page = alice.get("/search").text
    assert 'hx-get="/search" hx-target="#search-results"' in page
    assert 'action="/search" method="get"' in page
    assert "Type what you remember" in page
    part = alice.get("/search", params={"q": "eclipses", "mode": "fulltext"},
                     headers={"HX-Request": "true", "HX-Target": "search-results"}).text
    assert part.lstrip().startswith('<div id="search-results"') and "<html" not in part
    assert len(hits(part)) == 1


def test_pages_of_hits(shelf: Shelf, signed_in: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_page, "PAGE_SIZE", 1)
    alice = signed_in("user")
    first = alice.get("/search", params={"q": "luna", "source": "shelf"}).text
    more = re.search(r'href="([^"]+)" hx-get="[^"]+" [^>]*>More results', first)
    assert more is not None
    second_url = unescape(more.group(1))
    assert "page=2" in second_url and "source=shelf" in second_url and "q=luna" in second_url
    second = alice.get(second_url).text
    assert len(hits(first)) == len(hits(second)) == 1 and hits(first) != hits(second)
    assert "More results →" not in second and "← Previous" in second
    assert "No more results" in alice.get("/search?q=luna&page=9").text


def test_nothing_found_says_what_to_try(shelf: Shelf, signed_in: Any) -> None:
    page = signed_in("user").get("/search", params={"q": "xilófono"}).text
    assert "Nothing found for “xilófono”." in page and "Try fewer or other words" in page


def test_search_in_spanish(shelf: Shelf, signed_in: Any) -> None:
    alice = signed_in("user")
    assert alice.patch("/api/v1/me/preferences", json={"language": "es"}).status_code == 200
    page = alice.get("/search", params={"q": "eclipses"}).text
    assert "Texto completo" in page and "Transcripciones" in page and "Mi estado" in page
    assert "Página 7 del PDF" in page and "Resultados 1–1" in page

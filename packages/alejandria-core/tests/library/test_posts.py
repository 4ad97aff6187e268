"""``archive.library.posts`` / ``post`` / ``post_version``: pages, filters, one post."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from alejandria.errors import InvalidRequest, NotFound

from .conftest import FEB, JAN, MAR, READONLY, Catalogue


def walk(fetch: Any, limit: int, **filters: Any) -> list[int]:
    """Every id, page after page, checking each page's size and the last page's ``next``."""
    seen: list[int] = []
    cursor = None
    for _ in range(100):
        page = fetch(cursor=cursor, limit=limit, **filters)
        assert len(page.items) <= limit
        seen += [item.id for item in page.items]
        if page.next is None:
            return seen
        assert page.items, "a page with a next cursor has items"
        cursor = page.next
    raise AssertionError("the pages never ended")


def _published(catalogue: Catalogue) -> dict[int, datetime | None]:
    with catalogue.archive.engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, published_at FROM posts")).all())


def _titles(catalogue: Catalogue) -> dict[int, str]:
    with catalogue.archive.engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, title FROM posts")).all())


def expected_order(catalogue: Catalogue, sort: str) -> list[int]:
    published = _published(catalogue)
    if sort == "title":
        titles = _titles(catalogue)
        return sorted(titles, key=lambda i: (titles[i].lower(), i))
    dated = [i for i in published if published[i] is not None]
    undated = [i for i in published if published[i] is None]
    if sort == "newest":
        return (sorted(dated, key=lambda i: (published[i], i), reverse=True)
                + sorted(undated, reverse=True))
    return sorted(dated, key=lambda i: (published[i], i)) + sorted(undated)


# -- pagination -------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["newest", "oldest", "title"])
def test_the_pages_hold_every_post_once_in_order_for_each_sort(catalogue, sort):
    expected = expected_order(catalogue, sort)
    assert len(expected) == 16
    one_page = catalogue.library.posts(sort=sort, limit=200)
    assert [item.id for item in one_page.items] == expected and one_page.next is None
    for limit in (1, 2, 3, 4, 5, 15, 16):
        assert walk(catalogue.library.posts, limit, sort=sort) == expected, limit


def test_the_orders_put_ties_and_undated_posts_where_they_belong(catalogue):
    ids = catalogue.posts
    newest = [item.id for item in catalogue.library.posts(limit=200).items]
    assert newest[0] == ids["p09"]  # March
    assert newest[-3:] == sorted(catalogue.ids("p05", "p06", "p07"),
                                 reverse=True)  # undated last, by id
    jan = [ids["p01"], ids["p02"], ids["p03"]]
    position = newest.index(max(jan))
    assert newest[position:position + 4] == [*sorted(jan, reverse=True), ids["p08"]]
    titles = [item.title for item in catalogue.library.posts(sort="title", limit=200).items]
    assert titles[:2] == ["alfa", "Alfa"] or titles[:2] == ["Alfa", "alfa"]


def test_a_page_is_stable_while_posts_are_added_before_it(catalogue, memory_source):
    first = catalogue.library.posts(limit=5)
    from alejandria.models import Checkpoint

    from .conftest import items, post

    memory_source.content["t"] = [*items("La carta natal, al fin.")[:-1],
                                  post("p99", "Nueva", published=MAR.replace(day=2)),
                                  Checkpoint()]
    catalogue.archive.sync("memory", "t")
    cursor, rest = first.next, []
    while cursor:
        page = catalogue.library.posts(cursor=cursor, limit=5)
        rest += [item.id for item in page.items]
        cursor = page.next
    before = [item.id for item in first.items]
    assert not set(before) & set(rest)
    assert len(before) + len(rest) == 16  # the new, newer post is on no page after the first


def test_limits_are_clamped(catalogue):
    assert len(catalogue.library.posts(limit=0).items) == 1
    assert len(catalogue.library.posts(limit=-3).items) == 1
    assert len(catalogue.library.posts(limit=10_000).items) == 16


def test_bad_arguments_are_invalid_requests(catalogue):
    library = catalogue.library
    with pytest.raises(InvalidRequest, match="sort"):
        library.posts(sort="random")
    with pytest.raises(InvalidRequest, match="media kind"):
        library.posts(media_kind="hologram")
    with pytest.raises(InvalidRequest, match="cursor"):
        library.posts(cursor="bm90IGEgY3Vyc29y")
    with pytest.raises(InvalidRequest, match="another"):
        library.posts(sort="newest", cursor=library.posts(sort="title", limit=1).next)
    with pytest.raises(InvalidRequest, match="another"):
        library.creators(cursor=library.posts(sort="title", limit=1).next)


# -- filters ----------------------------------------------------------------------------------


def _ids(page: Any) -> set[int]:
    assert page.next is None
    return {item.id for item in page.items}


def test_filters(catalogue):
    library, ids = catalogue.library, catalogue.ids
    assert _ids(library.posts(source="files")) == {catalogue.file_post}
    assert len(_ids(library.posts(source="memory"))) == 15
    assert _ids(library.posts(source="nope")) == set()
    beto = catalogue.creators["beto"]
    assert _ids(library.posts(creator_id=beto)) == set(ids("p04", "p05", "p06", "p09", "p15"))
    tarot = catalogue.collections["c-tarot"]
    assert _ids(library.posts(collection_id=tarot)) == set(ids("p01", "p02", "p09"))
    assert _ids(library.posts(published_after=JAN, published_before=FEB)) == set(
        ids("p01", "p02", "p03"))
    assert _ids(library.posts(published_before=JAN)) == set(ids("p08"))
    assert _ids(library.posts(published_after=MAR)) == set(ids("p09"))
    assert _ids(library.posts(media_kind="image")) == set(ids("p01", "p07"))
    assert _ids(library.posts(media_kind="audio")) == set(ids("p04"))
    assert _ids(library.posts(media_kind="video")) == set()  # an embed not downloaded yet
    assert _ids(library.posts(tag="luna")) == set(ids("p02", "p07"))
    assert _ids(library.posts(tag="Luna")) == set()
    assert _ids(library.posts(creator_id=catalogue.creators["ana"], tag="tarot",
                              published_after=JAN)) == set(ids("p01", "p02"))


def test_filters_hold_across_pages(catalogue):
    ana = catalogue.creators["ana"]
    for sort in ("newest", "oldest", "title"):
        walked = walk(catalogue.library.posts, 2, creator_id=ana, sort=sort)
        assert sorted(walked) == sorted(catalogue.ids("p01", "p02", "p03", "p07", "p08",
                                                      "p10", "p11", "p12", "p13", "p14"))


# -- summaries and one post ----------------------------------------------------------------------


def test_a_summary(catalogue):
    by_id = {item.id: item for item in catalogue.library.posts(limit=200).items}
    first = by_id[catalogue.posts["p01"]]
    assert (first.title, first.source, first.external_id, first.url) == (
        "Carta natal", "memory", "p01", "https://example.com/posts/p01")
    assert first.published_at == JAN and first.tags == ("tarot",)
    assert first.creator.name == "Ana" and first.creator.id == catalogue.creators["ana"]
    assert first.image_count == 1 and first.cover_media_id == catalogue.media["img-1"]
    assert first.has_versions and first.excerpt == "La carta natal, al fin."
    assert by_id[catalogue.posts["p04"]].cover_media_id is None  # audio only
    assert not by_id[catalogue.posts["p02"]].has_versions
    data = json.loads(json.dumps(catalogue.library.posts(limit=3).as_json()))
    assert set(data) == {"items", "next"} and len(data["items"]) == 3
    assert set(data["items"][0]) == {
        "id", "source", "external_id", "title", "url", "published_at", "edited_at", "creator",
        "tags", "image_count", "video_count", "audio_count", "excerpt", "cover_media_id",
        "has_versions"}
    assert data["items"][0]["published_at"] == MAR.isoformat()


def test_the_cover_is_the_media_marked_cover_else_the_first_image(catalogue):
    """p07 holds img-2 at position 1 and img-1 at position 0 (neither is its cover: img-1 is
    p01's cover only, covers are per post link)."""
    with catalogue.archive.engine.connect() as conn:
        links = conn.execute(text(
            "SELECT key, position, is_cover FROM post_media WHERE post_id = :p ORDER BY key"),
            {"p": catalogue.posts["p07"]}).all()
    first_image = min(links, key=lambda link: (not link.is_cover, link.position))
    summary = next(item for item in catalogue.library.posts(limit=200).items
                   if item.id == catalogue.posts["p07"])
    assert summary.cover_media_id == catalogue.media[first_image.key]


def test_an_excerpt_is_short_and_on_one_line(catalogue):
    with catalogue.archive.engine.begin() as conn:
        conn.execute(text("UPDATE posts SET content_text = :t WHERE id = :p"),
                     {"t": "palabra\n\n" * 200, "p": catalogue.posts["p03"]})
    summary = next(item for item in catalogue.library.posts(limit=200).items
                   if item.id == catalogue.posts["p03"])
    assert len(summary.excerpt) <= 201 and summary.excerpt.endswith("…")
    assert "\n" not in summary.excerpt


def test_one_post_in_full(catalogue):
    detail = catalogue.library.post(catalogue.posts["p01"])
    assert detail.content_text == "La carta natal, al fin."
    assert detail.content_html is not None and "La carta natal" in detail.content_html
    assert [(c.id, c.title) for c in detail.collections] == [
        (catalogue.collections["c-tarot"], "Tarot")]
    [image] = detail.media
    assert (image.media_id, image.kind, image.mime_type, image.role, image.is_cover,
            image.filename, image.width) == (
        catalogue.media["img-1"], "image", "image/png", "cover", True, "portada.png", None)
    assert image.thumbnails == () and image.has_transcript is False
    assert len(image.sha256) == 64 and image.size > 0
    assert detail.chapters and [c.ordinal for c in detail.chapters] == sorted(
        c.ordinal for c in detail.chapters)
    assert detail.chapters[0].kind == "text"
    assert [v.title for v in detail.versions] == ["Carta natal", "Carta natal"]
    assert detail.versions[0].replaced_at >= detail.versions[1].replaced_at
    data = json.loads(json.dumps(detail.as_json()))
    assert {"content_text", "content_html", "collections", "media", "chapters", "embeds",
            "versions", "creator", "excerpt"} <= set(data)
    assert "text" not in data["chapters"][0]
    assert set(data["media"][0]) == {
        "media_id", "sha256", "kind", "mime_type", "size", "width", "height", "duration_s",
        "page_count", "role", "position", "caption", "filename", "is_cover", "thumbnails",
        "has_transcript", "gone_upstream"}
    assert data["media"][0]["gone_upstream"] is False


def test_a_post_lists_its_embeds_and_media_in_order(catalogue):
    detail = catalogue.library.post(catalogue.posts["p07"])
    assert [e.as_json() for e in detail.embeds] == [
        {"url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "status": "pending",
         "media_id": None}]
    assert [m.position for m in detail.media] == sorted(m.position for m in detail.media)
    assert {m.media_id for m in detail.media} == {catalogue.media["img-1"],
                                                  catalogue.media["img-2"]}
    assert next(m for m in detail.media if m.media_id == catalogue.media["img-2"]).caption \
        == "Un dibujo"


def test_an_unknown_post_is_not_found(catalogue):
    with pytest.raises(NotFound, match="post 987654 not found"):
        catalogue.library.post(987654)


HOSTILE = [
    "<script>alert('xss')</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href=" JaVaScRiPt:alert(1)">click</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<a href="data:text/html,<script>alert(1)</script>">d</a>',
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<style>body { background: url(javascript:alert(1)) }</style>",
    '<iframe src="https://evil.example/"></iframe>',
    '<form action="https://evil.example/"><input name="p"><button>Send</button></form>',
    '<p style="position:fixed" onclick="alert(1)" onmouseover="alert(1)">Hola</p>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    '<object data="https://evil.example/x.swf"></object><embed src="x.swf">',
    '<a href="/api/v1/jobs/1/retry">relative</a><img src="//evil.example/t.gif">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
]
FORBIDDEN = ["<script", "alert", "onerror", "onload", "onclick", "onmouseover", "javascript:",
             "data:", "<svg", "<style", "<iframe", "<form", "<input", "style=", "<object",
             "<embed", "<math", "<meta", "<base", "evil.example", "/api/v1"]


def test_hostile_html_is_sanitised_when_read(catalogue):
    hostile = ('<p>Texto <b>bueno</b></p><a href="https://example.com/ok">ok</a>'
               + "".join(HOSTILE))
    post_id = catalogue.posts["p03"]
    with catalogue.archive.engine.begin() as conn:
        conn.execute(text("UPDATE posts SET content_html = :h WHERE id = :p"),
                     {"h": hostile, "p": post_id})
    shown = catalogue.library.post(post_id).content_html
    assert shown is not None
    lowered = shown.lower()
    assert [bad for bad in FORBIDDEN if bad in lowered] == []
    assert "<p>Texto <b>bueno</b></p>" in shown
    assert ('<a href="https://example.com/ok" rel="noopener noreferrer nofollow">ok</a>'
            in shown)


@pytest.mark.parametrize("payload", HOSTILE)
def test_each_hostile_payload_alone(payload):
    from alejandria.text.html import sanitize_html

    lowered = sanitize_html(payload).lower()
    assert [bad for bad in FORBIDDEN if bad in lowered] == []


def test_an_earlier_version(catalogue):
    post_id = catalogue.posts["p01"]
    versions = catalogue.library.post(post_id).versions
    oldest = catalogue.library.post_version(post_id, versions[-1].id)
    newer = catalogue.library.post_version(post_id, versions[0].id)
    assert (oldest.content_text, newer.content_text) == ("Primera versión.", "Segunda versión.")
    assert oldest.post_id == post_id and oldest.tags == ("tarot",)
    assert oldest.published_at == JAN
    data = json.loads(json.dumps(oldest.as_json()))
    assert set(data) == {"id", "post_id", "title", "content_text", "content_html", "tags",
                         "published_at", "edited_at", "replaced_at"}


def test_a_version_is_sanitised_too(catalogue):
    post_id = catalogue.posts["p01"]
    version_id = catalogue.library.post(post_id).versions[0].id
    with catalogue.archive.engine.begin() as conn:
        conn.execute(text("UPDATE post_versions SET content_html = :h WHERE id = :v"),
                     {"h": "<p>ok</p><script>alert(1)</script><img src=x onerror=alert(2)>",
                      "v": version_id})
    shown = catalogue.library.post_version(post_id, version_id).content_html
    assert shown == "<p>ok</p><img>"


def test_a_version_of_another_post_or_none_is_not_found(catalogue):
    post_id = catalogue.posts["p01"]
    version_id = catalogue.library.post(post_id).versions[0].id
    with pytest.raises(NotFound, match=f"version {version_id} of post"):
        catalogue.library.post_version(catalogue.posts["p02"], version_id)
    with pytest.raises(NotFound, match="post 987654 not found"):
        catalogue.library.post_version(987654, version_id)


def test_a_readonly_user_reads_posts(catalogue):
    page = catalogue.library.posts(limit=5, actor=READONLY)
    assert len(page.items) == 5
    assert catalogue.library.post(page.items[0].id, actor=READONLY).id == page.items[0].id


def test_a_page_is_one_statement_and_a_post_one_whatever_they_hold(catalogue):
    """No statement per row (N+1): a page of any length is one, a post in full one (with
    the reader's own data too: test_personal_post_view)."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = catalogue.archive.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for limit in (1, 16):
            statements.clear()
            catalogue.library.posts(limit=limit, media_kind="image", tag="tarot")
            assert len(statements) == 1
        statements.clear()
        catalogue.library.post(catalogue.posts["p07"])
        assert len(statements) == 1
        statements.clear()
        catalogue.library.creators(limit=200)
        catalogue.library.collections(limit=200)
        assert len(statements) == 2
    finally:
        event.remove(engine, "before_cursor_execute", count)

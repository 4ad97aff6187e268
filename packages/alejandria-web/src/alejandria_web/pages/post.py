"""The post page: the post's content (sanitised HTML or its text), images, attachments,
players with their transcripts, embedded videos, a PDF chapter's pages, earlier versions, and
what the signed-in user keeps on it (status, lists, note, highlights).

A file the post was read from (``ORIGINAL_ROLE``: the book's PDF, which the ``pdf`` source
gives each chapter) is shown once as such ("The book’s PDF"), not among the attachments, and
each page of the post's text links to it opened at that page (``#page=N``, which the
browser's PDF viewer follows), as a page of an attached document links to that document.

The page only reads. Its controls call the JSON API (``/api/v1/posts/{id}/status``, ``/note``,
``/highlights``, ``/api/v1/lists/...``); after a change the browser re-fetches the part that
changed from ``/posts/{id}/part/{name}``. Highlights are drawn by ``static/web/post.js`` from
their anchors (JSON in the highlights panel): a text highlight's offsets are in the post's
``content_text``, a page highlight's in that page's text (``library.pages``) and a transcript
highlight's in the transcript's segments joined with newlines; the page marks where each of
those texts is (``data-hl-*`` attributes) so the script can map a selection to an anchor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Response

from alejandria.accounts.personal.highlights import SEGMENT_JOIN
from alejandria.accounts.personal.post_view import MyPost
from alejandria.errors import NotFound
from alejandria.library.posts import PostDetail, PostMedia
from alejandria.models import ORIGINAL_ROLE
from alejandria_web.media.urls import content_url
from alejandria_web.pages.common import PAGE, AnyRequest, actor, archive
from alejandria_web.pages.i18n import gettext as _
from alejandria_web.pages.names import status_name
from alejandria_web.pages.render import can, render
from alejandria_web.security.access import Access
from alejandria_web.security.identity import identify

#: Image types a browser shows in an ``<img>`` (and the media route serves inline).
RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"})
PLAYABLE_KINDS = frozenset({"audio", "video"})
PDF_TYPE = "application/pdf"
#: Chapters of a book listed beside one of them (a book has tens, not thousands).
BOOK_CHAPTERS = 200
#: The parts of the page a change re-fetches (``/posts/{id}/part/{name}``).
PARTS = ("status", "lists", "note", "highlights")


@dataclass(frozen=True)
class Line:
    """One transcript segment as the page shows it; ``at``: where its text starts in the
    transcript's text (the segments joined with newlines), which transcript highlights
    are anchored in."""

    start_s: float
    end_s: float
    text: str
    at: int


@dataclass(frozen=True)
class Player:
    media: PostMedia
    lines: list[Line]


def embed_status_name(status: str) -> str:
    names = {"pending": _("Waiting to be archived"), "done": _("Archived"),
             "failed": _("Could not be archived")}
    return names.get(status, status)


def is_web_url(url: str | None) -> bool:
    """A link the page may show: http(s) only (a source could send anything)."""
    return bool(url) and str(url).lower().startswith(("http://", "https://"))


def _players(request: AnyRequest, post: PostDetail) -> list[Player]:
    found = []
    for media in post.media:
        if media.kind not in PLAYABLE_KINDS:
            continue
        lines: list[Line] = []
        if media.has_transcript:
            at = 0
            for segment in archive(request).transcript(media.media_id, actor=actor(request)):
                lines.append(Line(segment.start_s, segment.end_s, segment.text, at))
                at += len(segment.text) + len(SEGMENT_JOIN)
        found.append(Player(media, lines))
    return found


def _mine(request: AnyRequest, post_id: int, mine: MyPost | None = None) -> dict[str, Any]:
    """What the user keeps on the post (``mine``, when read with it already), and what they
    may choose from (their lists and status labels); nothing for a user who may not keep
    anything."""
    if not can(identify(request), Access.OWN_DATA):
        return {"mine": None, "my_lists": [], "labels": [], "listed": set(), "highlights": []}
    personal = archive(request).personal(actor(request))
    if mine is None:
        mine = personal.post(post_id)
    return {"mine": mine, "my_lists": personal.lists.list(), "labels": personal.status.labels(),
            "listed": {found.id for found in mine.lists},
            "highlights": [highlight.as_json() for highlight in mine.highlights]}


def post_context(request: AnyRequest, post_id: int) -> dict[str, Any]:
    who = actor(request)
    library = archive(request).library
    view = library.post_view(post_id, actor=who, media_link=content_url)
    post = view.post
    has_pages = any(chapter.page is not None for chapter in post.chapters)
    pages = library.pages(post_id, actor=who) if has_pages else []
    #: A book's chapter (the ``pdf`` source): its pages are its text, the book its collection.
    is_book = any(chapter.kind == "page" for chapter in post.chapters)
    chapters: list[Any] = []
    if is_book and post.collections:
        chapters = library.posts(collection_id=post.collections[0].id, sort="oldest",
                                 limit=BOOK_CHAPTERS, actor=who).items
    at = next((index for index, chapter in enumerate(chapters) if chapter.id == post_id), None)
    previous_chapter = chapters[at - 1] if at else None
    next_chapter = chapters[at + 1] if at is not None and at + 1 < len(chapters) else None
    players = _players(request, post)
    played = {player.media.media_id for player in players}
    images = [media for media in post.media if media.kind == "image"]
    files = [media for media in post.media
             if media.kind not in PLAYABLE_KINDS and media.kind != "image"]
    originals = [media for media in files if media.role == ORIGINAL_ROLE]
    attachments = [media for media in files if media.role != ORIGINAL_ROLE]
    return {
        "post": post, "is_book": is_book, "pages": pages, "chapters": chapters,
        "previous_chapter": previous_chapter, "next_chapter": next_chapter,
        "players": players, "played": played, "images": images, "attachments": attachments,
        "originals": originals,
        # the post's own pages are pages of these PDFs
        "page_pdfs": [media.media_id for media in originals if media.mime_type == PDF_TYPE],
        "files": {media.media_id: media for media in post.media},
        "raster_types": RASTER_TYPES, "status_name": status_name,
        "embed_status_name": embed_status_name, "is_web_url": is_web_url,
        **_mine(request, post_id, view.mine),
    }


@PAGE("/posts/{post_id:int}", Access.READ)
def post_page(request: AnyRequest, post_id: int) -> Response[Any]:
    context = post_context(request, post_id)
    return render(request, "post/page.html", **context)


@PAGE("/posts/{post_id:int}/part/{part:str}", Access.READ)
def post_part(request: AnyRequest, post_id: int, part: str) -> Response[Any]:
    """One part of the post page (my status, lists, note, highlights), re-fetched by the
    page after a change."""
    if part not in PARTS:
        raise NotFound(f"the post page has no part {part!r}")
    post = archive(request).library.post(post_id, actor=actor(request))
    return render(request, f"post/_{part}.html", post=post, status_name=status_name,
                  **_mine(request, post_id))


@PAGE("/posts/{post_id:int}/versions/{version_id:int}", Access.READ)
def post_version(request: AnyRequest, post_id: int, version_id: int) -> Response[Any]:
    """An earlier version of a post (before an upstream edit), read-only."""
    library = archive(request).library
    version = library.post_version(post_id, version_id, actor=actor(request))
    post = library.post(post_id, actor=actor(request))
    return render(request, "post/version.html", post=post, version=version)


ROUTES = [post_page, post_part, post_version]

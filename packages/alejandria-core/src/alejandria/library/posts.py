"""Posts: a filtered, sorted page of summaries; one post in full; an earlier version.

A page is one statement: the page's ids are found first from narrow rows (filters, keyset,
order, limit), then what a summary shows is computed for those ids alone: its creator (a
join), whether it has earlier versions and the media to show as its cover (two correlated
subqueries), and only the first characters of its text (``excerpt``). One post in full is
one statement (``post_view``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, func, or_, select
from sqlalchemy.engine import Row

from alejandria.errors import InvalidRequest, NotFound
from alejandria.library.pages import Order, Page, SortKey, build_page, clamp_limit
from alejandria.library.refs import CollectionRef, CreatorRef, iso
from alejandria.models import ORIGINAL_ROLE, MediaKind
from alejandria.storage.schema import (
    creators,
    media_derivatives,
    media_files,
    post_collections,
    post_media,
    post_versions,
    posts,
    transcriptions,
)
from alejandria.text.html import sanitize_html

EXCERPT_CHARS = 200
#: Characters read from the database to make an excerpt (whitespace collapses).
EXCERPT_READ = _EXCERPT_READ = 2 * EXCERPT_CHARS
_SPACE = re.compile(r"\s+")

_TITLE = func.lower(posts.c.title)
ORDERS: dict[str, Order] = {
    "newest": Order("posts.newest", (
        SortKey(posts.c.published_at, descending=True, nullable=True, kind=datetime),
        SortKey(posts.c.id, descending=True))),
    "oldest": Order("posts.oldest", (
        SortKey(posts.c.published_at, nullable=True, kind=datetime),
        SortKey(posts.c.id))),
    "title": Order("posts.title", (SortKey(_TITLE, kind=str), SortKey(posts.c.id))),
}
SORTS = tuple(ORDERS)
MEDIA_KINDS = tuple(kind.value for kind in MediaKind)


def excerpt(text: str) -> str:
    """The first ``EXCERPT_CHARS`` characters of ``text`` on one line, cut at a word."""
    flat = _SPACE.sub(" ", text).strip()
    if len(flat) <= EXCERPT_CHARS:
        return flat
    cut = flat[:EXCERPT_CHARS]
    space = cut.rfind(" ")
    return (cut[:space] if space > EXCERPT_CHARS // 2 else cut).rstrip() + "…"


@dataclass(frozen=True)
class PostFilter:
    """Which posts a page lists; None: any. ``published_before`` is exclusive."""

    source: str | None = None
    creator_id: int | None = None
    collection_id: int | None = None
    published_after: datetime | None = None
    published_before: datetime | None = None
    media_kind: str | None = None
    tag: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.source is not None:
            found.append(posts.c.source == self.source)
        if self.creator_id is not None:
            found.append(posts.c.creator_id == self.creator_id)
        if self.collection_id is not None:
            found.append(exists().where(post_collections.c.post_id == posts.c.id,
                                        post_collections.c.collection_id == self.collection_id))
        if self.published_after is not None:
            found.append(posts.c.published_at >= self.published_after)
        if self.published_before is not None:
            found.append(posts.c.published_at < self.published_before)
        if self.media_kind is not None:
            if self.media_kind not in MEDIA_KINDS:
                raise InvalidRequest(f"unknown media kind {self.media_kind!r} (one of: "
                                     f"{', '.join(MEDIA_KINDS)})")
            found.append(exists().where(post_media.c.post_id == posts.c.id,
                                        media_files.c.id == post_media.c.media_id,
                                        media_files.c.kind == self.media_kind))
        if self.tag is not None:
            found.append(posts.c.tags.contains([self.tag]))
        return found


@dataclass(frozen=True)
class PostSummary:
    id: int
    source: str
    external_id: str
    title: str
    url: str | None
    published_at: datetime | None
    edited_at: datetime | None
    creator: CreatorRef
    tags: tuple[str, ...]
    image_count: int
    video_count: int
    audio_count: int
    excerpt: str
    #: The media to show as the post's picture: its cover, else its first image, else the
    #: document it was read from (a PDF chapter: its book); None: none.
    cover_media_id: int | None
    has_versions: bool

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "external_id": self.external_id,
                "title": self.title, "url": self.url, "published_at": iso(self.published_at),
                "edited_at": iso(self.edited_at), "creator": self.creator.as_json(),
                "tags": list(self.tags), "image_count": self.image_count,
                "video_count": self.video_count, "audio_count": self.audio_count,
                "excerpt": self.excerpt, "cover_media_id": self.cover_media_id,
                "has_versions": self.has_versions}


@dataclass(frozen=True)
class PostMedia:
    """A media file as one post holds it."""

    media_id: int
    sha256: str
    kind: str
    mime_type: str | None
    size: int
    width: int | None
    height: int | None
    duration_s: float | None
    page_count: int | None
    role: str
    position: int
    caption: str | None
    filename: str | None
    is_cover: bool
    thumbnails: tuple[int, ...]
    has_transcript: bool
    #: The source no longer offers this file (its key is in the post's
    #: ``metadata["gone_upstream"]``): the archive's copy is the one left.
    gone_upstream: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"media_id": self.media_id, "sha256": self.sha256, "kind": self.kind,
                "mime_type": self.mime_type, "size": self.size, "width": self.width,
                "height": self.height, "duration_s": self.duration_s,
                "page_count": self.page_count, "role": self.role, "position": self.position,
                "caption": self.caption, "filename": self.filename, "is_cover": self.is_cover,
                "thumbnails": list(self.thumbnails), "has_transcript": self.has_transcript,
                "gone_upstream": self.gone_upstream}


@dataclass(frozen=True)
class Chapter:
    """A searchable passage of the post (its text is in the post's ``content_text``, or the
    document's page, or the transcript's time span)."""

    ordinal: int
    kind: str
    page: int | None
    heading: str
    start_s: float | None
    end_s: float | None
    media_id: int | None

    def as_json(self) -> dict[str, Any]:
        return {"ordinal": self.ordinal, "kind": self.kind, "page": self.page,
                "heading": self.heading, "start_s": self.start_s, "end_s": self.end_s,
                "media_id": self.media_id}


@dataclass(frozen=True)
class Embed:
    url: str
    status: str
    media_id: int | None

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "status": self.status, "media_id": self.media_id}


@dataclass(frozen=True)
class VersionRef:
    id: int
    title: str
    edited_at: datetime | None
    replaced_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "edited_at": iso(self.edited_at),
                "replaced_at": iso(self.replaced_at)}


@dataclass(frozen=True)
class PostDetail(PostSummary):
    content_text: str
    #: Sanitised as it is read (``text.html``), whatever the source stored.
    content_html: str | None
    collections: tuple[CollectionRef, ...]
    media: tuple[PostMedia, ...]
    chapters: tuple[Chapter, ...]
    embeds: tuple[Embed, ...]
    #: Earlier versions, the newest first.
    versions: tuple[VersionRef, ...]

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "content_text": self.content_text,
                "content_html": self.content_html,
                "collections": [item.as_json() for item in self.collections],
                "media": [item.as_json() for item in self.media],
                "chapters": [item.as_json() for item in self.chapters],
                "embeds": [item.as_json() for item in self.embeds],
                "versions": [item.as_json() for item in self.versions]}


@dataclass(frozen=True)
class PostVersion:
    """What the post was before an edit replaced it (at ``replaced_at``)."""

    id: int
    post_id: int
    title: str
    content_text: str
    content_html: str | None
    tags: tuple[str, ...]
    published_at: datetime | None
    edited_at: datetime | None
    replaced_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "post_id": self.post_id, "title": self.title,
                "content_text": self.content_text, "content_html": self.content_html,
                "tags": list(self.tags), "published_at": iso(self.published_at),
                "edited_at": iso(self.edited_at), "replaced_at": iso(self.replaced_at)}


# -- the statements ---------------------------------------------------------------------------

_HAS_VERSIONS = exists().where(post_versions.c.post_id == posts.c.id)
_IS_IMAGE = media_files.c.kind == MediaKind.IMAGE.value
#: The post's cover, else its first image, else the document it was read from (a PDF
#: chapter shows its book's first page, as a bookshelf would).
_COVER = (select(post_media.c.media_id)
          .join(media_files, media_files.c.id == post_media.c.media_id)
          .where(post_media.c.post_id == posts.c.id,
                 or_(post_media.c.is_cover, _IS_IMAGE,
                     and_(post_media.c.role == ORIGINAL_ROLE,
                          media_files.c.kind == MediaKind.DOCUMENT.value)))
          .order_by(post_media.c.is_cover.desc(), _IS_IMAGE.desc(), post_media.c.position,
                    post_media.c.id)
          .limit(1).correlate(posts).scalar_subquery())
_HAS_TRANSCRIPT = exists().where(transcriptions.c.media_id == media_files.c.id,
                                 transcriptions.c.status == "complete")
#: The ``thumbnails`` result of a file whose thumbnails were made (outer-joined).
THUMBNAILS_JOIN = and_(media_derivatives.c.media_id == media_files.c.id,
                       media_derivatives.c.processor == "thumbnails",
                       media_derivatives.c.status == "done")


def _summary_select(*extra: Any) -> Select[Any]:
    return (select(posts.c.id, posts.c.source, posts.c.external_id, posts.c.title, posts.c.url,
                   posts.c.published_at, posts.c.edited_at, posts.c.tags, posts.c.image_count,
                   posts.c.video_count, posts.c.audio_count,
                   func.left(posts.c.content_text, _EXCERPT_READ).label("excerpt_text"),
                   creators.c.id.label("creator_id"), creators.c.name.label("creator_name"),
                   _HAS_VERSIONS.label("has_versions"), _COVER.label("cover_media_id"),
                   _TITLE.label("sort_title"), *extra)
            .join(creators, creators.c.id == posts.c.creator_id))


def _summary_fields(row: Row[Any]) -> dict[str, Any]:
    return {"id": row.id, "source": row.source, "external_id": row.external_id,
            "title": row.title, "url": row.url, "published_at": row.published_at,
            "edited_at": row.edited_at, "creator": CreatorRef(row.creator_id, row.creator_name),
            "tags": tuple(row.tags or ()), "image_count": row.image_count,
            "video_count": row.video_count, "audio_count": row.audio_count,
            "excerpt": excerpt(row.excerpt_text or ""), "cover_media_id": row.cover_media_id,
            "has_versions": bool(row.has_versions)}


def _summary(row: Row[Any]) -> PostSummary:
    return PostSummary(**_summary_fields(row))


def _key(order: Order) -> Callable[[Row[Any]], Sequence[Any]]:
    if order is ORDERS["title"]:
        return lambda row: (row.sort_title, row.id)
    return lambda row: (row.published_at, row.id)


def list_posts(conn: Connection, where: PostFilter, *, sort: str = "newest",
               cursor: str | None = None, limit: int = 50) -> Page[PostSummary]:
    order = ORDERS.get(sort)
    if order is None:
        raise InvalidRequest(f"unknown sort {sort!r} (one of: {', '.join(SORTS)})")
    limit = clamp_limit(limit)
    conditions = where.conditions()
    if cursor is not None:
        conditions.append(order.after(cursor))
    # The page's ids first, from narrow rows; then what a summary shows, for those alone:
    # computed for every matching post before the sort, the excerpts cost 5 ms per 1000.
    page = (select(posts.c.id).where(*conditions).order_by(*order.order_by())
            .limit(limit + 1).subquery("page"))
    rows = conn.execute(_summary_select().join(page, page.c.id == posts.c.id)
                        .order_by(*order.order_by())).all()
    return build_page(rows, limit, order, _key(order), _summary)


def get_version(conn: Connection, post_id: int, version_id: int) -> PostVersion:
    row = conn.execute(select(post_versions).where(post_versions.c.id == version_id,
                                                   post_versions.c.post_id == post_id)).first()
    if row is None:
        if conn.execute(select(posts.c.id).where(posts.c.id == post_id)).first() is None:
            raise NotFound(f"post {post_id} not found")
        raise NotFound(f"version {version_id} of post {post_id} not found")
    return PostVersion(
        id=row.id, post_id=row.post_id, title=row.title, content_text=row.content_text,
        content_html=None if row.content_html is None else sanitize_html(row.content_html),
        tags=tuple(row.tags or ()), published_at=row.published_at, edited_at=row.edited_at,
        replaced_at=row.replaced_at)

"""One post in full, and what the reader keeps on it, in one statement.

The post page and ``GET /api/v1/posts/{id}`` read the post, its collections, media (with
their thumbnails and whether a transcript is done), chapters, embeds and earlier versions,
and the reader's status, note, lists and highlights of it. As eleven statements on two
connections that cost 4-7 ms of Python per request (SQLAlchemy building and compiling each
statement, a pool checkout and its ping per connection); here Postgres builds each list as
a JSON array inside one statement, written once as text (psycopg prepares it after a few
calls on a connection), and Python only turns the arrays into the same dataclasses as before
(``posts.PostDetail``, ``personal.post_view.MyPost``): the answers are identical.

Timestamps inside the arrays arrive as ISO 8601 text in the session's time zone, as psycopg
would have given them; ``_time`` reads them back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from alejandria.accounts.personal.highlights import Highlight
from alejandria.accounts.personal.lists import UserList
from alejandria.accounts.personal.notes import Note
from alejandria.accounts.personal.post_view import MyPost
from alejandria.accounts.personal.statuses import UNREAD
from alejandria.errors import NotFound
from alejandria.library.posts import (
    EXCERPT_READ,
    Chapter,
    Embed,
    PostDetail,
    PostMedia,
    VersionRef,
    excerpt,
)
from alejandria.library.refs import CollectionRef, CreatorRef, thumbnail_sizes
from alejandria.text.html import archived_images, sanitize_html

_STATEMENT = text("""
SELECT p.id, p.source, p.external_id, p.title, p.url, p.published_at, p.edited_at, p.tags,
       p.image_count, p.video_count, p.audio_count, p.content_text, p.content_html,
       c.id AS creator_id, c.name AS creator_name,
       (SELECT pm.media_id FROM post_media pm JOIN media_files mf ON mf.id = pm.media_id
         WHERE pm.post_id = p.id
           AND (pm.is_cover OR mf.kind = 'image'
                OR (pm.role = 'original' AND mf.kind = 'document'))
         ORDER BY pm.is_cover DESC, (mf.kind = 'image') DESC, pm.position, pm.id
         LIMIT 1) AS cover_media_id,
       (SELECT json_agg(json_build_array(co.id, co.title) ORDER BY co.title, co.id)
          FROM collections co JOIN post_collections pc ON pc.collection_id = co.id
         WHERE pc.post_id = p.id) AS collections,
       (SELECT json_agg(json_build_array(
                 pm.media_id, pm.role, pm.position, pm.caption, pm.filename, pm.is_cover,
                 pm.original_url, mf.sha256, mf.kind, mf.mime_type, mf.size, mf.width,
                 mf.height, mf.duration_s, mf.page_count, md.result -> 'thumbnails',
                 EXISTS (SELECT 1 FROM transcriptions t
                          WHERE t.media_id = mf.id AND t.status = 'complete'),
                 COALESCE((p.metadata -> 'gone_upstream') ? pm.key, false))
               ORDER BY pm.position, pm.id)
          FROM post_media pm JOIN media_files mf ON mf.id = pm.media_id
          LEFT JOIN media_derivatives md
            ON md.media_id = mf.id AND md.processor = 'thumbnails' AND md.status = 'done'
         WHERE pm.post_id = p.id) AS media,
       (SELECT json_agg(json_build_array(ch.ordinal, ch.kind, ch.page, ch.heading, ch.start_s,
                                         ch.end_s, ch.media_id) ORDER BY ch.ordinal)
          FROM chunks ch WHERE ch.post_id = p.id) AS chapters,
       (SELECT json_agg(json_build_array(e.url, e.status, e.media_id)
                        ORDER BY e.position, e.id)
          FROM media_embeds e WHERE e.post_id = p.id) AS embeds,
       (SELECT json_agg(json_build_array(v.id, v.title, v.edited_at, v.replaced_at)
                        ORDER BY v.replaced_at DESC, v.id DESC)
          FROM post_versions v WHERE v.post_id = p.id) AS versions,
       (SELECT json_build_array(d.status, d.notes, d.notes_html, d.updated_at)
          FROM user_post_data d
         WHERE d.user_id = :user_id AND d.post_id = p.id) AS my_data,
       (SELECT json_agg(json_build_array(
                 l.id, l.name, l.description, l.color, l.position,
                 (SELECT count(*) FROM user_list_posts n WHERE n.list_id = l.id),
                 l.created_at) ORDER BY l.position, l.id)
          FROM user_lists l JOIN user_list_posts lp ON lp.list_id = l.id
         WHERE l.user_id = :user_id AND lp.post_id = p.id) AS my_lists,
       (SELECT json_agg(json_build_array(
                 h.id, h.post_id, h.target, h.page, h.media_id, h.start, h."end", h.exact,
                 h.prefix, h.suffix, h.color, h.comment, h.orphaned, h.created_at,
                 h.updated_at) ORDER BY h.target, h.page, h.start, h.id)
          FROM user_highlights h
         WHERE h.user_id = :user_id AND h.post_id = p.id) AS my_highlights
  FROM posts p JOIN creators c ON c.id = p.creator_id
 WHERE p.id = :post_id
""")


@dataclass(frozen=True)
class PostView:
    """A post in full and, for a reader who is a user, what they keep on it."""

    post: PostDetail
    #: None: read for the installation (no user), which keeps nothing.
    mine: MyPost | None


def read_post_view(conn: Connection, post_id: int, user_id: int | None,
                   media_link: Callable[[int], str] | None = None) -> PostView:
    """The post (``NotFound`` when there is none) and ``user_id``'s data on it."""
    row = conn.execute(_STATEMENT, {"post_id": post_id, "user_id": user_id}).first()
    if row is None:
        raise NotFound(f"post {post_id} not found")
    media = [_media(item) for item in row.media or ()]
    originals = {item[6]: item[0] for item in row.media or ()
                 if item[6] and item[8] == "image"}
    html = row.content_html
    detail = PostDetail(
        id=row.id, source=row.source, external_id=row.external_id, title=row.title,
        url=row.url, published_at=row.published_at, edited_at=row.edited_at,
        creator=CreatorRef(row.creator_id, row.creator_name), tags=tuple(row.tags or ()),
        image_count=row.image_count, video_count=row.video_count,
        audio_count=row.audio_count, excerpt=excerpt(row.content_text[:EXCERPT_READ]),
        cover_media_id=row.cover_media_id, has_versions=bool(row.versions),
        content_text=row.content_text,
        content_html=None if html is None else sanitize_html(
            html, image_src=None if media_link is None
            else archived_images(originals, media_link)),
        collections=tuple(CollectionRef(item[0], item[1]) for item in row.collections or ()),
        media=tuple(media),
        chapters=tuple(Chapter(*item) for item in row.chapters or ()),
        embeds=tuple(Embed(*item) for item in row.embeds or ()),
        versions=tuple(VersionRef(item[0], item[1], _time(item[2]), _required(item[3]))
                       for item in row.versions or ()))
    if user_id is None:
        return PostView(detail, None)
    return PostView(detail, _mine(post_id, row.my_data, row.my_lists or (),
                                  row.my_highlights or ()))


def _media(item: Sequence[Any]) -> PostMedia:
    (media_id, role, position, caption, filename, is_cover, _original, sha256, kind,
     mime_type, size, width, height, duration_s, page_count, thumbnails,
     has_transcript, gone_upstream) = item
    return PostMedia(media_id=media_id, sha256=sha256, kind=kind, mime_type=mime_type,
                     size=size, width=width, height=height, duration_s=duration_s,
                     page_count=page_count, role=role, position=position, caption=caption,
                     filename=filename, is_cover=is_cover,
                     thumbnails=thumbnail_sizes(thumbnails),
                     has_transcript=bool(has_transcript),
                     gone_upstream=bool(gone_upstream))


def _mine(post_id: int, data: Sequence[Any] | None, lists: Sequence[Sequence[Any]],
          highlights: Sequence[Sequence[Any]]) -> MyPost:
    status, notes, notes_html, updated_at = data if data is not None else (None,) * 4
    note = (Note(post_id, notes, notes_html or "", _required(updated_at))
            if notes is not None else None)
    return MyPost(
        status=status or UNREAD, note=note,
        lists=[UserList(item[0], item[1], item[2], item[3], item[4] or 0, item[5],
                        _required(item[6])) for item in lists],
        highlights=[_highlight(item) for item in highlights])


def _highlight(item: Sequence[Any]) -> Highlight:
    (highlight_id, of_post, target, page, media_id, start, end, exact, prefix, suffix, color,
     comment, orphaned, created_at, updated_at) = item
    return Highlight(highlight_id, of_post, target, page, media_id, start, end, exact, prefix,
                     suffix, color, comment, orphaned, _required(created_at),
                     _required(updated_at))


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _required(value: str | None) -> datetime:
    if value is None:  # pragma: no cover - NOT NULL columns
        raise ValueError("a timestamp the schema requires is missing")
    return datetime.fromisoformat(value)

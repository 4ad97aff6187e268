"""``archive.personal(user).export()``: everything one user made, as one JSON document.

A household's lists, reading statuses, notes and highlights are their own work: they can take
it with them, read it without Alejandria, or keep it beside a backup. Posts are named the way
another archive can find them again (``source`` + ``external_id``, the ids the site gave),
with the title, creator and address for a person, and this archive's id for scripts. Only the
acting user's rows are read: an admin's export holds the admin's data, nobody else's.

The document (``FORMAT``; docs/accounts.md shows one)::

    {"format": "alejandria-personal/1", "exported_at": "...", "user": "ana",
     "status_labels": ["para releer"],
     "lists": [{"name", "description", "color", "created_at", "posts": [post ref + added_at]}],
     "posts": [post ref + {"status", "note", "updated_at"}],     # a status or a note
     "highlights": [post ref + {"target", "page", "media_sha256", "start", "end", "exact",
                                "prefix", "suffix", "color", "comment", "orphaned", ...}]}

where a post ref is ``{"post": {"id", "source", "external_id", "title", "creator", "url"}}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, or_, select
from sqlalchemy.engine import Engine

from alejandria.models import Actor
from alejandria.storage.schema import (
    creators,
    media_files,
    posts,
    user_highlights,
    user_list_posts,
    user_lists,
    user_post_data,
    user_statuses,
)

FORMAT = "alejandria-personal/1"

_POST = (posts.c.id.label("ref_id"), posts.c.source, posts.c.external_id,
         posts.c.title.label("post_title"), creators.c.name.label("creator_name"),
         posts.c.url.label("post_url"))


def _with_post(table: Any) -> Any:
    """``SELECT table.*, the post's reference columns`` joined through ``post_id``."""
    return (select(table, *_POST)
            .join(posts, posts.c.id == table.c.post_id)
            .join(creators, creators.c.id == posts.c.creator_id))


def _post_ref(row: Row[Any]) -> dict[str, Any]:
    return {"id": row.ref_id, "source": row.source, "external_id": row.external_id,
            "title": row.post_title, "creator": row.creator_name, "url": row.post_url}


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_personal(engine: Engine, actor: Actor) -> dict[str, Any]:
    """``actor``'s personal data (see the module docstring), read in one snapshot."""
    user_id = actor.user_id
    with engine.connect() as conn, conn.begin():
        # one snapshot: a list changed while the export runs is exported whole or not at all
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        labels = conn.execute(select(user_statuses.c.name)
                              .where(user_statuses.c.user_id == user_id)
                              .order_by(user_statuses.c.name)).scalars().all()
        lists = conn.execute(select(user_lists).where(user_lists.c.user_id == user_id)
                             .order_by(user_lists.c.position, user_lists.c.id)).all()
        listed = conn.execute(
            _with_post(user_list_posts)
            .join(user_lists, user_lists.c.id == user_list_posts.c.list_id)
            .where(user_lists.c.user_id == user_id)
            .order_by(user_list_posts.c.list_id, user_list_posts.c.position,
                      user_list_posts.c.added_at)).all()
        data = conn.execute(
            _with_post(user_post_data)
            .where(user_post_data.c.user_id == user_id,
                   or_(user_post_data.c.status.is_not(None), user_post_data.c.notes.is_not(None)))
            .order_by(posts.c.source, posts.c.external_id)).all()
        marks = conn.execute(
            _with_post(user_highlights).add_columns(media_files.c.sha256.label("media_sha256"))
            .outerjoin(media_files, media_files.c.id == user_highlights.c.media_id)
            .where(user_highlights.c.user_id == user_id)
            .order_by(posts.c.source, posts.c.external_id, user_highlights.c.start,
                      user_highlights.c.id)).all()
    posts_of: dict[int, list[dict[str, Any]]] = {}
    for row in listed:
        posts_of.setdefault(row.list_id, []).append(
            {"post": _post_ref(row), "position": row.position, "added_at": _when(row.added_at)})
    return {
        "format": FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "user": actor.username,
        "status_labels": list(labels),
        "lists": [{"name": row.name, "description": row.description, "color": row.color,
                   "created_at": _when(row.created_at), "posts": posts_of.get(row.id, [])}
                  for row in lists],
        "posts": [{"post": _post_ref(row), "status": row.status, "note": row.notes,
                   "updated_at": _when(row.updated_at)} for row in data],
        "highlights": [{"post": _post_ref(row), "target": row.target, "page": row.page,
                        "media_sha256": row.media_sha256, "start": row.start, "end": row.end,
                        "exact": row.exact, "prefix": row.prefix, "suffix": row.suffix,
                        "color": row.color, "comment": row.comment, "orphaned": row.orphaned,
                        "created_at": _when(row.created_at),
                        "updated_at": _when(row.updated_at)} for row in marks],
    }

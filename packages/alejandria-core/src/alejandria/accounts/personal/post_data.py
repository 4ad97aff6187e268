"""The user's row per post (``user_post_data``): reading status and note share it. A row with
neither is deleted, so "unread, no note" is the absence of a row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func
from sqlalchemy.dialects.postgresql import insert

from alejandria.storage.schema import user_post_data


def upsert(conn: Connection, user_id: int, post_id: int, **values: Any) -> None:
    statement = insert(user_post_data).values(user_id=user_id, post_id=post_id, **values)
    conn.execute(statement.on_conflict_do_update(
        index_elements=[user_post_data.c.user_id, user_post_data.c.post_id],
        set_={**values, "updated_at": func.now()}))


def drop_if_empty(conn: Connection, user_id: int, post_id: int) -> None:
    conn.execute(delete(user_post_data).where(
        user_post_data.c.user_id == user_id, user_post_data.c.post_id == post_id,
        user_post_data.c.status.is_(None), user_post_data.c.notes.is_(None)))

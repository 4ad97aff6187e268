"""What the acting user keeps on one post — status, note, lists, highlights — read together
on one connection (the web app's post page asks for all four on every view)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from alejandria.accounts.personal.highlights import Highlight, _to_highlight
from alejandria.accounts.personal.lists import _COUNT, UserList, _to_list
from alejandria.accounts.personal.notes import Note, _to_note
from alejandria.accounts.personal.statuses import UNREAD
from alejandria.storage.schema import (
    user_highlights,
    user_list_posts,
    user_lists,
    user_post_data,
)


@dataclass(frozen=True)
class MyPost:
    status: str
    note: Note | None
    lists: list[UserList]
    highlights: list[Highlight]

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status,
                "note": None if self.note is None else self.note.as_json(),
                "lists": [found.as_json() for found in self.lists],
                "highlights": [found.as_json() for found in self.highlights]}


def my_post(engine: Engine, user_id: int, post_id: int) -> MyPost:
    """``user_id``'s data on ``post_id`` (nothing of anyone else's). The caller has checked
    that the post exists (``Personal.status.get`` does it itself)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        data = conn.execute(select(user_post_data).where(
            user_post_data.c.user_id == user_id,
            user_post_data.c.post_id == post_id)).first()
        lists = conn.execute(
            select(user_lists, _COUNT.label("post_count"))
            .join(user_list_posts, user_list_posts.c.list_id == user_lists.c.id)
            .where(user_lists.c.user_id == user_id, user_list_posts.c.post_id == post_id)
            .order_by(user_lists.c.position, user_lists.c.id)).all()
        highlights = conn.execute(
            select(user_highlights).where(user_highlights.c.user_id == user_id,
                                          user_highlights.c.post_id == post_id)
            .order_by(user_highlights.c.target, user_highlights.c.page,
                      user_highlights.c.start, user_highlights.c.id)).all()
    note = _to_note(data) if data is not None and data.notes is not None else None
    return MyPost(status=(data.status if data is not None else None) or UNREAD, note=note,
                  lists=[_to_list(row) for row in lists],
                  highlights=[_to_highlight(row) for row in highlights])

"""One private note per post: the Markdown as written, and its sanitised HTML (rendered when
the note is saved, so reading a note never runs the renderer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update

from alejandria.accounts.personal import post_data
from alejandria.accounts.personal.common import Owned, require_post
from alejandria.accounts.personal.markdown import render_markdown
from alejandria.errors import NotFound
from alejandria.storage.schema import posts, user_post_data

#: A note longer than this is refused (a note, not a book).
MAX_NOTE_CHARS = 100_000


@dataclass(frozen=True)
class Note:
    post_id: int
    markdown: str
    html: str
    updated_at: datetime
    #: The post's title, read with the note by ``Notes.list`` (a page of notes names each
    #: post); None where the caller already knows the post.
    title: str | None = None

    def as_json(self) -> dict[str, Any]:
        found = {"post_id": self.post_id, "markdown": self.markdown, "html": self.html,
                 "updated_at": self.updated_at.isoformat()}
        return found if self.title is None else {**found, "title": self.title}


def _to_note(row: Row[Any]) -> Note:
    return Note(row.post_id, row.notes, row.notes_html or "", row.updated_at,
                row._mapping.get("title"))


_HAS_NOTE = user_post_data.c.notes.is_not(None)


class Notes(Owned):
    """The acting user's notes."""

    def get(self, post_id: int) -> Note:
        """The user's note on a post; ``NotFound`` when they have none."""
        with self.engine.connect() as conn:
            row = conn.execute(select(user_post_data).where(
                user_post_data.c.user_id == self.user_id, user_post_data.c.post_id == post_id,
                _HAS_NOTE)).first()
        if row is None:
            raise NotFound(f"no note on post {post_id}")
        return _to_note(row)

    def list(self) -> list[Note]:
        """Every note of the user, newest first, with its post's title."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(user_post_data, posts.c.title)
                                .join(posts, posts.c.id == user_post_data.c.post_id)
                                .where(user_post_data.c.user_id == self.user_id, _HAS_NOTE)
                                .order_by(user_post_data.c.updated_at.desc())).all()
        return [_to_note(row) for row in rows]

    def set(self, post_id: int, markdown: str) -> Note:
        """Write (or replace) the note on a post."""
        self._may_change()
        if not markdown.strip():
            raise ValueError("a note needs some text (to remove one, delete it)")
        if len(markdown) > MAX_NOTE_CHARS:
            raise ValueError(f"a note is at most {MAX_NOTE_CHARS} characters")
        html = render_markdown(markdown)
        with self.engine.begin() as conn:
            require_post(conn, post_id)
            post_data.upsert(conn, self.user_id, post_id, notes=markdown, notes_html=html)
        return self.get(post_id)

    def delete(self, post_id: int) -> None:
        """Delete the note; ``NotFound`` when there is none."""
        self._may_change()
        with self.engine.begin() as conn:
            gone = conn.execute(update(user_post_data).where(
                user_post_data.c.user_id == self.user_id, user_post_data.c.post_id == post_id,
                _HAS_NOTE).values(notes=None, notes_html=None)).rowcount
            if not gone:
                raise NotFound(f"no note on post {post_id}")
            post_data.drop_if_empty(conn, self.user_id, post_id)

"""Reading status per post: ``unread`` (no row), ``in_progress``, ``completed``, or a label
the user defined.

Custom labels live in ``user_statuses`` rather than being free text, so a typo is refused
instead of becoming a new status, a client can offer the user's labels as choices, and
removing a label resets its posts to unread in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert

from alejandria.accounts.errors import AccountConflict
from alejandria.accounts.personal import post_data
from alejandria.accounts.personal.common import Owned, require_post
from alejandria.errors import NotFound
from alejandria.storage.schema import posts, user_post_data, user_statuses

UNREAD = "unread"
BUILTIN_STATUSES = (UNREAD, "in_progress", "completed")


@dataclass(frozen=True)
class StatusPost:
    """A post the user gave a status, with when they last touched it."""

    post_id: int
    title: str
    status: str
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"post_id": self.post_id, "title": self.title, "status": self.status,
                "updated_at": self.updated_at.isoformat()}


def _check_label(label: str) -> str:
    """A label as stored. It names a path segment (``/statuses/{label}``, of the pages and
    of the API's DELETE), which a "/" would split: such a label could never be reached."""
    cleaned = label.strip()
    if not cleaned or len(cleaned) > 50 or any(not ch.isprintable() for ch in cleaned):
        raise ValueError("a status label is 1-50 printable characters")
    if "/" in cleaned:
        raise ValueError("a status label cannot contain '/'")
    return cleaned


class Statuses(Owned):
    """The acting user's reading status of each post, and their own status labels."""

    def get(self, post_id: int) -> str:
        """The status of a post: ``unread`` unless the user set another."""
        with self.engine.connect() as conn:
            require_post(conn, post_id)
            status = conn.execute(select(user_post_data.c.status).where(
                user_post_data.c.user_id == self.user_id,
                user_post_data.c.post_id == post_id)).scalar()
        return status or UNREAD

    def posts(self, status: str, *, limit: int = 50) -> list[StatusPost]:
        """The user's posts with ``status`` (not ``unread``: that is every other post), the
        most recently touched first: the web app's "continue" shelf and status views."""
        name = status.strip()
        if name == UNREAD:
            raise ValueError("unread posts are all the others; list a status you set")
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(user_post_data.c.post_id, user_post_data.c.status,
                       user_post_data.c.updated_at, posts.c.title)
                .join(posts, posts.c.id == user_post_data.c.post_id)
                .where(user_post_data.c.user_id == self.user_id,
                       user_post_data.c.status == name)
                .order_by(user_post_data.c.updated_at.desc(), user_post_data.c.post_id.desc())
                .limit(max(1, min(limit, 500)))).all()
        return [StatusPost(row.post_id, row.title, row.status, row.updated_at) for row in rows]

    def set(self, post_id: int, status: str) -> str:
        """Set a built-in status or one of the user's labels (``unread`` clears it)."""
        self._may_change()
        with self.engine.begin() as conn:
            require_post(conn, post_id)
            checked = self._known(conn, status)
            if checked == UNREAD:
                self._clear(conn, post_id)
            else:
                post_data.upsert(conn, self.user_id, post_id, status=checked)
        return checked

    def clear(self, post_id: int) -> None:
        """Back to unread."""
        self._may_change()
        with self.engine.begin() as conn:
            require_post(conn, post_id)
            self._clear(conn, post_id)

    def labels(self) -> list[str]:
        """Every status this user may set: the built-in ones, then their own."""
        with self.engine.connect() as conn:
            own = conn.execute(select(user_statuses.c.name)
                               .where(user_statuses.c.user_id == self.user_id)
                               .order_by(user_statuses.c.id)).scalars().all()
        return [*BUILTIN_STATUSES, *own]

    def define(self, label: str) -> str:
        """Add a status label of the user's own."""
        self._may_change()
        name = _check_label(label)
        if name in BUILTIN_STATUSES:
            raise AccountConflict(f"{name!r} is a built-in status")
        with self.engine.begin() as conn:
            added = conn.execute(insert(user_statuses).values(user_id=self.user_id, name=name)
                                 .on_conflict_do_nothing().returning(user_statuses.c.id)).first()
        if added is None:
            raise AccountConflict(f"you already have the status {name!r}")
        return name

    def undefine(self, label: str) -> int:
        """Remove one of the user's labels; its posts become unread (how many: returned)."""
        self._may_change()
        name = label.strip()
        with self.engine.begin() as conn:
            gone = conn.execute(delete(user_statuses).where(
                user_statuses.c.user_id == self.user_id, user_statuses.c.name == name,
            ).returning(user_statuses.c.id)).first()
            if gone is None:
                raise NotFound(f"no status label {name!r}")
            reset = conn.execute(update(user_post_data).where(
                user_post_data.c.user_id == self.user_id, user_post_data.c.status == name,
            ).values(status=None).returning(user_post_data.c.post_id)).scalars().all()
            for post_id in reset:
                post_data.drop_if_empty(conn, self.user_id, post_id)
        return len(reset)

    def _known(self, conn: Connection, status: str) -> str:
        name = status.strip()
        if name in BUILTIN_STATUSES:
            return name
        own = conn.execute(select(user_statuses.c.id).where(
            user_statuses.c.user_id == self.user_id, user_statuses.c.name == name)).first()
        if own is None:
            raise ValueError(f"unknown status {name!r}: use unread, in_progress, completed "
                             "or define a label of your own first")
        return name

    def _clear(self, conn: Connection, post_id: int) -> None:
        conn.execute(update(user_post_data).where(
            user_post_data.c.user_id == self.user_id, user_post_data.c.post_id == post_id,
        ).values(status=None))
        post_data.drop_if_empty(conn, self.user_id, post_id)

"""A user's lists: named, described, coloured, ordered; a post may be in many lists.

A list is named by id or by name; both are looked up among the acting user's lists only, so
someone else's list is ``NotFound`` with the message a missing one gets.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from alejandria.accounts.errors import AccountConflict
from alejandria.accounts.personal.common import Owned, check_color, require_post
from alejandria.errors import NotFound
from alejandria.storage.schema import posts, user_list_posts, user_lists

ListRef = int | str


@dataclass(frozen=True)
class UserList:
    id: int
    name: str
    description: str | None
    color: str | None
    position: int
    posts: int
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description,
                "color": self.color, "position": self.position, "posts": self.posts,
                "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class ListedPost:
    post_id: int
    title: str
    position: int
    added_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"post_id": self.post_id, "title": self.title, "position": self.position,
                "added_at": self.added_at.isoformat()}


def _check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 255:
        raise ValueError("a list name is 1-255 characters")
    return cleaned


_COUNT = (select(func.count()).where(user_list_posts.c.list_id == user_lists.c.id)
          .correlate(user_lists).scalar_subquery())


class Lists(Owned):
    """The acting user's lists."""

    # -- reading -----------------------------------------------------------------------------

    def list(self) -> list[UserList]:
        """Every list of the user, in their order."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(user_lists, _COUNT.label("post_count"))
                                .where(user_lists.c.user_id == self.user_id)
                                .order_by(user_lists.c.position, user_lists.c.id)).all()
        return [_to_list(row) for row in rows]

    def get(self, ref: ListRef) -> UserList:
        with self.engine.connect() as conn:
            return _to_list(self._row(conn, ref))

    def posts_in(self, ref: ListRef) -> builtins.list[ListedPost]:
        """The posts of a list, in its order."""
        with self.engine.connect() as conn:
            row = self._row(conn, ref)
            rows = conn.execute(
                select(user_list_posts, posts.c.title)
                .join(posts, posts.c.id == user_list_posts.c.post_id)
                .join(user_lists, user_lists.c.id == user_list_posts.c.list_id)
                .where(user_list_posts.c.list_id == row.id,
                       user_lists.c.user_id == self.user_id)
                .order_by(user_list_posts.c.position, user_list_posts.c.added_at)).all()
        return [ListedPost(r.post_id, r.title, r.position, r.added_at) for r in rows]

    def lists_of(self, post_id: int) -> builtins.list[UserList]:
        """The user's lists that hold ``post_id``."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(user_lists, _COUNT.label("post_count"))
                .join(user_list_posts, user_list_posts.c.list_id == user_lists.c.id)
                .where(user_lists.c.user_id == self.user_id,
                       user_list_posts.c.post_id == post_id)
                .order_by(user_lists.c.position, user_lists.c.id)).all()
        return [_to_list(row) for row in rows]

    # -- changing ----------------------------------------------------------------------------

    def create(self, name: str, *, description: str | None = None,
               color: str | None = None) -> UserList:
        """A new list at the end; ``AccountConflict`` when the user has one of that name."""
        self._may_change()
        values = {"user_id": self.user_id, "name": _check_name(name),
                  "description": description or None,
                  "color": None if color is None else check_color(color)}
        with self.engine.begin() as conn:
            last = conn.execute(select(func.max(user_lists.c.position))
                                .where(user_lists.c.user_id == self.user_id)).scalar()
            row = conn.execute(insert(user_lists).values(
                **values, position=0 if last is None else last + 1,
            ).on_conflict_do_nothing().returning(user_lists.c.id)).first()
            if row is None:
                raise AccountConflict(f"you already have a list named {values['name']!r}")
            return _to_list(self._row(conn, row.id))

    def rename(self, ref: ListRef, name: str) -> UserList:
        return self._update(ref, name=_check_name(name))

    def recolour(self, ref: ListRef, color: str | None) -> UserList:
        """Set the colour (``#RRGGBB``) or, with None, remove it."""
        return self._update(ref, color=None if color is None else check_color(color))

    def describe(self, ref: ListRef, description: str | None) -> UserList:
        return self._update(ref, description=description or None)

    def reorder(self, refs: Sequence[ListRef]) -> builtins.list[UserList]:
        """Put these lists first, in this order; the others follow in their order."""
        self._may_change()
        with self.engine.begin() as conn:
            first = [self._row(conn, ref, lock=True).id for ref in refs]
            rest = conn.execute(select(user_lists.c.id)
                                .where(user_lists.c.user_id == self.user_id,
                                       user_lists.c.id.not_in(first))
                                .order_by(user_lists.c.position, user_lists.c.id)).scalars()
            for position, list_id in enumerate([*dict.fromkeys(first), *rest]):
                conn.execute(update(user_lists).where(user_lists.c.id == list_id,
                                                      user_lists.c.user_id == self.user_id)
                             .values(position=position))
        return self.list()

    def delete(self, ref: ListRef) -> None:
        """Delete a list (its posts stay in the archive and in other lists)."""
        self._may_change()
        with self.engine.begin() as conn:
            row = self._row(conn, ref, lock=True)
            conn.execute(delete(user_lists).where(user_lists.c.id == row.id,
                                                  user_lists.c.user_id == self.user_id))

    def add_post(self, ref: ListRef, post_id: int) -> None:
        """Append a post to a list (already there: nothing changes)."""
        self._may_change()
        with self.engine.begin() as conn:
            row = self._row(conn, ref, lock=True)
            require_post(conn, post_id)
            last = conn.execute(select(func.max(user_list_posts.c.position))
                                .where(user_list_posts.c.list_id == row.id)).scalar()
            conn.execute(insert(user_list_posts).values(
                list_id=row.id, post_id=post_id, position=0 if last is None else last + 1,
            ).on_conflict_do_nothing())

    def remove_post(self, ref: ListRef, post_id: int) -> None:
        """Take a post out of a list; ``NotFound`` when it is not in it."""
        self._may_change()
        with self.engine.begin() as conn:
            row = self._row(conn, ref, lock=True)
            gone = conn.execute(delete(user_list_posts).where(
                user_list_posts.c.list_id == row.id, user_list_posts.c.post_id == post_id,
            )).rowcount
        if not gone:
            raise NotFound(f"post {post_id} is not in list {ref!r}")

    # -- helpers -----------------------------------------------------------------------------

    def _update(self, ref: ListRef, **values: Any) -> UserList:
        self._may_change()
        try:
            with self.engine.begin() as conn:
                row = self._row(conn, ref, lock=True)
                conn.execute(update(user_lists).where(user_lists.c.id == row.id,
                                                      user_lists.c.user_id == self.user_id)
                             .values(**values))
                return _to_list(self._row(conn, row.id))
        except IntegrityError:
            raise AccountConflict(f"you already have a list named {values.get('name')!r}") \
                from None

    def _row(self, conn: Connection, ref: ListRef, *, lock: bool = False) -> Row[Any]:
        """One of the user's lists by id or name; ``NotFound`` for a missing or foreign one."""
        mine = user_lists.c.user_id == self.user_id
        key = user_lists.c.id == ref if isinstance(ref, int) else user_lists.c.name == ref.strip()
        query = select(user_lists, _COUNT.label("post_count")).where(and_(mine, key))
        if lock:
            query = query.with_for_update(of=user_lists)
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no list {ref!r}")
        return row


def _to_list(row: Row[Any]) -> UserList:
    return UserList(row.id, row.name, row.description, row.color, row.position or 0, row.post_count,
                    row.created_at)

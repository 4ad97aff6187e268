"""What the personal services share: colour checks, the post check, the change permission."""

from __future__ import annotations

import re

from sqlalchemy import Connection, exists, select
from sqlalchemy.engine import Engine

from alejandria.accounts.roles import Permission, require
from alejandria.errors import NotFound
from alejandria.models import Actor
from alejandria.storage.schema import posts

_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def check_color(color: str) -> str:
    """``#RRGGBB``, lower-cased; ``ValueError`` otherwise."""
    if not _COLOR.match(color):
        raise ValueError(f"colour {color!r} is not #RRGGBB (e.g. #ffcc00)")
    return color.lower()


def require_post(conn: Connection, post_id: int) -> None:
    """``NotFound`` unless the post exists (every user may read every post)."""
    if not conn.execute(select(exists().where(posts.c.id == post_id))).scalar():
        raise NotFound(f"no post {post_id}")


class Owned:
    """A service over one user's own rows: ``actor`` is that user."""

    def __init__(self, engine: Engine, actor: Actor) -> None:
        self.engine = engine
        self.actor = actor

    @property
    def user_id(self) -> int:
        return self.actor.user_id

    def _may_change(self) -> None:
        require(self.actor, Permission.OWN_DATA)

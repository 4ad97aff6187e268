"""``archive.personal(user)``: one user's lists, statuses, notes and highlights."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from alejandria.accounts.personal.export import export_personal
from alejandria.accounts.personal.highlights import Highlights
from alejandria.accounts.personal.lists import Lists
from alejandria.accounts.personal.notes import Notes
from alejandria.accounts.personal.post_view import MyPost, my_post
from alejandria.accounts.personal.statuses import Statuses
from alejandria.models import Actor


class Personal:
    """The personal data of ``actor``, who is also the one acting: nobody reaches another
    user's data through it (an admin included: private means private)."""

    def __init__(self, engine: Engine, actor: Actor) -> None:
        self.actor = actor
        self.lists = Lists(engine, actor)
        self.status = Statuses(engine, actor)
        self.notes = Notes(engine, actor)
        self.highlights = Highlights(engine, actor)
        self._engine = engine

    def post(self, post_id: int) -> MyPost:
        """My status, note, lists and highlights of one post, read together (one connection,
        three statements). For a post the caller has already found: an unknown id gives
        the empty answer, not ``NotFound``."""
        return my_post(self._engine, self.actor.user_id, post_id)

    def export(self) -> dict[str, Any]:
        """Everything of mine as one JSON-ready document: lists with their posts, statuses,
        notes, highlights and my status labels, each post named so another archive finds it
        again (``accounts.personal.export``). Every role may export its own data."""
        return export_personal(self._engine, self.actor)

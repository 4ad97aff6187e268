"""The per-creator sync cursor: how far the archive reaches, so a daily run stops early.

Posts are archived oldest first and the cursor advances with each committed checkpoint, so
everything published up to ``newest_published`` is archived: a run that was killed resumes
by listing from the newest post down to that mark. A post at or below the mark whose last
change (edit, else publication) is not newer than ``newest_changed`` is known and unedited;
the listing stops after the first page holding one. Edits to posts deeper than that page are
found by the full walk every ``full_every_days``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alejandria.models import JsonDict
from alejandria_source_patreon.posts import ParsedPost, parse_time

VERSION = 1
#: How many of the newest archived post ids the cursor remembers (see ``recent``).
RECENT = 20


@dataclass(frozen=True)
class SyncCursor:
    newest_published: datetime | None = None
    newest_changed: datetime | None = None
    full_walk_at: datetime | None = None
    #: Ids of the newest posts archived as viewable: if these come back locked while nothing
    #: is viewable, the session has expired (Patreon shows a logged-out view).
    recent: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, value: JsonDict | None) -> SyncCursor:
        if not value or value.get("version") != VERSION:
            return cls()
        recent = value.get("recent")
        return cls(
            newest_published=parse_time(value.get("newest_published")),
            newest_changed=parse_time(value.get("newest_changed")),
            full_walk_at=parse_time(value.get("full_walk_at")),
            recent=tuple(str(item) for item in recent) if isinstance(recent, list) else (),
        )

    def to_json(self) -> JsonDict:
        return {
            "version": VERSION,
            "newest_published": _iso(self.newest_published),
            "newest_changed": _iso(self.newest_changed),
            "full_walk_at": _iso(self.full_walk_at),
            "recent": list(self.recent),
        }

    def knows(self, post: ParsedPost) -> bool:
        """Archived by an earlier run and not changed since."""
        published, changed = post.published_at, post.changed_at
        if published is None or changed is None or self.newest_published is None:
            return False
        return published <= self.newest_published and (
            self.newest_changed is not None and changed <= self.newest_changed)

    def is_new(self, post: ParsedPost) -> bool:
        """Published after everything archived so far (so its files are not stored yet)."""
        return (self.newest_published is None or post.published_at is None
                or post.published_at > self.newest_published)

    def advanced(self, post: ParsedPost) -> SyncCursor:
        """The cursor once ``post`` (viewable, archived) is committed."""
        recent = self.recent
        if post.id not in recent:
            recent = (post.id, *recent)[:RECENT]
        return replace(self, newest_published=_later(self.newest_published, post.published_at),
                       newest_changed=_later(self.newest_changed, post.changed_at),
                       recent=recent)

    def full_walk_due(self, now: datetime, every_days: float) -> bool:
        return self.full_walk_at is None or now - self.full_walk_at >= timedelta(days=every_days)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None

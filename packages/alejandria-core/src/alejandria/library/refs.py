"""The small values every catalogue answer shares: references to a creator, a post or a
collection, and datetimes written for JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The sizes of the ``thumbnails`` processor (``media.processors.thumbnails.SIZES``), as the
#: keys of its ``media_derivatives.result["thumbnails"]``.
THUMBNAIL_SIZES = (150, 300, 600)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def thumbnail_sizes(thumbnails: Any) -> tuple[int, ...]:
    """The sizes a ``thumbnails`` result names a file for, smallest first."""
    if not isinstance(thumbnails, dict):
        return ()
    return tuple(size for size in THUMBNAIL_SIZES
                 if isinstance(thumbnails.get(str(size)), str) and thumbnails[str(size)])


@dataclass(frozen=True)
class CreatorRef:
    id: int
    name: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class PostRef:
    id: int
    title: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title}


@dataclass(frozen=True)
class CollectionRef:
    id: int
    title: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title}

"""Which book a PDF file is: its identity is its content, not its path.

A book's name (its collection's external id, and the prefix of its chapter posts' ids) is
``sha256:`` and the SHA-256 of the bytes it was first archived with, so the same PDF in two
folders is one book, and a file that was moved or renamed is the same book, with the same
post rows (and whatever is attached to them), when its new place is synced.

A source never reads the archive, so a file is matched with what this source can know, in
this order:

1. a book met earlier in the same sync with the same bytes (read, or skipped as unchanged):
   the file is a copy of it, and is not read again;
2. the book the file's path held at its last checkpoint (the cursor names it): a file whose
   bytes changed in place is an edited book, updated in place, so its notes survive;
3. otherwise a new name from its bytes, which any copy of it synced later shares.

Checkpoints written before books had content names carry no ``book``: such a path keeps its
old name, ``file:`` and the path, so re-syncing an older archive duplicates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alejandria.models import JsonDict

CONTENT_PREFIX = "sha256:"
#: How books were named before they were named by content.
PATH_PREFIX = "file:"


def content_name(sha256: str) -> str:
    """The name of a book first archived with these bytes."""
    return CONTENT_PREFIX + sha256


def previous_name(cursor: JsonDict | None, path: Path) -> str | None:
    """The book ``path`` held at its last checkpoint, or None for a path never archived."""
    if not cursor or not cursor.get("sha256"):
        return None  # no checkpoint, or only an error recorded for the path
    book = cursor.get("book")
    return book if isinstance(book, str) and book else PATH_PREFIX + str(path)


@dataclass(frozen=True)
class KnownBook:
    """A book met in this sync: its name and the file it was met in."""

    name: str
    path: Path


class BooksSeen:
    """The books one sync has met, by the SHA-256 of their bytes (first met wins).

    One per source, which serves one sync; ``fetch`` runs one target at a time, so no lock.
    """

    def __init__(self) -> None:
        self._by_sha256: dict[str, KnownBook] = {}

    def get(self, sha256: str) -> KnownBook | None:
        return self._by_sha256.get(sha256)

    def add(self, sha256: str, name: str, path: Path) -> None:
        self._by_sha256.setdefault(sha256, KnownBook(name, path))

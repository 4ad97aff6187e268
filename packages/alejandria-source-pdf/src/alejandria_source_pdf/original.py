"""The book's own PDF, kept in the archive as a media file of each of its chapters.

Every chapter post holds the same ``MediaIn`` (``ORIGINAL_ROLE``, keyed by the SHA-256 of the
book's bytes), so the media store keeps the file once however many chapters hold it, a re-sync
of a book whose bytes are stored does not read it again, and an edited book (new bytes, a new
key) has its chapters linked to the new file. The role tells core that the chapters already
hold the file's text (one chunk per page): its ``extract`` processor does not index the pages
a second time, and the web app offers the file as the book's PDF, opened at each page.

The bytes are streamed from the file by ``open_media`` (a book can be hundreds of MB), and
checked against the hash the sync took: a file that changed in between is refused, not stored
under another file's key (the next sync reads the book as it is then).
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote_to_bytes, urlsplit

from alejandria.errors import ItemRejected
from alejandria.models import ORIGINAL_ROLE, MediaIn, MediaKind

KEY_PREFIX = "sha256:"
PDF_MIME_TYPE = "application/pdf"
READ_SIZE = 1 << 20


def book_file(path: Path, sha256: str, position: int) -> MediaIn:
    """The ``MediaIn`` of the book at ``path`` whose bytes hash to ``sha256``."""
    return MediaIn(
        key=KEY_PREFIX + sha256,
        url=path.as_uri(),  # where open_media reads it; not part of the post's hash
        filename=os.fsencode(path.name).decode("utf-8", "backslashreplace"),
        mime_type=PDF_MIME_TYPE,
        kind=MediaKind.DOCUMENT,
        role=ORIGINAL_ROLE,
        position=position,
    )


def open_book_file(media: MediaIn) -> BinaryIO:
    """A stream over the book's bytes that fails at its end if they are not the ones hashed."""
    subject = media.filename or media.key
    if not media.key.startswith(KEY_PREFIX) or not (media.url or "").startswith("file:"):
        raise ItemRejected(subject, "not a book file of this source", retry=False)
    path = Path(os.fsdecode(unquote_to_bytes(urlsplit(media.url or "").path)))
    try:
        handle = path.open("rb")
    except FileNotFoundError as exc:
        raise ItemRejected(subject, "the file is gone; the next sync reads the book again"
                           ) from exc
    except OSError as exc:
        raise ItemRejected(subject, f"cannot read file: {exc.strerror or exc}") from exc
    return io.BufferedReader(_Checked(handle, media.key.removeprefix(KEY_PREFIX), subject),
                             READ_SIZE)


class _Checked(io.RawIOBase):
    """Reads a file while hashing it; at its end, bytes that are not those hashed when the
    sync read the book raise instead of ending, so the store throws its copy away."""

    def __init__(self, handle: BinaryIO, sha256: str, subject: str) -> None:
        self._handle = handle
        self._sha256 = sha256
        self._subject = subject
        self._digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        chunk = self._handle.read(READ_SIZE if size is None or size < 0 else size)
        if chunk:
            self._digest.update(chunk)
        elif self._digest.hexdigest() != self._sha256:
            raise ItemRejected(self._subject, "the file changed while it was archived; the "
                                              "next sync archives it as it is then")
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self._handle.close()
        super().close()

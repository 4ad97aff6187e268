"""One media file: what it is, which posts hold it, where its bytes and thumbnails lie.

Paths are built from what the database says, never from a request: the file from its
sha256 (after checking it is a sha256), a thumbnail from the path the ``thumbnails``
processor recorded, relative to the data dir. A recorded path that leads outside the data
dir's ``derived/`` files (``..``, an absolute path, a symlink out, another file of the data
dir) is refused. With a remote store (S3) a file has no path here: ``StoredFile`` reads it
through the store (ranges, presigned URLs), and a thumbnail is a copy from the store's
bounded local cache.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Connection, exists, select

from alejandria.errors import InvalidRequest, MediaError, NotFound
from alejandria.library.refs import THUMBNAIL_SIZES, PostRef, iso, thumbnail_sizes
from alejandria.plugin_types import BlobStore
from alejandria.storage.schema import (
    media_derivatives,
    media_files,
    post_media,
    posts,
    transcriptions,
)

_SHA256 = re.compile(r"[0-9a-f]{64}")
#: Where processors write what they derive (``ProcessorContext.derived_dir``): a thumbnail
#: lies there, never elsewhere in the data dir (the media store, the credentials key).
DERIVED_DIR = "derived"
_HAS_TRANSCRIPT = exists().where(transcriptions.c.media_id == media_files.c.id,
                                 transcriptions.c.status == "complete")
_THUMBNAILS = (select(media_derivatives.c.result["thumbnails"])
               .where(media_derivatives.c.media_id == media_files.c.id,
                      media_derivatives.c.processor == "thumbnails",
                      media_derivatives.c.status == "done")
               .correlate(media_files).scalar_subquery())
_FILENAME = (select(post_media.c.filename)
             .where(post_media.c.media_id == media_files.c.id, post_media.c.filename.is_not(None))
             .order_by(post_media.c.id).limit(1).correlate(media_files).scalar_subquery())


@dataclass(frozen=True)
class MediaInfo:
    id: int
    sha256: str
    kind: str
    mime_type: str | None
    size: int
    width: int | None
    height: int | None
    duration_s: float | None
    page_count: int | None
    first_seen_at: datetime
    #: The name a post gave the file (the first post that named it), for a download.
    filename: str | None
    #: The thumbnail sizes made (``Library.thumbnail``), smallest first.
    thumbnails: tuple[int, ...]
    has_transcript: bool
    #: The posts that hold the file, by id.
    posts: tuple[PostRef, ...]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "sha256": self.sha256, "kind": self.kind,
                "mime_type": self.mime_type, "size": self.size, "width": self.width,
                "height": self.height, "duration_s": self.duration_s,
                "page_count": self.page_count, "first_seen_at": iso(self.first_seen_at),
                "filename": self.filename,
                "thumbnails": list(self.thumbnails), "has_transcript": self.has_transcript,
                "posts": [post.as_json() for post in self.posts]}


@dataclass(frozen=True)
class StoredFile:
    """A media file to stream: what it is, and its absolute path in the media store (None
    when the store is remote: ``read`` and ``presigned_url`` reach the bytes)."""

    info: MediaInfo
    path: Path | None
    store: BlobStore | None = None

    def as_json(self) -> dict[str, Any]:
        """The file's info only: a server path is no business of a client."""
        return {"info": self.info.as_json()}

    def read(self, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """``length`` bytes from ``start`` (or the rest), in chunks."""
        if self.store is None:
            raise MediaError(f"media {self.info.id} has no store to read from")
        return self.store.read(self.info.sha256, start, length)

    def presigned_url(self, ttl_s: int, *, content_type: str | None = None,
                      disposition: str | None = None) -> str | None:
        """A short-lived URL of the bytes at a remote store, or None (a local store)."""
        if self.store is None or ttl_s <= 0:
            return None
        return self.store.presigned_url(self.info.sha256, ttl_s, content_type=content_type,
                                        disposition=disposition)

    def origin(self) -> str | None:
        """Where ``presigned_url`` points (for a CSP), or None."""
        return self.store.origin() if self.store is not None else None


def get_media(conn: Connection, media_id: int) -> MediaInfo:
    row = conn.execute(select(media_files, _THUMBNAILS.label("thumbnails"),
                              _HAS_TRANSCRIPT.label("has_transcript"),
                              _FILENAME.label("filename"))
                       .where(media_files.c.id == media_id)).first()
    if row is None:
        raise NotFound(f"media {media_id} not found")
    holders = conn.execute(select(posts.c.id, posts.c.title).distinct()
                           .join(post_media, post_media.c.post_id == posts.c.id)
                           .where(post_media.c.media_id == media_id).order_by(posts.c.id)).all()
    return MediaInfo(id=row.id, sha256=row.sha256, kind=row.kind, mime_type=row.mime_type,
                     size=row.size, width=row.width, height=row.height,
                     duration_s=row.duration_s, page_count=row.page_count,
                     first_seen_at=row.first_seen_at, filename=row.filename,
                     thumbnails=thumbnail_sizes(row.thumbnails),
                     has_transcript=bool(row.has_transcript),
                     posts=tuple(PostRef(post.id, post.title) for post in holders))


def stored_file(info: MediaInfo, store: BlobStore) -> StoredFile:
    """``info`` with where its bytes are; ``NotFound`` when the store lacks them."""
    if not _SHA256.fullmatch(info.sha256):
        raise MediaError(f"media {info.id} has a malformed sha256 in the database")
    missing = NotFound(f"media {info.id} is missing from the media store "
                       "(alejandria media verify lists such files)")
    if store.remote:
        if not store.exists(info.sha256):
            raise missing
        return StoredFile(info, None, store)
    path = store.local_file(info.sha256)
    if path is None:
        raise missing
    return StoredFile(info, path.absolute(), store)


def thumbnail_path(conn: Connection, data_dir: Path, media_id: int, size: int,
                   store: BlobStore | None = None) -> Path:
    """The absolute path of the ``size`` px thumbnail, checked to lie inside ``data_dir``'s
    ``derived/`` files, symlinks resolved; with a remote ``store``, a local copy of the
    derived file the recorded path names there."""
    if isinstance(size, bool) or size not in THUMBNAIL_SIZES:
        raise InvalidRequest(f"thumbnail size {size!r} is not one of "
                             f"{', '.join(map(str, THUMBNAIL_SIZES))}")
    row = conn.execute(select(media_files.c.id, _THUMBNAILS.label("thumbnails"))
                       .where(media_files.c.id == media_id)).first()
    if row is None:
        raise NotFound(f"media {media_id} not found")
    recorded = row.thumbnails.get(str(size)) if isinstance(row.thumbnails, dict) else None
    if not isinstance(recorded, str) or not recorded:
        raise NotFound(f"media {media_id} has no {size} px thumbnail")
    if store is not None and store.remote:
        return _remote_thumbnail(store, recorded, media_id, size)
    root = data_dir.resolve()
    derived = root / DERIVED_DIR
    try:
        path = (root / recorded).resolve()
    except (OSError, ValueError):  # a NUL byte, a symlink loop
        path = root
    if not path.is_relative_to(derived) or path == derived:
        raise MediaError(f"refused the {size} px thumbnail of media {media_id}: its recorded "
                         f"path leads outside the data dir's {DERIVED_DIR}/ files")
    if not path.is_file():
        raise NotFound(f"the {size} px thumbnail of media {media_id} is missing "
                       "(alejandria process backfill makes it again)")
    return path


def _remote_thumbnail(store: BlobStore, recorded: str, media_id: int, size: int) -> Path:
    parts = PurePosixPath(recorded).parts
    if (len(parts) < 2 or parts[0] != DERIVED_DIR or recorded.startswith("/")
            or any(part in ("", ".", "..") for part in parts) or "\\" in recorded):
        raise MediaError(f"refused the {size} px thumbnail of media {media_id}: its recorded "
                         f"path leads outside the data dir's {DERIVED_DIR}/ files")
    try:
        return store.derived_path("/".join(parts[1:]))
    except FileNotFoundError:
        raise NotFound(f"the {size} px thumbnail of media {media_id} is missing "
                       "(alejandria process backfill makes it again)") from None
    except MediaError as exc:
        raise MediaError(f"refused the {size} px thumbnail of media {media_id}: {exc}") from exc

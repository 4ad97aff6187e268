"""The frozen records ``alejandria.testing.reads`` returns: what a sync stored, as a test sees it.

Rows of other tables are named by what a plugin knows them by (a post's ``external_id``, a
file's ``sha256``), not by database ids, so a test can compare them with what its source
yielded. Lists are tuples; JSON columns stay dicts (compare them, do not change them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Membership:
    """A post's place in a collection."""

    collection: str  #: the collection's external_id
    position: int | None


@dataclass(frozen=True)
class PostRecord:
    id: int
    source: str
    external_id: str
    title: str
    content_text: str
    content_html: str | None
    url: str | None
    tags: tuple[str, ...]
    metadata: dict[str, Any]
    published_at: datetime | None
    edited_at: datetime | None
    has_text: bool
    language: str | None
    content_hash: str
    updated_at: datetime
    creator: str  #: the creator's external_id
    creator_name: str
    collections: tuple[Membership, ...]  #: by collection, in the order they were written


@dataclass(frozen=True)
class MediaLinkRecord:
    """One file of one post (``post_media``) with the stored file's facts (``media_files``)."""

    post: str  #: the post's external_id
    source: str
    key: str
    role: str
    filename: str | None
    position: int
    caption: str | None
    original_url: str | None
    is_cover: bool
    sha256: str
    kind: str
    mime_type: str | None
    size: int
    width: int | None
    height: int | None


@dataclass(frozen=True)
class MediaFileRecord:
    """A stored file: one per content (sha256), however many posts and keys point at it."""

    sha256: str
    kind: str
    mime_type: str | None
    size: int
    width: int | None
    height: int | None
    duration_s: float | None
    page_count: int | None
    metadata: dict[str, Any]
    keys: tuple[tuple[str, str], ...]  #: the (source, key) pairs that name it


@dataclass(frozen=True)
class CreatorRecord:
    source: str
    external_id: str
    name: str
    url: str | None
    avatar_url: str | None
    metadata: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class CollectionRecord:
    source: str
    external_id: str
    title: str
    description: str | None
    cover_url: str | None
    metadata: dict[str, Any]
    creator: str  #: the creator's external_id
    posts: tuple[str, ...]  #: its posts' external_ids by position
    updated_at: datetime


@dataclass(frozen=True)
class ChunkRecord:
    """A searchable piece of a post's text (one page of a book, a post's body)."""

    post: str  #: the post's external_id
    source: str
    ordinal: int
    kind: str
    page: int | None
    heading: str
    text: str


@dataclass(frozen=True)
class SyncCursorRecord:
    source: str
    scope: str
    cursor: dict[str, Any]
    last_error: str | None
    updated_at: datetime


@dataclass(frozen=True)
class PostVersionRecord:
    """A post as it was before an edit replaced it."""

    post: str  #: the post's external_id
    source: str
    title: str
    content_text: str
    content_html: str | None
    tags: tuple[str, ...]
    metadata: dict[str, Any]
    published_at: datetime | None
    edited_at: datetime | None
    content_hash: str
    replaced_at: datetime


@dataclass(frozen=True)
class EmbedRecord:
    """A video a post embeds, queued for the video downloader."""

    post: str  #: the post's external_id
    source: str
    key: str
    url: str
    referer: str | None
    position: int
    status: str
    attempts: int
    error: str | None
    sha256: str | None  #: the downloaded file, once there is one


@dataclass(frozen=True)
class CredentialRecord:
    """Stored credentials of one account: the field names, never the values.

    ``ciphertext`` is the row as stored, so a test can check a secret is not in it in plain;
    it is left out of ``repr``.
    """

    source: str
    account: str
    fields: tuple[str, ...]
    updated_at: datetime
    ciphertext: bytes = field(repr=False)


@dataclass(frozen=True)
class DerivativeRecord:
    """What a media processor (probe, thumbnails, extract, a plugin's) made of a stored file."""

    sha256: str  #: the file's
    processor: str
    version: str
    status: str  #: done, failed or skipped
    result: dict[str, Any]
    error: str | None
    updated_at: datetime


@dataclass(frozen=True)
class PassageRecord:
    """A passage of text an extractor took from a stored document (a PDF's page)."""

    sha256: str  #: the document's
    ordinal: int
    page: int | None
    text: str

"""Pydantic models for every domain object that crosses a plugin boundary.

Sources yield the ``*In`` models; the pipeline persists them. Search backends return
``SearchHit``. All models are frozen: a plugin cannot mutate what another plugin sees.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alejandria.redaction import redact
from alejandria.storable import storable

JsonDict = dict[str, Any]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceInput(Frozen):
    """What a source yields: every string in it is made storable (no NUL, no lone surrogate)
    before it can reach Postgres, whichever plugin built it."""

    @model_validator(mode="before")
    @classmethod
    def _storable_strings(cls, data: Any) -> Any:
        return storable(data) if isinstance(data, dict) else data


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    OTHER = "other"


class CreatorIn(SourceInput):
    """A person or organisation whose content is archived (a Patreon creator, a book's author)."""

    external_id: str = Field(min_length=1)
    name: str
    url: str | None = None
    avatar_url: str | None = None
    metadata: JsonDict = Field(default_factory=dict)


class CollectionIn(SourceInput):
    """A group of posts: a Patreon collection, a Gumroad product, a PDF book."""

    external_id: str = Field(min_length=1)
    creator_external_id: str
    title: str
    description: str | None = None
    cover_url: str | None = None
    metadata: JsonDict = Field(default_factory=dict)


class CollectionRef(SourceInput):
    """A post's membership in a collection, with its position there."""

    external_id: str
    position: int | None = None


class ChunkIn(SourceInput):
    """A searchable slice of a post: a PDF page, a paragraph window, a transcript window."""

    text: str
    page: int | None = None
    start_s: float | None = None
    end_s: float | None = None


#: ``MediaIn.role`` of an embedded video (a YouTube/Vimeo page, an HLS stream): its ``url`` is
#: downloaded with yt-dlp after the sync (``metadata["referer"]`` is sent when given), never
#: streamed through ``Source.open_media``.
EMBED_ROLE = "embed"

#: ``MediaIn.role`` of the file a post was read from (a PDF book whose chapter the post is):
#: the source already gave its text as the post's ``text``/``chunks``. Core keeps the file
#: like any other (streamed, stored once however many posts hold it, probed, thumbnailed), but
#: does not index its text again for those posts: the ``extract`` processor skips a document
#: that only originals link (recorded as done with a ``skipped`` reason, not as a failure), and
#: a document that other posts attach is extracted for them alone (``storage.passages``).
#: An original's ``filename`` is where it was found, like its ``url``: it does not count in
#: ``PostIn.content_hash``, so a renamed or copied book rewrites none of its posts.
ORIGINAL_ROLE = "original"


class MediaIn(SourceInput):
    """A media file a post references.

    ``key`` is the file's stable identity within the source (a path hash, a content id), never a
    signed URL that changes on every fetch: a known key is not downloaded again. Small files the
    source already holds in memory travel in ``data``; the rest are streamed through
    ``Source.open_media``, except embedded videos (``role=EMBED_ROLE``).

    ``role`` says what the file is to the post ("attachment", "image", "cover", ...); two
    have a meaning for core: ``EMBED_ROLE`` (a video page downloaded after the sync) and
    ``ORIGINAL_ROLE`` (the file the post's text was read from, whose text core then does not
    extract and index again for this post).
    """

    key: str = Field(min_length=1)
    url: str | None = None
    filename: str | None = None
    mime_type: str | None = None
    kind: MediaKind | None = None
    role: str = "attachment"
    position: int = 0
    caption: str | None = None
    data: bytes | None = Field(default=None, repr=False)
    metadata: JsonDict = Field(default_factory=dict)


class PostIn(SourceInput):
    """One post (a Patreon post, a Gumroad file, a PDF chapter) as a source yields it.

    ``text`` is clean plain text for search; ``html`` the original markup, sanitised by the
    pipeline before anyone displays it. When ``chunks`` is empty the pipeline splits ``text``.
    """

    external_id: str = Field(min_length=1)
    creator_external_id: str
    title: str
    text: str = ""
    html: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    edited_at: datetime | None = None
    tags: tuple[str, ...] = ()
    collections: tuple[CollectionRef, ...] = ()
    chunks: tuple[ChunkIn, ...] = ()
    media: tuple[MediaIn, ...] = ()
    has_text: bool = True
    #: ISO code ("es", "en-GB") or Postgres config name; detected from the text when None.
    language: str | None = None
    metadata: JsonDict = Field(default_factory=dict)

    def content_hash(self) -> str:
        """A hash of everything we store for this post, so unchanged content is not rewritten.

        Media are identified by their key, not by URL or inline bytes (signed URLs rotate),
        and an original (``ORIGINAL_ROLE``) not by its filename either: that is where it was
        found, and a renamed copy of the same bytes is the same post.
        """
        exclude: dict[int, set[str]] = {
            index: {"url", "data", "filename"} if media.role == ORIGINAL_ROLE
            else {"url", "data"} for index, media in enumerate(self.media)}
        payload = self.model_dump_json(exclude={"media": exclude})
        return hashlib.sha256(payload.encode()).hexdigest()


class Checkpoint(SourceInput):
    """Everything yielded before this is durable, and the sync may resume from ``cursor``.

    The pipeline commits one transaction per checkpoint, so a source decides how much work an
    interruption can lose (a PDF checkpoints per file, a paginated API per page).
    """

    cursor: JsonDict = Field(default_factory=dict)


class Prune(SourceInput):
    """The posts of ``collection_external_id`` are exactly ``keep``; the pipeline deletes others.

    Sent by sources that re-read a whole collection at once (a changed PDF with fewer chapters).
    """

    collection_external_id: str
    keep: tuple[str, ...]


class Notice(SourceInput):
    """Something the user should know about the current target that is not an error
    (a scanned PDF without text, a skipped attachment); shown as a ``note:`` line.

    ``failed``: one item of the target could not be archived (a purchase whose page Gumroad
    will not show): an error of the report (the sync ends non-zero) while the rest of the
    target goes on. The source leaves the item out of its cursor, so the next sync tries it
    again."""

    message: str
    failed: bool = False


class Expect(SourceInput):
    """The current target holds ``posts`` posts (the ``PostIn`` this fetch yields), for the
    sync's progress; nothing is written. Yield it as soon as the count is known, and again
    when a paginated listing learns a better one: the latest one counts."""

    posts: int = Field(ge=0)


#: What ``Source.fetch`` yields.
SyncItem = CreatorIn | CollectionIn | PostIn | Checkpoint | Prune | Notice | Expect


class SyncTarget(SourceInput):
    """One unit of work for a sync: a file, a creator, a campaign.

    ``scope`` keys the stored cursor, so it must be stable across runs.
    """

    scope: str = Field(min_length=1)
    label: str
    locator: str
    metadata: JsonDict = Field(default_factory=dict)
    #: The source whose name this target's creators, collections, posts and media keys are
    #: stored under, when not the syncing source's own: an importer of files another source
    #: also archives (Patreon posts from an old archive) stores them as ``patreon`` with the
    #: ids that source gives them, so that a later ``sync patreon`` updates them instead of
    #: adding copies. The target's cursor and errors stay the syncing source's.
    stored_as: str | None = Field(default=None, min_length=1)


class SyncError(Frozen):
    """One failure during a sync, in words a user can act on (secrets a server echoed back
    redacted, wherever it was built)."""

    subject: str
    message: str

    @field_validator("subject", "message")
    @classmethod
    def _redacted(cls, value: str) -> str:
        return redact(value)


class SyncReport(BaseModel):
    """What a sync did. ``ok`` is False when any target failed."""

    source: str
    targets: int = 0
    skipped_unchanged: int = 0
    creators_written: int = 0
    collections_written: int = 0
    posts_written: int = 0
    posts_unchanged: int = 0
    posts_deleted: int = 0
    media_stored: int = 0
    media_reused: int = 0
    media_processed: int = 0
    chunks_embedded: int = 0
    #: Chunks and transcripts still without vectors because embedding after a sync is off
    #: (``ALEJANDRIA_EMBED_AFTER_SYNC=false``): ``alejandria embed backfill`` embeds them.
    embeddings_pending: int = 0
    errors: list[SyncError] = Field(default_factory=list)
    notices: list[SyncError] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def writes(self) -> int:
        return (
            self.creators_written
            + self.collections_written
            + self.posts_written
            + self.posts_deleted
            + self.media_stored
        )


SearchMode = Literal["auto", "fulltext", "semantic", "transcripts", "hybrid"]


class Actor(Frozen):
    """Who asks: the signed-in user a request acts for. ``None`` wherever an actor is optional
    means the installation itself (the CLI, the daily sync, a script with full access)."""

    user_id: int
    username: str
    role: Literal["admin", "user", "readonly"] = "user"


class SearchQuery(Frozen):
    """A user's query with its filters. Any string is a valid ``text``."""

    text: str
    #: Who searches (None: the installation itself). Backends that know per-user data (lists,
    #: reading status) use it; it is part of the cache key, so users never share cached hits.
    actor: Actor | None = None
    mode: str = "auto"
    source: str | None = None
    creator: str | None = None
    collection: str | None = None
    #: Posts published on or after ``published_after`` and before ``published_before``.
    published_after: datetime | None = None
    published_before: datetime | None = None
    #: Only posts holding a media file of this kind (image, audio, video, document, ...).
    media_kind: MediaKind | None = None
    #: Keyword backends: "all" words must match (what people expect of a keyword search);
    #: "any" ranks posts by how many match (the lexical leg of hybrid search).
    match: Literal["all", "any"] = "all"
    limit: int = Field(default=20, ge=1, le=500)
    offset: int = Field(default=0, ge=0)
    #: The acting user's own data (needs ``actor``): posts in their list of this name (or id),
    #: with this reading status (``unread`` included), with or without their note, with or
    #: without their highlights.
    in_list: str | None = None
    status: str | None = None
    has_note: bool | None = None
    highlighted: bool | None = None

    @model_validator(mode="after")
    def _personal_filters_need_a_user(self) -> SearchQuery:
        if self.actor is None and self.personal_filtered:
            raise ValueError("the list, status, note and highlight filters are a user's own: "
                             "search as that user")
        return self

    def _personal(self) -> dict[str, Any]:
        return {"in_list": self.in_list, "status": self.status, "has_note": self.has_note,
                "highlighted": self.highlighted}

    def filter_params(self) -> dict[str, Any]:
        """The bind parameters of ``search.common.FILTERS``."""
        return {
            "source": self.source, "creator": self.creator, "collection": self.collection,
            "published_after": self.published_after, "published_before": self.published_before,
            "media_kind": self.media_kind.value if self.media_kind else None,
            **self._personal(), "user_id": None if self.actor is None else self.actor.user_id,
        }

    @property
    def personal_filtered(self) -> bool:
        """Filtered by the acting user's own data (lists, status, notes, highlights)."""
        return any(value is not None for value in self._personal().values())

    @property
    def filtered(self) -> bool:
        params = self.filter_params()
        del params["user_id"]
        return any(value is not None for value in params.values())


class SearchHit(Frozen):
    """One post found by a search, with its best-matching place and a highlighted snippet."""

    post_id: int
    source: str
    creator: str
    title: str
    snippet: str
    score: float
    page: int | None = None
    collection: str | None = None
    url: str | None = None
    media_id: int | None = None
    start_s: float | None = None
    mode: str = "fulltext"
    #: ``(start, end)`` character offsets of the matched words inside ``snippet``.
    highlights: tuple[tuple[int, int], ...] = ()


class Availability(Frozen):
    """Whether a feature can run here, and if not, why and what to do."""

    available: bool
    reason: str | None = None

    @classmethod
    def yes(cls) -> Availability:
        return cls(available=True)

    @classmethod
    def no(cls, reason: str) -> Availability:
        return cls(available=False, reason=reason)


class StoredMedia(Frozen):
    """A file in the content-addressed media store."""

    sha256: str
    size: int
    mime_type: str | None = None
    kind: MediaKind = MediaKind.OTHER
    created: bool = False

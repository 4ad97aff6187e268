"""The SQLAlchemy schema: the whole seed design plus sources, cursors and search chunks.

Every row that comes from a source is keyed by ``(source, external_id)``. Full-text vectors
are generated columns over accent-folded text in each row's ``ts_config``; vectors live in
``chunk_embeddings``, created only where the pgvector extension exists.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, INET, JSONB, REGCONFIG, TSVECTOR

#: SQL function (created by migration 0001) folding accents exactly like
#: ``alejandria.text.accents.fold_accents``, so the index and the query agree.
FOLD_FUNCTION = "alejandria_fold"

#: A chunk's full-text vector: its post's title (A) > its text (B) > the post's tags (C).
CHUNK_VECTOR = (
    "setweight(to_tsvector(ts_config, alejandria_fold(heading)), 'A') || "
    "setweight(to_tsvector(ts_config, alejandria_fold(text)), 'B') || "
    "setweight(to_tsvector(ts_config, alejandria_fold(tags)), 'C')"
)
SEGMENT_VECTOR = "to_tsvector(ts_config, alejandria_fold(coalesce(corrected_text, text)))"


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


def _created() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def _updated() -> Column[object]:
    return Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now())


creators = Table(
    "creators", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(50), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("name", String(500), nullable=False),
    Column("url", Text),
    Column("avatar_url", Text),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("sync_enabled", Boolean, nullable=False, server_default="true"),
    Column("metadata", JSONB, nullable=False, server_default="{}"),
    Column("content_hash", String(64)),
    _created(), _updated(),
    UniqueConstraint("source", "external_id"),
)

collections = Table(
    "collections", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(50), nullable=False),
    Column("external_id", String(1000), nullable=False),
    Column("creator_id", Integer, ForeignKey("creators.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text),
    Column("cover_url", Text),
    Column("metadata", JSONB, nullable=False, server_default="{}"),
    Column("content_hash", String(64)),
    _created(), _updated(),
    UniqueConstraint("source", "external_id"),
    Index(None, "creator_id"),
)

posts = Table(
    "posts", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(50), nullable=False),
    Column("external_id", String(1000), nullable=False),
    Column("creator_id", Integer, ForeignKey("creators.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("content_text", Text, nullable=False, server_default=""),
    Column("content_html", Text),
    Column("url", Text),
    Column("published_at", DateTime(timezone=True)),
    Column("edited_at", DateTime(timezone=True)),
    Column("tags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("has_text", Boolean, nullable=False, server_default="true"),
    Column("language", String(30)),
    Column("image_count", Integer, nullable=False, server_default="0"),
    Column("video_count", Integer, nullable=False, server_default="0"),
    Column("audio_count", Integer, nullable=False, server_default="0"),
    Column("metadata", JSONB, nullable=False, server_default="{}"),
    Column("content_hash", String(64), nullable=False),
    _created(), _updated(),
    UniqueConstraint("source", "external_id"),
    Index(None, "creator_id"),
    Index("ix_posts_published_at", "published_at"),
)

post_collections = Table(
    "post_collections", metadata,
    Column("post_id", Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("collection_id", Integer, ForeignKey("collections.id", ondelete="CASCADE"),
           nullable=False),
    Column("position", Integer),
    PrimaryKeyConstraint("post_id", "collection_id"),
    Index(None, "collection_id"),
)

media_files = Table(
    "media_files", metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("mime_type", String(100)),
    Column("size", BigInteger, nullable=False),
    Column("width", Integer),
    Column("height", Integer),
    Column("duration_s", Float),
    Column("page_count", Integer),
    Column("metadata", JSONB, nullable=False, server_default="{}"),
    Column("first_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("verified_at", DateTime(timezone=True)),
)

media_keys = Table(
    "media_keys", metadata,
    Column("source", String(50), nullable=False),
    Column("key", String(1000), nullable=False),
    Column("media_id", Integer, ForeignKey("media_files.id", ondelete="CASCADE"), nullable=False),
    _created(),
    PrimaryKeyConstraint("source", "key"),
    Index(None, "media_id"),
)

post_media = Table(
    "post_media", metadata,
    Column("id", Integer, primary_key=True),
    Column("post_id", Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("media_id", Integer, ForeignKey("media_files.id", ondelete="RESTRICT"),
           nullable=False),
    Column("key", String(1000), nullable=False),
    Column("role", String(30), nullable=False, server_default="attachment"),
    Column("position", Integer, nullable=False, server_default="0"),
    Column("caption", Text),
    Column("filename", Text),
    Column("original_url", Text),
    Column("is_cover", Boolean, nullable=False, server_default="false"),
    UniqueConstraint("post_id", "key"),
    Index(None, "media_id"),
)

transcriptions = Table(
    "transcriptions", metadata,
    Column("id", Integer, primary_key=True),
    Column("media_id", Integer, ForeignKey("media_files.id", ondelete="CASCADE"), nullable=False),
    Column("engine", String(100), nullable=False),
    Column("model", String(200), nullable=False),
    Column("model_version", String(100)),
    Column("language", String(16)),
    Column("text", Text, nullable=False, server_default=""),
    Column("status", String(20), nullable=False, server_default="complete"),
    Column("progress_s", Float),
    Column("metadata", JSONB, nullable=False, server_default="{}"),
    _created(), _updated(),
    UniqueConstraint("media_id", "model"),
)

transcript_segments = Table(
    "transcript_segments", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("transcription_id", Integer, ForeignKey("transcriptions.id", ondelete="CASCADE"),
           nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("start_s", Float, nullable=False),
    Column("end_s", Float, nullable=False),
    Column("text", Text, nullable=False),
    Column("corrected_text", Text),
    Column("ts_config", REGCONFIG, nullable=False),
    Column("search_vector", TSVECTOR, Computed(SEGMENT_VECTOR, persisted=True)),
    UniqueConstraint("transcription_id", "ordinal"),
    Index("ix_transcript_segments_search", "search_vector", postgresql_using="gin"),
)

chunks = Table(
    "chunks", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("post_id", Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("kind", String(20), nullable=False, server_default="text"),
    Column("page", Integer),
    Column("media_id", Integer, ForeignKey("media_files.id", ondelete="SET NULL")),
    Column("start_s", Float),
    Column("end_s", Float),
    Column("heading", Text, nullable=False, server_default=""),
    Column("tags", Text, nullable=False, server_default=""),
    Column("text", Text, nullable=False),
    Column("text_hash", String(64), nullable=False),
    Column("ts_config", REGCONFIG, nullable=False),
    Column("search_vector", TSVECTOR, Computed(CHUNK_VECTOR, persisted=True)),
    UniqueConstraint("post_id", "ordinal"),
    Index("ix_chunks_search", "search_vector", postgresql_using="gin"),
    #: Chunks of a document attached to the post (see ``storage.passages``).
    Index("ix_chunks_media_id", "media_id", postgresql_where=text("media_id IS NOT NULL")),
)

sync_cursors = Table(
    "sync_cursors", metadata,
    Column("source", String(50), nullable=False),
    Column("scope", String(1000), nullable=False),
    Column("cursor", JSONB, nullable=False, server_default="{}"),
    Column("last_error", Text),
    _created(), _updated(),
    PrimaryKeyConstraint("source", "scope"),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("email", String(255), unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(20), nullable=False, server_default="user"),
    Column("totp_secret", String(255)),
    Column("totp_enabled", Boolean, nullable=False, server_default="false"),
    Column("avatar_url", Text),
    Column("preferences", JSONB, nullable=False, server_default="{}"),
    Column("active", Boolean, nullable=False, server_default="true"),
    _created(),
    Column("last_login", DateTime(timezone=True)),
    #: the last TOTP time step accepted: a code of that step or an earlier one is a replay
    Column("totp_last_step", BigInteger),
    CheckConstraint("role IN ('admin', 'user', 'readonly')", name="role"),
)
#: Usernames are unique whatever their case ("Ana" and "ana" are one account).
Index("ix_users_username_lower", func.lower(users.c.username), unique=True)

user_lists = Table(
    "user_lists", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("description", Text),
    Column("color", String(7)),
    Column("position", Integer),
    _created(),
    UniqueConstraint("user_id", "name"),
    CheckConstraint("color ~ '^#[0-9A-Fa-f]{6}$'", name="color"),
)

#: The posts of a list (replaces the seed's ``user_post_data.lists`` array): a post may be in
#: many lists; ``position`` orders a list. No user column: a list's owner is its list's.
user_list_posts = Table(
    "user_list_posts", metadata,
    Column("list_id", Integer, ForeignKey("user_lists.id", ondelete="CASCADE"), nullable=False),
    Column("post_id", Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False, server_default="0"),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("list_id", "post_id"),
    Index(None, "post_id"),
)

#: Reading statuses a user defined beside the built-in ``in_progress`` and ``completed``.
user_statuses = Table(
    "user_statuses", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(50), nullable=False),
    _created(),
    UniqueConstraint("user_id", "name"),
)

user_post_data = Table(
    "user_post_data", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("post_id", Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(50)),
    #: the private note: Markdown as written, and its rendered, sanitised HTML
    Column("notes", Text),
    Column("notes_html", Text),
    Column("highlights", JSONB, nullable=False, server_default="[]"),
    _created(), _updated(),
    UniqueConstraint("user_id", "post_id"),
    Index(None, "post_id"),
)

#: Highlights: a passage of a post's text, of one page of its document text, or of a
#: transcript of its audio/video. Anchored twice (W3C Web Annotation): by position
#: (``start``/``end`` characters in that text) and by quote (``exact`` with a little
#: ``prefix``/``suffix`` context), so a re-sync that moves the text re-attaches it;
#: ``orphaned`` when the quote is gone (the row is kept).
user_highlights = Table(
    "user_highlights", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("post_id", Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("target", String(20), nullable=False, server_default="text"),
    Column("page", Integer),
    Column("media_id", Integer, ForeignKey("media_files.id", ondelete="CASCADE")),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("exact", Text, nullable=False),
    Column("prefix", Text, nullable=False, server_default=""),
    Column("suffix", Text, nullable=False, server_default=""),
    Column("color", String(7), nullable=False, server_default="#ffeb3b"),
    Column("comment", Text),
    Column("orphaned", Boolean, nullable=False, server_default="false"),
    _created(), _updated(),
    CheckConstraint("target IN ('text', 'page', 'transcript')", name="target"),
    CheckConstraint("color ~ '^#[0-9A-Fa-f]{6}$'", name="color"),
    CheckConstraint("(target = 'page') = (page IS NOT NULL) AND "
                    "(target = 'transcript') = (media_id IS NOT NULL)", name="anchor"),
    Index(None, "user_id", "post_id"),
    Index(None, "post_id"),
)

jobs = Table(
    "jobs", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("job_type", String(100), nullable=False),
    Column("status", String(20), nullable=False, server_default="pending"),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("queue", String(50)),
    Column("payload", JSONB, nullable=False, server_default="{}"),
    Column("result", JSONB),
    Column("error_message", Text),
    Column("traceback", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False, server_default="3"),
    Column("progress_current", BigInteger),
    Column("progress_total", BigInteger),
    Column("task_id", String(255), unique=True),
    Column("next_retry_at", DateTime(timezone=True)),
    _created(),
    Column("started_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    #: beaten by the worker while the job runs (``queue.running``); read on a redelivery
    Column("heartbeat_at", DateTime(timezone=True)),
    CheckConstraint(
        "status IN ('pending', 'running', 'retrying', 'completed', 'failed', 'cancelled')",
        name="status",
    ),
    Index("ix_jobs_status_priority", "status", "priority", "created_at"),
)

system_config = Table(
    "system_config", metadata,
    Column("key", String(100), primary_key=True),
    Column("value", JSONB, nullable=False),
    Column("description", Text),
    _updated(),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("action", String(100), nullable=False),
    Column("entity_type", String(50)),
    Column("entity_id", String(100)),
    Column("changes", JSONB),
    Column("ip_address", INET),
    _created(),
    Index(None, "created_at"),
)

media_derivatives = Table(
    "media_derivatives", metadata,
    Column("media_id", Integer, ForeignKey("media_files.id", ondelete="CASCADE"),
           nullable=False),
    Column("processor", String(100), nullable=False),
    Column("version", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("result", JSONB, nullable=False, server_default="{}"),
    Column("error", Text),
    _updated(),
    PrimaryKeyConstraint("media_id", "processor"),
    CheckConstraint("status IN ('done', 'failed', 'skipped')", name="status"),
)

media_embeds = Table(
    "media_embeds", metadata,
    Column("id", Integer, primary_key=True),
    Column("post_id", Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(50), nullable=False),
    Column("key", String(1000), nullable=False),
    Column("url", Text, nullable=False),
    Column("referer", Text),
    Column("position", Integer, nullable=False, server_default="0"),
    Column("status", String(20), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("media_id", Integer, ForeignKey("media_files.id", ondelete="SET NULL")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False,
           server_default=func.now()),
    _created(), _updated(),
    UniqueConstraint("post_id", "key"),
    Index("ix_media_embeds_pending", "status", "next_attempt_at"),
    CheckConstraint("status IN ('pending', 'done', 'failed')", name="status"),
)

source_credentials = Table(
    "source_credentials", metadata,
    Column("source", String(50), primary_key=True),
    #: Which of the user's accounts at the source ("default" unless they have several).
    Column("account", String(100), primary_key=True, server_default="default"),
    #: Fernet token of the JSON secrets (see ``alejandria.storage.credentials``); never plaintext.
    Column("ciphertext", LargeBinary, nullable=False),
    _created(), _updated(),
)

post_versions = Table(
    "post_versions", metadata,
    Column("id", Integer, primary_key=True),
    Column("post_id", Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("content_text", Text, nullable=False, server_default=""),
    Column("content_html", Text),
    Column("published_at", DateTime(timezone=True)),
    Column("edited_at", DateTime(timezone=True)),
    Column("tags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("metadata", JSONB, nullable=False, server_default="{}"),
    Column("content_hash", String(64), nullable=False),
    #: When this version was replaced by a newer one.
    Column("replaced_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(None, "post_id"),
)


#: The text extracted from a stored document (``register_extractors``), one row per passage;
#: copied into ``chunks`` for every post that holds the file (``storage.passages``).
media_passages = Table(
    "media_passages", metadata,
    Column("media_id", Integer, ForeignKey("media_files.id", ondelete="CASCADE"),
           primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("page", Integer),
    Column("text", Text, nullable=False),
    Column("ts_config", REGCONFIG, nullable=False),
)


#: Single-use 2FA recovery codes: SHA-256 of a random code (80 bits, so no slow hash is needed).
user_recovery_codes = Table(
    "user_recovery_codes", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("used_at", DateTime(timezone=True)),
    _created(),
    Index(None, "user_id"),
)

#: API tokens: SHA-256 of the token (checked with one lookup of the unique index), a short
#: display prefix, the scope (read < write < admin) and the times that matter.
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False, server_default=""),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scope", String(10), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    _created(),
    CheckConstraint("scope IN ('read', 'write', 'admin')", name="scope"),
    Index(None, "user_id"),
)

#: Failed logins per key ("account:<lower username>" or "client:<address>"): the failures in
#: the current window, and the lockout they earned (``accounts.throttle``).
login_throttle = Table(
    "login_throttle", metadata,
    Column("key", String(400), primary_key=True),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("window_started_at", DateTime(timezone=True)),
    Column("lockouts", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_failure_at", DateTime(timezone=True)),
)

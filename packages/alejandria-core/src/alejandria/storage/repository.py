"""Idempotent writes and the reads the pipeline needs, on one connection/transaction.

Every upsert is keyed by ``(source, external_id)`` and compares a content hash first, so syncing
the same content twice issues no writes at all, and changed content updates in place (ids,
and so users' notes and lists, survive).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from alejandria.models import (
    CollectionIn,
    CreatorIn,
    JsonDict,
    MediaIn,
    StoredMedia,
)
from alejandria.storage.passages import REOPEN_SKIPPED_CTE
from alejandria.storage.post_writer import PostWriter
from alejandria.storage.schema import (
    collections,
    creators,
    jobs,
    media_embeds,
    media_files,
    media_keys,
    post_collections,
    post_media,
    posts,
    sync_cursors,
    transcriptions,
    users,
)
from alejandria.storage.unnest import as_columns
from alejandria.text.accents import strip_nul


def _hash_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class MediaLinks:
    """A post's media for ``link_media_many``: (media description, media id) pairs, and the
    already linked ``keep_keys`` (downloaded embeds) kept when the post is not new."""

    post_id: int
    links: Sequence[tuple[MediaIn, int]]
    new_post: bool = False
    keep_keys: Sequence[str] = ()


class Repository:
    """Reads and writes for one installation; posts are written by ``posts`` in batches.

    ``languages`` are the text-search configurations posts may be indexed in (the first is
    the default when a post's language cannot be told).
    """

    def __init__(self, languages: Sequence[str]) -> None:
        self.posts = PostWriter(languages)

    # -- creators and collections --------------------------------------------------------

    def upsert_creator(self, conn: Connection, source: str, creator: CreatorIn) -> tuple[int, bool]:
        digest = _hash_json(creator.model_dump(mode="json"))
        existing = conn.execute(
            select(creators.c.id, creators.c.content_hash).where(
                creators.c.source == source, creators.c.external_id == creator.external_id
            )
        ).first()
        if existing is not None and existing.content_hash == digest:
            return existing.id, False
        values = {
            "name": creator.name,
            "url": creator.url,
            "avatar_url": creator.avatar_url,
            "metadata": creator.metadata,
            "content_hash": digest,
        }
        keys = {"source": source, "external_id": creator.external_id}
        return _upsert_returning_id(conn, creators, keys, values), True

    def upsert_collection(self, conn: Connection, source: str, collection: CollectionIn,
                          creator_id: int) -> tuple[int, bool]:
        digest = _hash_json([collection.model_dump(mode="json"), creator_id])
        existing = conn.execute(
            select(collections.c.id, collections.c.content_hash).where(
                collections.c.source == source,
                collections.c.external_id == collection.external_id,
            )
        ).first()
        if existing is not None and existing.content_hash == digest:
            return existing.id, False
        values = {
            "creator_id": creator_id,
            "title": strip_nul(collection.title),
            "description": collection.description,
            "cover_url": collection.cover_url,
            "metadata": collection.metadata,
            "content_hash": digest,
        }
        keys = {"source": source, "external_id": collection.external_id}
        return _upsert_returning_id(conn, collections, keys, values), True

    def creator_ids(self, conn: Connection, source: str,
                    external_ids: Iterable[str]) -> dict[str, int]:
        wanted = list(set(external_ids))
        rows = conn.execute(
            select(creators.c.external_id, creators.c.id).where(
                creators.c.source == source, creators.c.external_id.in_(wanted)
            )
        )
        return {row.external_id: row.id for row in rows}

    def collection_ids(self, conn: Connection, source: str,
                       external_ids: Iterable[str]) -> dict[str, int]:
        wanted = list(set(external_ids))
        if not wanted:
            return {}
        rows = conn.execute(
            select(collections.c.external_id, collections.c.id).where(
                collections.c.source == source, collections.c.external_id.in_(wanted)
            )
        )
        return {row.external_id: row.id for row in rows}

    # -- posts ---------------------------------------------------------------------------

    def prune_collection(self, conn: Connection, source: str, collection_external_id: str,
                         keep: Sequence[str]) -> int:
        """Delete the collection's posts (of this source) whose external ids are not in ``keep``."""
        collection_id = conn.execute(
            select(collections.c.id).where(collections.c.source == source,
                                           collections.c.external_id == collection_external_id)
        ).scalar_one_or_none()
        if collection_id is None:
            return 0
        members = select(post_collections.c.post_id).where(
            post_collections.c.collection_id == collection_id
        )
        result = conn.execute(
            delete(posts).where(
                posts.c.id.in_(members),
                posts.c.source == source,
                posts.c.external_id.not_in(list(keep) or [""]),
            )
        )
        return result.rowcount or 0

    # -- media ---------------------------------------------------------------------------

    def media_id_for_key(self, conn: Connection, source: str, key: str) -> int | None:
        return conn.execute(
            select(media_keys.c.media_id).where(media_keys.c.source == source,
                                                media_keys.c.key == key)
        ).scalar_one_or_none()

    def upsert_media_file(self, conn: Connection, stored: StoredMedia,
                          metadata: JsonDict | None = None) -> int:
        # Existing bytes keep their row as it is: only the key is "updated", so RETURNING
        # yields the id either way.
        values = {"kind": stored.kind.value, "mime_type": stored.mime_type,
                  "size": stored.size, "metadata": metadata or {}}
        return _upsert_returning_id(conn, media_files, {"sha256": stored.sha256}, values,
                                    update=False)

    def media_ids_for_keys(self, conn: Connection, source: str,
                           keys: Sequence[str]) -> dict[str, int]:
        """The stored media of many keys in one round trip (unknown keys are left out)."""
        if not keys:
            return {}
        rows = conn.execute(select(media_keys.c.key, media_keys.c.media_id).where(
            media_keys.c.source == source, media_keys.c.key.in_(list(keys)))).all()
        return {str(row[0]): int(row[1]) for row in rows}

    def store_media_keys(self, conn: Connection, source: str,
                         files: Sequence[tuple[str, StoredMedia, JsonDict | None]],
                         ) -> dict[str, tuple[int, bool]]:
        """Record stored files under their keys (``(key, file, metadata)``, keys distinct) in
        one statement: key → (the file's id, whether its row is new). Keys naming the same
        bytes share one row; a key already known keeps its file."""
        if not files:
            return {}
        rows = conn.execute(_STORE_MEDIA_KEYS, {"source": source, **as_columns(
            ("keys", "sha256s", "kinds", "mime_types", "sizes", "metadata"),
            ((key, file.sha256, file.kind.value, file.mime_type, file.size,
              json.dumps(meta or {})) for key, file, meta in files))}).all()
        return {str(row.key): (int(row.id), bool(row.inserted)) for row in rows}

    def remember_media_key(self, conn: Connection, source: str, key: str, media_id: int) -> None:
        conn.execute(insert(media_keys).values(source=source, key=key, media_id=media_id)
                     .on_conflict_do_nothing())

    def link_media(self, conn: Connection, post_id: int, links: Sequence[tuple[MediaIn, int]],
                   *, new_post: bool = False, keep_keys: Sequence[str] = ()) -> None:
        """Make the post's media exactly ``links`` (media description, media id), plus the
        already linked ``keep_keys`` (downloaded embeds)."""
        self.link_media_many(conn, [MediaLinks(post_id, links, new_post, keep_keys)])

    def link_media_many(self, conn: Connection, posts: Sequence[MediaLinks]) -> None:
        """``link_media`` for many posts: one insert for all of their links. A document
        whose extraction was skipped because only originals held it (``ORIGINAL_ROLE``) is
        extracted again by the next processing once another role links it."""
        for post in posts:
            if not post.new_post:
                keys = [media.key for media, _ in post.links] + list(post.keep_keys)
                conn.execute(delete(post_media).where(post_media.c.post_id == post.post_id,
                                                      post_media.c.key.not_in(keys or [""])))
        # One row per (post, key), the last one given winning: one statement may not
        # update a row twice.
        rows = {(post.post_id, media.key): (media, media_id)
                for post in posts for media, media_id in post.links}
        if not rows:
            return
        conn.execute(_LINK_MEDIA, as_columns(_LINK_COLUMNS, (
            (post_id, media_id, key, media.role, media.position, media.caption, media.filename,
             media.url, media.role == "cover")
            for (post_id, key), (media, media_id) in rows.items())))

    def record_embeds(self, conn: Connection, source: str, post_id: int,
                      embeds: Sequence[MediaIn], *, new_post: bool = False) -> None:
        """Remember the post's embedded videos for the downloader (status kept on updates)."""
        if not new_post:
            conn.execute(delete(media_embeds).where(
                media_embeds.c.post_id == post_id,
                media_embeds.c.key.not_in([embed.key for embed in embeds] or [""])))
        if not embeds:
            return
        stmt = insert(media_embeds)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[media_embeds.c.post_id, media_embeds.c.key],
                set_={name: stmt.excluded[name] for name in ("url", "referer", "position")},
            ),
            [{"post_id": post_id, "source": source, "key": embed.key, "url": embed.url or "",
              "referer": embed.metadata.get("referer"), "position": embed.position}
             for embed in embeds],
        )

    # -- cursors -------------------------------------------------------------------------

    def get_cursor(self, conn: Connection, source: str, scope: str) -> JsonDict | None:
        return conn.execute(
            select(sync_cursors.c.cursor).where(sync_cursors.c.source == source,
                                                sync_cursors.c.scope == scope)
        ).scalar_one_or_none()

    def get_cursors(self, conn: Connection, source: str,
                    scopes: Sequence[str]) -> dict[str, JsonDict]:
        if not scopes:
            return {}
        rows = conn.execute(
            select(sync_cursors.c.scope, sync_cursors.c.cursor).where(
                sync_cursors.c.source == source, sync_cursors.c.scope.in_(list(scopes))
            )
        )
        return {row.scope: row.cursor for row in rows}

    def set_cursor(self, conn: Connection, source: str, scope: str, cursor: JsonDict) -> None:
        stmt = insert(sync_cursors).values(source=source, scope=scope, cursor=cursor)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=[sync_cursors.c.source, sync_cursors.c.scope],
            set_={"cursor": cursor, "last_error": None, "updated_at": func.now()},
        ))

    def record_sync_error(self, conn: Connection, source: str, scope: str, message: str) -> None:
        stmt = insert(sync_cursors).values(source=source, scope=scope, cursor={},
                                           last_error=message)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=[sync_cursors.c.source, sync_cursors.c.scope],
            set_={"last_error": message, "updated_at": func.now()},
        ))

    # -- reads ---------------------------------------------------------------------------

    def stats(self, conn: Connection) -> dict[str, int]:
        tables = {
            "creators": creators, "collections": collections, "posts": posts,
            "media_files": media_files, "transcriptions": transcriptions, "users": users,
            "jobs": jobs,
        }
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in tables.items()
        }


_LINK_COLUMNS = ("post_id", "media_id", "key", "role", "position", "caption", "filename",
                 "original_url", "is_cover")
#: All of a batch's links in one statement (see ``db.unnest``); a link that wants a
#: document's text reopens its extraction if only originals held it (``passages``).
_LINK_MEDIA = text(f"""
WITH input AS (
    SELECT * FROM unnest(CAST(:post_id AS integer[]), CAST(:media_id AS integer[]),
                         CAST(:key AS text[]), CAST(:role AS text[]),
                         CAST(:position AS integer[]), CAST(:caption AS text[]),
                         CAST(:filename AS text[]), CAST(:original_url AS text[]),
                         CAST(:is_cover AS boolean[]))
        AS t(post_id, media_id, key, role, position, caption, filename, original_url,
             is_cover)
), {REOPEN_SKIPPED_CTE.strip()}
INSERT INTO post_media (post_id, media_id, key, role, position, caption, filename,
                        original_url, is_cover)
SELECT * FROM input
ON CONFLICT (post_id, key) DO UPDATE SET
    media_id = excluded.media_id, role = excluded.role, position = excluded.position,
    caption = excluded.caption, filename = excluded.filename,
    original_url = excluded.original_url, is_cover = excluded.is_cover
""")

_STORE_MEDIA_KEYS = text("""
WITH input AS (
    SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:sha256s AS text[]),
                         CAST(:kinds AS text[]), CAST(:mime_types AS text[]),
                         CAST(:sizes AS bigint[]), CAST(:metadata AS jsonb[]))
        AS t(key, sha256, kind, mime_type, size, metadata)
), file AS (
    INSERT INTO media_files (sha256, kind, mime_type, size, metadata)
    SELECT DISTINCT ON (sha256) sha256, kind, mime_type, size, metadata
    FROM input ORDER BY sha256
    ON CONFLICT (sha256) DO UPDATE SET sha256 = excluded.sha256
    RETURNING id, sha256, xmax = 0 AS inserted
), remembered AS (
    INSERT INTO media_keys (source, key, media_id)
    SELECT :source, input.key, file.id FROM input JOIN file USING (sha256)
    ON CONFLICT DO NOTHING
)
SELECT input.key, file.id, file.inserted FROM input JOIN file USING (sha256)
""")


def _upsert_returning_id(conn: Connection, table: Table, keys: dict[str, Any],
                         values: dict[str, Any], *, update: bool = True) -> int:
    """INSERT ... ON CONFLICT (keys) DO UPDATE ... RETURNING id.

    With ``update=False`` a conflicting row is left as it is (a no-op assignment of its key),
    which still lets RETURNING report its id.
    """
    stmt = insert(table).values(**keys, **values)
    if update:
        assignments: dict[str, Any] = {**values, "updated_at": func.now()}
    else:
        assignments = {name: stmt.excluded[name] for name in keys}
    upsert = stmt.on_conflict_do_update(index_elements=list(keys), set_=assignments)
    return int(conn.execute(upsert.returning(table.c.id)).scalar_one())


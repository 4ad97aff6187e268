"""Read what a sync stored, for tests: typed, frozen records instead of SQL on core's tables.

Core owns the schema and may change it; a plugin's tests that assert through these functions
keep working when it does. Each function takes an open ``Archive`` and returns records (see
``alejandria.testing.records``) in write order, unless it says otherwise; ``source`` narrows
the reads of posts, creators, collections and cursors to one source, ``post`` to one post (by
its ``external_id``), ``sha256`` to one stored file. Jobs are read from
``archive.jobs`` (``archive.jobs.list()``).

    from alejandria.testing import reads

    report = archive.sync("notes", folder)
    (post,) = reads.posts(archive)
    assert post.title == "Growing tomatoes"
    assert reads.table_counts(archive, "posts", "media_files") == {"posts": 1, "media_files": 0}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, inspect, select, table
from sqlalchemy.engine import Row

from alejandria.storage import schema
from alejandria.storage.credentials import CredentialStore
from alejandria.testing.records import (
    ChunkRecord,
    CollectionRecord,
    CreatorRecord,
    CredentialRecord,
    DerivativeRecord,
    EmbedRecord,
    MediaFileRecord,
    MediaLinkRecord,
    Membership,
    PassageRecord,
    PostRecord,
    PostVersionRecord,
    SyncCursorRecord,
)

if TYPE_CHECKING:
    from alejandria.api import Archive

__all__ = [
    "CONTENT_TABLES",
    "ChunkRecord",
    "CollectionRecord",
    "CreatorRecord",
    "CredentialRecord",
    "DerivativeRecord",
    "EmbedRecord",
    "MediaFileRecord",
    "MediaLinkRecord",
    "Membership",
    "PassageRecord",
    "PostRecord",
    "PostVersionRecord",
    "SyncCursorRecord",
    "chunks",
    "collections",
    "count",
    "creators",
    "credentials",
    "derivatives",
    "embeds",
    "media_files",
    "media_links",
    "passages",
    "post",
    "post_versions",
    "posts",
    "sync_cursors",
    "table_counts",
]

#: What ``table_counts()`` counts when given no table: what a sync and its media processing
#: write.
CONTENT_TABLES = ("creators", "collections", "posts", "post_collections", "post_media",
                  "media_files", "media_keys", "media_embeds", "media_derivatives",
                  "media_passages", "chunks", "post_versions", "sync_cursors")

_p = schema.posts.c


def _rows(archive: Archive, query: Select[Any]) -> Sequence[Row[Any]]:
    with archive.engine.connect() as conn:
        return conn.execute(query).all()


def _of_post(query: Select[Any], post: str | None, source: str | None) -> Select[Any]:
    """``query`` (which joins ``posts``) narrowed to one post and/or one source."""
    if post is not None:
        query = query.where(_p.external_id == post)
    if source is not None:
        query = query.where(_p.source == source)
    return query


# -- posts ---------------------------------------------------------------------------------


def posts(archive: Archive, *, source: str | None = None) -> list[PostRecord]:
    """Every post, with its creator and the collections it belongs to."""
    return _posts(archive, None, source)


def post(archive: Archive, external_id: str, *, source: str | None = None) -> PostRecord:
    """The one post with this ``external_id``; ``LookupError`` when there is none or several
    (name the ``source`` then)."""
    found = _posts(archive, external_id, source)
    if len(found) != 1:
        where = f" of source {source!r}" if source else ""
        raise LookupError(f"{len(found)} posts{where} have the external_id {external_id!r}; "
                          "expected exactly one")
    return found[0]


def _posts(archive: Archive, external_id: str | None, source: str | None) -> list[PostRecord]:
    query = _of_post(
        select(schema.posts, schema.creators.c.external_id.label("creator"),
               schema.creators.c.name.label("creator_name"))
        .join(schema.creators, schema.creators.c.id == _p.creator_id).order_by(_p.id),
        external_id, source)
    pc, c = schema.post_collections.c, schema.collections.c
    memberships: dict[int, list[Membership]] = defaultdict(list)
    for row in _rows(archive, select(pc.post_id, c.external_id, pc.position)
                     .join(schema.collections, c.id == pc.collection_id)
                     .order_by(pc.post_id, c.id)):
        memberships[row.post_id].append(Membership(row.external_id, row.position))
    return [
        PostRecord(
            id=row.id, source=row.source, external_id=row.external_id, title=row.title,
            content_text=row.content_text, content_html=row.content_html, url=row.url,
            tags=tuple(row.tags), metadata=row.metadata, published_at=row.published_at,
            edited_at=row.edited_at, has_text=row.has_text, language=row.language,
            content_hash=row.content_hash, updated_at=row.updated_at, creator=row.creator,
            creator_name=row.creator_name, collections=tuple(memberships[row.id]),
        )
        for row in _rows(archive, query)
    ]


def post_versions(archive: Archive, post: str | None = None, *,
                  source: str | None = None) -> list[PostVersionRecord]:
    """Earlier versions of posts (oldest first), kept when a sync stored an edit."""
    v = schema.post_versions.c
    query = _of_post(select(schema.post_versions, _p.external_id, _p.source)
                     .join(schema.posts, _p.id == v.post_id)
                     .order_by(_p.id, v.replaced_at, v.id), post, source)
    return [
        PostVersionRecord(
            post=row.external_id, source=row.source, title=row.title,
            content_text=row.content_text, content_html=row.content_html, tags=tuple(row.tags),
            metadata=row.metadata, published_at=row.published_at, edited_at=row.edited_at,
            content_hash=row.content_hash, replaced_at=row.replaced_at,
        )
        for row in _rows(archive, query)
    ]


def chunks(archive: Archive, post: str | None = None, *,
           source: str | None = None) -> list[ChunkRecord]:
    """The searchable text pieces of posts, by post then ordinal."""
    c = schema.chunks.c
    query = _of_post(select(c.ordinal, c.kind, c.page, c.heading, c.text, _p.external_id,
                            _p.source)
                     .join(schema.posts, _p.id == c.post_id).order_by(_p.id, c.ordinal),
                     post, source)
    return [ChunkRecord(post=row.external_id, source=row.source, ordinal=row.ordinal,
                        kind=row.kind, page=row.page, heading=row.heading, text=row.text)
            for row in _rows(archive, query)]


# -- media ---------------------------------------------------------------------------------


def media_links(archive: Archive, post: str | None = None, *,
                source: str | None = None) -> list[MediaLinkRecord]:
    """Posts' files (``post_media``) by post then position, with each stored file's facts."""
    m, f = schema.post_media.c, schema.media_files.c
    query = _of_post(
        select(m.key, m.role, m.filename, m.position, m.caption, m.original_url, m.is_cover,
               f.sha256, f.kind, f.mime_type, f.size, f.width, f.height,
               _p.external_id, _p.source)
        .join(schema.posts, _p.id == m.post_id).join(schema.media_files, f.id == m.media_id)
        .order_by(_p.id, m.position, m.id), post, source)
    return [
        MediaLinkRecord(
            post=row.external_id, source=row.source, key=row.key, role=row.role,
            filename=row.filename, position=row.position, caption=row.caption,
            original_url=row.original_url, is_cover=row.is_cover, sha256=row.sha256,
            kind=row.kind, mime_type=row.mime_type, size=row.size, width=row.width,
            height=row.height,
        )
        for row in _rows(archive, query)
    ]


def media_files(archive: Archive, *, kind: str | None = None) -> list[MediaFileRecord]:
    """Stored files (one per content), optionally of one ``kind`` (``image``, ``audio``...)."""
    f = schema.media_files.c
    query = select(schema.media_files).order_by(f.id)
    if kind is not None:
        query = query.where(f.kind == kind)
    keys: dict[int, list[tuple[str, str]]] = defaultdict(list)
    k = schema.media_keys.c
    for row in _rows(archive, select(k.media_id, k.source, k.key).order_by(k.source, k.key)):
        keys[row.media_id].append((row.source, row.key))
    return [
        MediaFileRecord(
            sha256=row.sha256, kind=row.kind, mime_type=row.mime_type, size=row.size,
            width=row.width, height=row.height, duration_s=row.duration_s,
            page_count=row.page_count, metadata=row.metadata, keys=tuple(keys[row.id]),
        )
        for row in _rows(archive, query)
    ]


def derivatives(archive: Archive, sha256: str | None = None, *,
                processor: str | None = None) -> list[DerivativeRecord]:
    """What media processors made of stored files (``media_derivatives``), by file then
    processor; ``sha256`` narrows to one file, ``processor`` to one processor."""
    d, f = schema.media_derivatives.c, schema.media_files.c
    query = (select(schema.media_derivatives, f.sha256)
             .join(schema.media_files, f.id == d.media_id).order_by(f.id, d.processor))
    if sha256 is not None:
        query = query.where(f.sha256 == sha256)
    if processor is not None:
        query = query.where(d.processor == processor)
    return [DerivativeRecord(sha256=row.sha256, processor=row.processor, version=row.version,
                             status=row.status, result=row.result, error=row.error,
                             updated_at=row.updated_at)
            for row in _rows(archive, query)]


def passages(archive: Archive, sha256: str | None = None) -> list[PassageRecord]:
    """The text extractors took from stored documents (``media_passages``), by file then
    ordinal; it is searchable in every post that holds the file."""
    m, f = schema.media_passages.c, schema.media_files.c
    query = (select(m.ordinal, m.page, m.text, f.sha256)
             .join(schema.media_files, f.id == m.media_id).order_by(f.id, m.ordinal))
    if sha256 is not None:
        query = query.where(f.sha256 == sha256)
    return [PassageRecord(sha256=row.sha256, ordinal=row.ordinal, page=row.page, text=row.text)
            for row in _rows(archive, query)]


def embeds(archive: Archive, post: str | None = None, *,
           source: str | None = None) -> list[EmbedRecord]:
    """Videos posts embed (``media_embeds``), by post then position."""
    e, f = schema.media_embeds.c, schema.media_files.c
    query = _of_post(
        select(e.key, e.url, e.referer, e.position, e.status, e.attempts, e.error,
               f.sha256, _p.external_id, _p.source)
        .join(schema.posts, _p.id == e.post_id)
        .outerjoin(schema.media_files, f.id == e.media_id)
        .order_by(_p.id, e.position, e.id), post, source)
    return [
        EmbedRecord(post=row.external_id, source=row.source, key=row.key, url=row.url,
                    referer=row.referer, position=row.position, status=row.status,
                    attempts=row.attempts, error=row.error, sha256=row.sha256)
        for row in _rows(archive, query)
    ]


# -- creators, collections, cursors, credentials ---------------------------------------------


def creators(archive: Archive, *, source: str | None = None) -> list[CreatorRecord]:
    c = schema.creators.c
    query = select(schema.creators).order_by(c.id)
    if source is not None:
        query = query.where(c.source == source)
    return [CreatorRecord(source=row.source, external_id=row.external_id, name=row.name,
                          url=row.url, avatar_url=row.avatar_url, metadata=row.metadata,
                          updated_at=row.updated_at)
            for row in _rows(archive, query)]


def collections(archive: Archive, *, source: str | None = None) -> list[CollectionRecord]:
    """Collections (a book, a Patreon collection) with their posts in order."""
    c = schema.collections.c
    query = (select(schema.collections, schema.creators.c.external_id.label("creator"))
             .join(schema.creators, schema.creators.c.id == c.creator_id).order_by(c.id))
    if source is not None:
        query = query.where(c.source == source)
    members: dict[int, list[str]] = defaultdict(list)
    pc = schema.post_collections.c
    for row in _rows(archive, select(pc.collection_id, _p.external_id)
                     .join(schema.posts, _p.id == pc.post_id)
                     .order_by(pc.collection_id, pc.position.nulls_last(), _p.id)):
        members[row.collection_id].append(row.external_id)
    return [
        CollectionRecord(source=row.source, external_id=row.external_id, title=row.title,
                         description=row.description, cover_url=row.cover_url,
                         metadata=row.metadata, creator=row.creator,
                         posts=tuple(members[row.id]), updated_at=row.updated_at)
        for row in _rows(archive, query)
    ]


def sync_cursors(archive: Archive, *, source: str | None = None) -> list[SyncCursorRecord]:
    """Where each synced scope stopped, by source then scope."""
    s = schema.sync_cursors.c
    query = select(schema.sync_cursors).order_by(s.source, s.scope)
    if source is not None:
        query = query.where(s.source == source)
    return [SyncCursorRecord(source=row.source, scope=row.scope, cursor=row.cursor,
                             last_error=row.last_error, updated_at=row.updated_at)
            for row in _rows(archive, query)]


def credentials(archive: Archive) -> list[CredentialRecord]:
    """Stored credentials by source then account: field names (decrypted with the archive's
    key), never values."""
    listed = {(item.source, item.account): item
              for item in CredentialStore(archive.engine, archive.settings.data_dir).list()}
    s = schema.source_credentials.c
    rows = _rows(archive, select(s.source, s.account, s.ciphertext)
                 .order_by(s.source, s.account))
    return [CredentialRecord(source=row.source, account=row.account,
                             fields=listed[(row.source, row.account)].fields,
                             updated_at=listed[(row.source, row.account)].updated_at,
                             ciphertext=bytes(row.ciphertext))
            for row in rows if (row.source, row.account) in listed]


# -- counts --------------------------------------------------------------------------------


def table_counts(archive: Archive, *tables: str) -> dict[str, int]:
    """Rows in each of ``tables`` (default: ``CONTENT_TABLES``), in one transaction, so the
    numbers agree with each other even while a sync writes. A plugin's own tables may be
    named too."""
    names = tables or CONTENT_TABLES
    unknown = [name for name in names if name not in schema.metadata.tables]
    if unknown:
        present = set(inspect(archive.engine).get_table_names())
        missing = [name for name in unknown if name not in present]
        if missing:
            raise ValueError(f"no table named {', '.join(map(repr, missing))} in the archive; "
                             f"core's tables are: {', '.join(sorted(schema.metadata.tables))}")
    snapshot = archive.engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot as conn, conn.begin():
        return {name: int(conn.execute(select(func.count()).select_from(table(name)))
                          .scalar_one())
                for name in names}


def count(archive: Archive, table_name: str) -> int:
    """Rows in one table: ``count(archive, "posts")``."""
    return table_counts(archive, table_name)[table_name]

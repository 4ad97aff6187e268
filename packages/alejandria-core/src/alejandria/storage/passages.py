"""Text extracted from stored documents, searchable as part of every post that holds them.

The extract processor stores a document's passages once per file (``media_passages``);
``attach`` copies them into ``chunks`` for each post linking the file (``kind`` 'attachment',
``media_id`` set, ordinals from ``FIRST_ORDINAL`` so they never meet the post's own chunks),
where full-text, semantic and hybrid search already look, page numbers included. It runs after
extraction (for that file only) and after every sync that wrote (for the whole archive), which
attaches a known document to a new post (the same PDF in another post is extracted once),
drops the passages of a link that is gone and attaches again those of a post whose title or
tags changed (they carry both, weighted as in the post's own chunks).

A post holding a file as its original (``ORIGINAL_ROLE``: a book's PDF held by each of its
chapters) already has the file's text as its own chunks, so the file's passages are never
attached to it. A document that only originals hold is not extracted at all (the processor
records why, ``SKIPPED_AS_ORIGINAL``); when a post then attaches the same file,
``REOPEN_SKIPPED_CTE`` (run with the link, see ``Repository.link_media_many``) drops that
record, and the processing after the sync extracts the file for that post.

Every change here holds one advisory lock until its transaction ends: two attaches at once (a
sync's and a worker's extraction) would otherwise number a post's new chunks alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Text, cast, delete, insert, select, text
from sqlalchemy.engine import Connection

from alejandria.models import ORIGINAL_ROLE
from alejandria.storage.schema import chunks, media_passages, post_media

#: Attachment chunks are numbered from here; a post's own chunks count up from 0.
FIRST_ORDINAL = 1_000_000

#: The name of core's processor whose text this module stores (``media.processors.extract``).
EXTRACT_PROCESSOR = "extract"
#: Why the extract processor did not read a file: its ``result["skipped"]``.
SKIPPED_AS_ORIGINAL = ("the posts holding this file were read from it (role 'original'): "
                       "its text is theirs already")

#: A data-modifying CTE for the statement that links files to posts, over its input rows
#: ``input(media_id, role, ...)``: a link that wants the file's text (any role but an
#: original's) drops the record of an extraction skipped because only originals held the
#: file, so the next processing extracts it. An index lookup per link, no extra round trip.
REOPEN_SKIPPED_CTE = f"""
reopened AS (
    DELETE FROM media_derivatives d USING input
    WHERE d.media_id = input.media_id AND input.role <> '{ORIGINAL_ROLE}'
      AND d.processor = '{EXTRACT_PROCESSOR}' AND d.result ->> 'skipped' IS NOT NULL
)"""

#: ``pg_advisory_xact_lock`` key that serialises changes to attachment chunks.
_ATTACH_LOCK_KEY = 0x616C656A + 6


@dataclass(frozen=True)
class Passage:
    text: str
    page: int | None
    ts_config: str


def store_passages(conn: Connection, media_id: int, passages: Sequence[Passage]) -> bool:
    """Replace the stored passages of one media file; False when they are what is stored.

    When the text changed (a new extractor version, a file that now reads differently), the
    copies attached to posts go too, and ``attach`` adds the new ones. Unchanged text keeps
    its chunks, and with them their embeddings. Passages empty without NUL bytes are dropped.
    """
    rows = [(passage.page, clean, passage.ts_config) for passage in passages
            if (clean := passage.text.replace("\x00", "")).strip()]
    _lock(conn)
    stored = [(row.page, row.text, row.ts_config) for row in conn.execute(
        select(media_passages.c.page, media_passages.c.text,
               cast(media_passages.c.ts_config, Text).label("ts_config"))
        .where(media_passages.c.media_id == media_id).order_by(media_passages.c.ordinal))]
    if stored == rows:
        return False
    conn.execute(delete(media_passages).where(media_passages.c.media_id == media_id))
    conn.execute(delete(chunks).where(chunks.c.media_id == media_id,
                                      chunks.c.ordinal >= FIRST_ORDINAL))
    if rows:
        conn.execute(insert(media_passages), [
            {"media_id": media_id, "ordinal": ordinal, "page": page, "text": value,
             "ts_config": ts_config}
            for ordinal, (page, value, ts_config) in enumerate(rows)])
    return True


#: Attachment chunks whose link is gone (the post dropped the file, or holds it only as its
#: original now) or whose post's title or tags changed since they were attached; walks only
#: attachment chunks (a partial index).
_DETACH_STALE = text(f"""
    DELETE FROM chunks c
    WHERE c.media_id IS NOT NULL AND c.ordinal >= {FIRST_ORDINAL}
      AND (NOT EXISTS (SELECT 1 FROM post_media pm
                       WHERE pm.post_id = c.post_id AND pm.media_id = c.media_id
                         AND pm.role <> '{ORIGINAL_ROLE}')
           OR EXISTS (SELECT 1 FROM posts p
                      WHERE p.id = c.post_id
                        AND (p.title, array_to_string(p.tags, ' ')) <> (c.heading, c.tags)))
""")

#: Attachment chunks whose media row was deleted (``media_id`` set to NULL by the foreign
#: key): no post can still link that file.
_DETACH_ORPHANS = text(f"""
    DELETE FROM chunks c WHERE c.media_id IS NULL AND c.ordinal >= {FIRST_ORDINAL}
""")

#: (post, document) links whose document has passages that are not attached to the post
#: (a post holding the file as its original has its text already: never).
_UNATTACHED = f"""
    pm.role <> '{ORIGINAL_ROLE}'
    AND EXISTS (SELECT 1 FROM media_passages x WHERE x.media_id = pm.media_id)
    AND NOT EXISTS (SELECT 1 FROM chunks c
                    WHERE c.post_id = pm.post_id AND c.media_id = pm.media_id
                      AND c.ordinal >= {FIRST_ORDINAL})
"""

#: Chunks for each (post, document) link whose passages are not attached yet, numbered after
#: the post's last attachment chunk (the statement does not see its own rows, so the numbers
#: of one post's new chunks follow on from one maximum); the post's title and tags weigh as
#: in its own chunks. ``{scope}`` narrows the links to one file or leaves them all.
_ATTACH = f"""
    INSERT INTO chunks (post_id, ordinal, kind, page, media_id, heading, tags, text, text_hash,
                        ts_config)
    SELECT l.post_id,
           coalesce((SELECT max(c.ordinal) FROM chunks c
                     WHERE c.post_id = l.post_id AND c.ordinal >= {FIRST_ORDINAL}),
                    {FIRST_ORDINAL - 1})
             + row_number() OVER (PARTITION BY l.post_id ORDER BY l.position, l.media_id,
                                  mp.ordinal),
           'attachment', mp.page, l.media_id, p.title, array_to_string(p.tags, ' '),
           mp.text, encode(sha256(convert_to(mp.text, 'UTF8')), 'hex'), mp.ts_config
           -- the same hash as the post writer's: SHA-256 of the text's UTF-8
    FROM (SELECT pm.post_id, pm.media_id, min(pm.position) AS position
          FROM post_media pm
          WHERE {{scope}} AND {_UNATTACHED}
          GROUP BY pm.post_id, pm.media_id) AS l
    JOIN media_passages mp ON mp.media_id = l.media_id
    JOIN posts p ON p.id = l.post_id
"""
_ATTACH_ALL = text(_ATTACH.format(scope="TRUE"))
_ATTACH_ONE = text(_ATTACH.format(scope="pm.media_id = :media_id"))


def attach(conn: Connection, media_id: int | None = None) -> int:
    """Bring attachment chunks in line with the links and the posts: drop stale ones, add
    missing ones; the number of chunks added.

    With ``media_id``, only the links of that file get their missing chunks (after it was
    extracted); without, the whole archive is brought in line (after a sync).
    """
    _lock(conn)
    if media_id is not None:
        return int(conn.execute(_ATTACH_ONE, {"media_id": media_id}).rowcount or 0)
    conn.execute(_DETACH_STALE)
    conn.execute(_DETACH_ORPHANS)
    return int(conn.execute(_ATTACH_ALL).rowcount or 0)


def only_originals_hold(conn: Connection, media_id: int) -> bool:
    """Posts hold this file, every one of them as its original (``ORIGINAL_ROLE``): its text
    is theirs already, and extracting it would add nothing any post is found by."""
    roles = {str(role) for role in conn.execute(
        select(post_media.c.role).where(post_media.c.media_id == media_id).distinct())
        .scalars()}
    return roles == {ORIGINAL_ROLE}


def count_unattached(conn: Connection) -> int:
    """(post, document) links still lacking the document's text: what ``attach`` would add,
    left by a sync interrupted before it ran. One query, over the links of documents with
    text only."""
    return int(conn.execute(text(
        f"SELECT count(*) FROM post_media pm WHERE {_UNATTACHED}")).scalar_one())


def _lock(conn: Connection) -> None:
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ATTACH_LOCK_KEY})

"""Text extracted from stored documents, searchable as part of every post that holds them.

The extract processor stores a document's passages once per file (``media_passages``);
``attach`` copies them into ``chunks`` for each post linking the file (``kind`` 'attachment',
``media_id`` set, ordinals from ``FIRST_ORDINAL`` so they never meet the post's own chunks),
where full-text, semantic and hybrid search already look, page numbers included. It runs after
extraction and after every sync that wrote, which also attaches a known document to a new post
(the same PDF in another post is extracted once) and drops the passages of a link that is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, text
from sqlalchemy.engine import Connection

from alejandria.storage.schema import media_passages

#: Attachment chunks are numbered from here; a post's own chunks count up from 0.
FIRST_ORDINAL = 1_000_000


@dataclass(frozen=True)
class Passage:
    text: str
    page: int | None
    ts_config: str


def store_passages(conn: Connection, media_id: int, passages: Sequence[Passage]) -> None:
    """Replace the stored passages of one media file."""
    conn.execute(delete(media_passages).where(media_passages.c.media_id == media_id))
    if passages:
        conn.execute(insert(media_passages), [
            {"media_id": media_id, "ordinal": ordinal, "page": passage.page,
             "text": passage.text.replace("\x00", ""), "ts_config": passage.ts_config}
            for ordinal, passage in enumerate(passages)])


#: Attachment chunks whose link is gone (the post dropped the file), or whose media row was
#: merged away by dedup (``media_id`` set to NULL): their text is attached again if still held.
_DETACH = text(f"""
    DELETE FROM chunks c
    WHERE c.ordinal >= {FIRST_ORDINAL}
      AND (c.media_id IS NULL OR NOT EXISTS (
          SELECT 1 FROM post_media pm WHERE pm.post_id = c.post_id AND pm.media_id = c.media_id))
""")

#: Chunks for each (post, document) link whose passages are not attached yet, numbered after
#: the post's last attachment chunk; the post's title and tags weigh as in its own chunks.
_ATTACH = text(f"""
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
          WHERE EXISTS (SELECT 1 FROM media_passages x WHERE x.media_id = pm.media_id)
            AND NOT EXISTS (SELECT 1 FROM chunks c
                            WHERE c.post_id = pm.post_id AND c.media_id = pm.media_id)
          GROUP BY pm.post_id, pm.media_id) AS l
    JOIN media_passages mp ON mp.media_id = l.media_id
    JOIN posts p ON p.id = l.post_id
""")


def attach(conn: Connection) -> int:
    """Bring attachment chunks in line with the links: drop stale ones, add missing ones;
    the number of chunks added."""
    conn.execute(_DETACH)
    return int(conn.execute(_ATTACH).rowcount or 0)

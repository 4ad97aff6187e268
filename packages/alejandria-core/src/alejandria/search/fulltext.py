"""The ``fulltext`` backend: weighted, accent-insensitive Postgres full-text search.

Chunks carry ``title (A) > text (B) > tags (C)`` vectors over accent-folded text, each stemmed
in its own language; the user's query goes through ``websearch_to_tsquery`` (any string is a
valid query) in every configured language at once. Hits are grouped per post with the best
chunk's page and a ``ts_headline`` snippet computed only for the rows returned.
"""

from __future__ import annotations

from alejandria.search.common import FILTERS, SqlSearchBackend


class FullTextBackend(SqlSearchBackend):
    mode = "fulltext"

    def statement(self, tsquery: str) -> str:
        return f"""
        WITH q AS (SELECT {tsquery} AS query),
        matches AS (
            SELECT c.post_id, c.id AS chunk_id, c.page, c.start_s, c.media_id, c.ordinal,
                   ts_rank(c.search_vector, q.query, 1) AS rank,
                   ts_rank(ARRAY[0, 0, 1, 0]::float4[], c.search_vector, q.query, 1) AS body_rank
            FROM chunks c
            CROSS JOIN q
            JOIN posts p ON p.id = c.post_id
            JOIN creators cr ON cr.id = p.creator_id
            WHERE c.search_vector @@ q.query
            {FILTERS}
        ),
        best AS (
            -- a post scores by its best chunk; the snippet/page come from the chunk whose own text
            -- (weight B) matches best, since every chunk carries the post's title and tags
            SELECT DISTINCT ON (post_id)
                   post_id, chunk_id, page, start_s, media_id,
                   max(rank) OVER (PARTITION BY post_id) AS rank
            FROM matches
            ORDER BY post_id, body_rank DESC, rank DESC, ordinal
        ),
        page AS (
            SELECT * FROM best ORDER BY rank DESC, post_id LIMIT :limit OFFSET :offset
        )
        SELECT page.post_id, page.page, page.start_s, page.media_id, page.rank,
               p.title, p.source, p.url, cr.name AS creator, ch.text AS matched_text,
               ts_headline(ch.ts_config, alejandria_fold(ch.text), q.query,
                           :headline_options) AS headline,
               (SELECT col.title FROM post_collections pc JOIN collections col
                    ON col.id = pc.collection_id
                WHERE pc.post_id = p.id ORDER BY col.id LIMIT 1) AS collection
        FROM page
        CROSS JOIN q
        JOIN chunks ch ON ch.id = page.chunk_id
        JOIN posts p ON p.id = page.post_id
        JOIN creators cr ON cr.id = p.creator_id
        ORDER BY page.rank DESC, page.post_id
        """

"""The ``fulltext`` backend: weighted, accent-insensitive Postgres full-text search.

Chunks carry ``title (A) > text (B) > tags (C)`` vectors over accent-folded text, each stemmed
in its own language; the user's query goes through ``websearch_to_tsquery`` (any string is a
valid query) in every configured language at once. Hits are grouped per post with the best
chunk's page and a ``ts_headline`` snippet computed only for the rows returned.
"""

from __future__ import annotations

from alejandria.search.common import FILTERS, SqlSearchBackend, snippet_columns


class FullTextBackend(SqlSearchBackend):
    mode = "fulltext"

    def statement(self, tsquery: str, filtered: bool, *, light: bool = False) -> str:
        # Rank every matching chunk once, keep the page of best posts, and only then pick each
        # post's snippet chunk (the one whose own text, weight B, matches best: every chunk
        # carries the post's title and tags). Without filters no post is joined until the
        # page is known: a common word matches tens of thousands of chunks (p95 180 -> 83 ms
        # at 100k posts, bench/search_latency.py).
        join_filters = ("JOIN posts p ON p.id = c.post_id "
                        "JOIN creators cr ON cr.id = p.creator_id") if filtered else ""
        filters = FILTERS if filtered else ""
        return f"""
        WITH q AS (SELECT {tsquery} AS query),
        matches AS MATERIALIZED (
            SELECT c.post_id, c.id AS chunk_id, ts_rank(c.search_vector, q.query, 1) AS rank
            FROM chunks c
            CROSS JOIN q
            {join_filters}
            WHERE c.search_vector @@ q.query
            {filters}
        ),
        page AS (
            SELECT post_id, max(rank) AS rank FROM matches GROUP BY post_id
            ORDER BY rank DESC, post_id LIMIT :limit OFFSET :offset
        ),
        best AS (
            SELECT DISTINCT ON (page.post_id) page.post_id, page.rank, ch.id AS chunk_id
            FROM page
            CROSS JOIN q
            JOIN matches m ON m.post_id = page.post_id
            JOIN chunks ch ON ch.id = m.chunk_id
            ORDER BY page.post_id,
                     ts_rank(ARRAY[0, 0, 1, 0]::float4[], ch.search_vector, q.query, 1) DESC,
                     ch.ordinal
        )
        SELECT best.post_id, ch.page, ch.start_s, ch.media_id, best.rank,
               p.title, p.source, p.url, cr.name AS creator, ch.text AS matched_text,
               {snippet_columns("ch.ts_config", "ch.text", "q.query", light=light)}
        FROM best
        CROSS JOIN q
        JOIN chunks ch ON ch.id = best.chunk_id
        JOIN posts p ON p.id = best.post_id
        JOIN creators cr ON cr.id = p.creator_id
        ORDER BY best.rank DESC, best.post_id
        """

"""The ``fulltext`` backend: weighted, accent-insensitive Postgres full-text search.

Chunks carry ``title (A) > text (B) > tags (C)`` vectors over accent-folded text, each stemmed
in its own language; the user's query goes through ``websearch_to_tsquery`` (any string is a
valid query) in every configured language at once. Hits are grouped per post with the best
chunk's page and a ``ts_headline`` snippet computed only for the rows returned.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from alejandria.models import Availability, SearchHit, SearchQuery
from alejandria.plugin_types import SearchContext
from alejandria.search.snippets import build_snippet
from alejandria.textsearch import FRAGMENT_DELIMITER, HIGHLIGHT_START, HIGHLIGHT_STOP, strip_nul

HEADLINE_OPTIONS = (
    f'StartSel="{HIGHLIGHT_START}", StopSel="{HIGHLIGHT_STOP}", MaxWords=35, MinWords=12, '
    f'MaxFragments=2, FragmentDelimiter="{FRAGMENT_DELIMITER}"'
)

FILTERS = """
      AND (CAST(:source AS text) IS NULL OR p.source = :source)
      AND (CAST(:creator AS text) IS NULL OR cr.external_id = :creator
           OR lower(cr.name) = lower(:creator) OR CAST(cr.id AS text) = :creator)
      AND (CAST(:collection AS text) IS NULL OR EXISTS (
            SELECT 1 FROM post_collections pc JOIN collections col ON col.id = pc.collection_id
            WHERE pc.post_id = p.id AND (col.external_id = :collection
                  OR lower(col.title) = lower(:collection)
                  OR CAST(col.id AS text) = :collection)))
"""

def tsquery_sql(language_count: int) -> str:
    """The user's query in each of ``:lang0``, ``:lang1``, ... OR-ed into one tsquery."""
    return " || ".join(
        f"websearch_to_tsquery(CAST(:lang{i} AS regconfig), alejandria_fold(:query))"
        for i in range(language_count)
    )


def _search_sql(language_count: int) -> str:
    """The search statement for ``language_count`` languages."""
    return f"""
WITH q AS (SELECT {tsquery_sql(language_count)} AS query),
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
       p.title, p.source, p.url, cr.name AS creator, ch.text AS chunk_text,
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


class FullTextBackend:
    def __init__(self, context: SearchContext) -> None:
        self.engine: Engine = context.engine
        self.languages = context.settings.search_languages
        self.sql = text(_search_sql(len(self.languages)))

    def availability(self) -> Availability:
        return Availability.yes()

    def search(self, query: SearchQuery) -> list[SearchHit]:
        params: dict[str, Any] = {
            **{f"lang{i}": language for i, language in enumerate(self.languages)},
            "query": strip_nul(query.text),
            "source": query.source,
            "creator": query.creator,
            "collection": query.collection,
            "limit": query.limit,
            "offset": query.offset,
            "headline_options": HEADLINE_OPTIONS,
        }
        with self.engine.connect() as conn:
            rows = conn.execute(self.sql, params).all()
        hits = []
        for row in rows:
            snippet, highlights = build_snippet(row.headline or "", row.chunk_text or "")
            hits.append(SearchHit(
                post_id=row.post_id, source=row.source, creator=row.creator, title=row.title,
                snippet=snippet, highlights=highlights, score=round(float(row.rank), 6),
                page=row.page, collection=row.collection, url=row.url, media_id=row.media_id,
                start_s=row.start_s, mode="fulltext",
            ))
        return hits

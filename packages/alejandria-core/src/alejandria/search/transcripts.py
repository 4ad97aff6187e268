"""The ``transcripts`` backend: find the moment in an audio or video where words were said.

Searches transcript segments (corrections included) accent-insensitively in every configured
language; each hit is the post that holds the media, with the media id and the start time of
the best segment, so a player can jump there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from alejandria.models import Availability, SearchHit, SearchQuery
from alejandria.plugin_types import SearchContext
from alejandria.search.fulltext import FILTERS, HEADLINE_OPTIONS, tsquery_sql
from alejandria.search.snippets import build_snippet
from alejandria.textsearch import strip_nul


def _search_sql(language_count: int) -> str:
    return f"""
WITH q AS (SELECT {tsquery_sql(language_count)} AS query),
matches AS (
    SELECT DISTINCT ON (p.id)
           p.id AS post_id, t.media_id, s.id AS segment_id, s.start_s,
           ts_rank(s.search_vector, q.query, 1) AS rank
    FROM transcript_segments s
    CROSS JOIN q
    JOIN transcriptions t ON t.id = s.transcription_id AND t.status = 'complete'
    JOIN post_media pm ON pm.media_id = t.media_id
    JOIN posts p ON p.id = pm.post_id
    JOIN creators cr ON cr.id = p.creator_id
    WHERE s.search_vector @@ q.query
    {FILTERS}
    ORDER BY p.id, rank DESC, s.start_s
),
page AS (SELECT * FROM matches ORDER BY rank DESC, post_id LIMIT :limit OFFSET :offset)
SELECT page.*, p.title, p.source, p.url, cr.name AS creator,
       coalesce(s.corrected_text, s.text) AS segment_text,
       ts_headline(s.ts_config, alejandria_fold(coalesce(s.corrected_text, s.text)), q.query,
                   :headline_options) AS headline
FROM page
CROSS JOIN q
JOIN transcript_segments s ON s.id = page.segment_id
JOIN posts p ON p.id = page.post_id
JOIN creators cr ON cr.id = p.creator_id
ORDER BY page.rank DESC, page.post_id
"""


class TranscriptsBackend:
    def __init__(self, context: SearchContext) -> None:
        self.engine: Engine = context.engine
        self.languages = context.settings.search_languages
        self.sql = text(_search_sql(len(self.languages)))

    def availability(self) -> Availability:
        return Availability.yes()

    def search(self, query: SearchQuery) -> list[SearchHit]:
        params: dict[str, Any] = {
            **{f"lang{i}": language for i, language in enumerate(self.languages)},
            "query": strip_nul(query.text), "source": query.source, "creator": query.creator,
            "collection": query.collection, "limit": query.limit, "offset": query.offset,
            "headline_options": HEADLINE_OPTIONS,
        }
        with self.engine.connect() as conn:
            rows = conn.execute(self.sql, params).all()
        hits = []
        for row in rows:
            snippet, highlights = build_snippet(row.headline or "", row.segment_text or "")
            hits.append(SearchHit(
                post_id=row.post_id, source=row.source, creator=row.creator, title=row.title,
                snippet=snippet, highlights=highlights, score=round(float(row.rank), 6),
                url=row.url, media_id=row.media_id, start_s=row.start_s, mode="transcripts",
            ))
        return hits

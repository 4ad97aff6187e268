"""The ``transcripts`` backend: find the moment in an audio or video where words were said.

Searches transcript segments (corrections included) accent-insensitively in every configured
language; each hit is the post that holds the media, with the media id and the start time of
the best segment, so a player can jump there.
"""

from __future__ import annotations

from alejandria.search.common import FILTERS, SqlSearchBackend


class TranscriptsBackend(SqlSearchBackend):
    mode = "transcripts"

    def statement(self, tsquery: str, filtered: bool, *, light: bool = False) -> str:
        headline = ("CAST(NULL AS text) AS headline, CAST(s.ts_config AS text) AS snippet_config"
                    if light else
                    "ts_headline(s.ts_config, alejandria_fold(coalesce(s.corrected_text, "
                    "s.text)), q.query, :headline_options) AS headline")
        return f"""
WITH q AS (SELECT {tsquery} AS query),
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
       coalesce(s.corrected_text, s.text) AS matched_text,
       {headline}
FROM page
CROSS JOIN q
JOIN transcript_segments s ON s.id = page.segment_id
JOIN posts p ON p.id = page.post_id
JOIN creators cr ON cr.id = p.creator_id
ORDER BY page.rank DESC, page.post_id
"""


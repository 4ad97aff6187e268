"""The ``semantic`` backend: posts and transcript moments nearest in meaning to the query.

The query is embedded with the model whose vectors currently serve (see ``vector_store``);
pgvector's HNSW index (cosine) returns the nearest chunks and transcript windows, which are
filtered, grouped per post (best distance wins) and given a snippet. A filtered search that
the approximate candidates cannot fill is re-run exactly over the filtered posts, so filters
never hide a matching post.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from alejandria.errors import SearchUnavailable
from alejandria.models import Availability, SearchHit, SearchQuery
from alejandria.plugin_types import Embedder, SearchContext
from alejandria.search.common import (
    FILTERS,
    HEADLINE_OPTIONS,
    Candidate,
    hit_from_row,
    snippet_columns,
    tsquery_sql,
)
from alejandria.search.embedding.select import embedder_name, load_embedder
from alejandria.storage.capabilities import detect_capabilities
from alejandria.storage.vector_store import VectorStore, active_model
from alejandria.text.accents import strip_nul

#: Candidates fetched per result wanted (more when filters may discard some), and the cap
#: (pgvector's ``hnsw.ef_search`` maximum).
CANDIDATES_PER_RESULT = 3
FILTERED_CANDIDATES_PER_RESULT = 10
MAX_CANDIDATES = 1000
#: The HNSW search breadth never goes below this: at 100k synthetic 512-dim vectors recall@10
#: against exact search was 0.880 at pgvector's default 40, 0.939 at 100 and 0.958 at 180
#: (bench/search_latency.py), for a few ms more.
MIN_EF_SEARCH = 200


def _statement(store: VectorStore, language_count: int, *, light: bool = False) -> str:
    vec = f"CAST(:qvec AS {store.vector_type})"
    distance = f"(e.embedding::{store.vector_type}) <=> {vec}"
    return f"""
WITH q AS (SELECT {tsquery_sql(language_count, match_any=True)} AS query),
chunk_nearest AS (
    SELECT e.chunk_id, {distance} AS distance
    FROM chunk_embeddings e
    WHERE e.model = {store.model_sql}
    ORDER BY {distance}
    LIMIT :k
),
window_nearest AS (
    SELECT e.transcription_id, e.ordinal, {distance} AS distance
    FROM transcript_embeddings e
    WHERE e.model = {store.model_sql}
    ORDER BY {distance}
    LIMIT :k
),
candidates AS (
    SELECT c.post_id, c.id AS chunk_id, c.page, c.media_id,
           CAST(NULL AS double precision) AS start_s, CAST(NULL AS text) AS window_text,
           n.distance
    FROM chunk_nearest n JOIN chunks c ON c.id = n.chunk_id
    UNION ALL
    SELECT pm.post_id, NULL, NULL, w.media_id, w.start_s, w.text, n.distance
    FROM window_nearest n
    JOIN transcript_embeddings w ON w.transcription_id = n.transcription_id
         AND w.model = {store.model_sql} AND w.ordinal = n.ordinal
    JOIN post_media pm ON pm.media_id = w.media_id
),
best AS (
    SELECT DISTINCT ON (cand.post_id) cand.*
    FROM candidates cand
    JOIN posts p ON p.id = cand.post_id
    JOIN creators cr ON cr.id = p.creator_id
    WHERE TRUE {FILTERS}
    ORDER BY cand.post_id, cand.distance
),
page AS (SELECT * FROM best ORDER BY distance, post_id LIMIT :limit OFFSET :offset)
SELECT page.post_id, page.page, page.start_s, page.media_id, 1 - page.distance AS rank,
       p.title, p.source, p.url, cr.name AS creator,
       coalesce(page.window_text, ch.text) AS matched_text,
       {snippet_columns("coalesce(ch.ts_config, CAST('simple' AS regconfig))",
                        "coalesce(page.window_text, ch.text)", "q.query", light=light)}
FROM page
CROSS JOIN q
LEFT JOIN chunks ch ON ch.id = page.chunk_id
JOIN posts p ON p.id = page.post_id
JOIN creators cr ON cr.id = p.creator_id
ORDER BY page.distance, page.post_id
"""


class SemanticBackend:
    mode = "semantic"

    def __init__(self, context: SearchContext) -> None:
        self.context = context
        self.engine: Engine = context.engine
        self.languages = context.settings.search_languages
        self._serving: tuple[Embedder | None, Availability] | None = None

    def serving(self) -> tuple[Embedder | None, Availability]:
        """The embedder whose vectors answer queries: the active model while a newly
        configured one is still being backfilled, else the configured one. Looked up once
        per backend (a backend serves one search)."""
        if self._serving is None:
            self._serving = self._find_serving()
        return self._serving

    def _find_serving(self) -> tuple[Embedder | None, Availability]:
        if "vector" not in self.context.capabilities:
            with self.engine.connect() as conn:
                reason = detect_capabilities(conn).semantic_search_reason
            if reason:
                return None, Availability.no(reason)
        plugins = self.context.plugins
        if plugins is None:
            return None, Availability.no("no plugin manager was given to the search backend")
        settings = self.context.settings
        configured = embedder_name(settings, plugins)
        with self.engine.connect() as conn:
            active = active_model(conn)
        if active and configured is not None:
            embedder, _ = load_embedder(settings, plugins)
            if embedder is not None and embedder.model_name != active.get("model"):
                previous, ok = load_embedder(
                    settings.model_copy(update={
                        "embed_model": active.get("embed_model") or "",
                        "embed_dimensions": active.get("embed_dimensions"),
                    }),
                    plugins, str(active.get("embedder")))
                if previous is not None and previous.model_name == active.get("model"):
                    return previous, ok
        return load_embedder(settings, plugins, configured)

    def availability(self) -> Availability:
        return self.serving()[1]

    def search(self, query: SearchQuery) -> list[SearchHit]:
        return [hit_from_row(row, self.mode) for row in self._rows(query, light=False)]

    def candidates(self, query: SearchQuery) -> list[Candidate]:
        """The nearest posts without snippets (hybrid builds those for its winners); their
        snippets highlight any of the query's words, as ``search``'s do."""
        return [Candidate(int(row["post_id"]), row, self.mode, match_any=True)
                for row in self._rows(query, light=True)]

    def _rows(self, query: SearchQuery, *, light: bool) -> list[Any]:
        embedder, availability = self.serving()
        if embedder is None:
            raise SearchUnavailable(f"semantic search is unavailable: {availability.reason}")
        store = VectorStore(embedder.model_name, embedder.dimensions)
        vector = embedder.embed_query(strip_nul(query.text) or " ")
        wanted = query.offset + query.limit
        per = FILTERED_CANDIDATES_PER_RESULT if query.filtered else CANDIDATES_PER_RESULT
        k = min(MAX_CANDIDATES, max(40, wanted * per))
        params: dict[str, Any] = {
            **{f"lang{i}": language for i, language in enumerate(self.languages)},
            "query": strip_nul(query.text), **query.filter_params(),
            "qvec": "[" + ",".join(repr(float(x)) for x in vector) + "]",
            "k": k, "limit": query.limit, "offset": query.offset,
            "headline_options": HEADLINE_OPTIONS,
        }
        sql = text(_statement(store, len(self.languages), light=light))
        with self.engine.begin() as conn:
            rows = self._run(conn, sql, params, exact=False)
            if query.filtered and len(rows) < query.limit:
                rows = self._run(conn, sql, {**params, "k": None}, exact=True)
        return rows

    @staticmethod
    def _run(conn: Connection, sql: Any, params: dict[str, Any], *, exact: bool) -> list[Any]:
        if exact:
            conn.execute(text("SET LOCAL enable_indexscan = off"))
        else:
            ef_search = min(MAX_CANDIDATES, max(MIN_EF_SEARCH, int(params["k"])))
            conn.execute(text(f"SET LOCAL hnsw.ef_search = {ef_search}"))
        return list(conn.execute(sql, params).mappings().all())

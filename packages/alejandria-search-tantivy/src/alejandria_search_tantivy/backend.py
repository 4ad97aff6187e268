"""The ``bm25`` search backend: chunks ranked by Tantivy's BM25, hits built by core.

A search asks Postgres one question first: the query's ``tsquery`` in every configured
language (so matching is exactly core's full-text matching), the index token and whether
anything is pending. It answers from the index only when the index holds the database's
current state; a few changed posts are re-indexed first (``inline_posts``), more are left to
a background thread while core's Postgres ranking answers. The page's snippets, titles and
filters come from Postgres, as for every core backend.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ProgrammingError

from alejandria.errors import SearchUnavailable
from alejandria.models import Availability, SearchHit, SearchQuery
from alejandria.plugin_types import SearchContext
from alejandria.search_kit import (
    FILTERS,
    HEADLINE_OPTIONS,
    Candidate,
    FullTextBackend,
    hit_from_row,
    language_params,
    snippet_columns,
    strip_nul,
    tsquery_sql,
)
from alejandria_search_tantivy.index import Bm25Index, index_at
from alejandria_search_tantivy.settings import current
from alejandria_search_tantivy.tsquery import parse, to_tantivy

log = logging.getLogger(__name__)

#: Chunks fetched per post wanted (a post's chunks all carry its title, so a title match
#: puts many chunks of one post at the top); doubled until enough posts are found.
CHUNKS_PER_POST = 4

_CHECK = """
SELECT CAST({tsquery} AS text) AS tsquery,
       (SELECT token FROM bm25_state WHERE id = 1) AS token,
       (SELECT count(*) FROM (SELECT 1 FROM bm25_pending LIMIT :inline + 1) AS p) AS pending
"""

_PAGE = """
WITH q AS (SELECT CAST(:tsquery AS tsquery) AS query),
page AS (
    SELECT * FROM unnest(CAST(:chunk_ids AS bigint[]), CAST(:scores AS float8[]))
           WITH ORDINALITY AS t(chunk_id, rank, i)
)
SELECT page.i, ch.post_id, ch.page, ch.start_s, ch.media_id, page.rank,
       p.title, p.source, p.url, cr.name AS creator, ch.text AS matched_text,
       {snippet}
FROM page
CROSS JOIN q
JOIN chunks ch ON ch.id = page.chunk_id
JOIN posts p ON p.id = ch.post_id
JOIN creators cr ON cr.id = p.creator_id
ORDER BY page.i
"""

_FILTERED = f"""
SELECT p.id FROM posts p JOIN creators cr ON cr.id = p.creator_id
WHERE p.id = ANY(CAST(:post_ids AS bigint[]))
{FILTERS}
"""


class Bm25Backend:
    mode = "bm25"

    def __init__(self, context: SearchContext) -> None:
        self.context = context
        self.engine: Engine = context.engine
        self.languages = context.settings.search_languages
        self.settings = current()
        self.index: Bm25Index = index_at(self.settings.index_path(context.settings.data_dir))
        count = len(self.languages)
        self._check = {match: text(_CHECK.format(tsquery=tsquery_sql(
            count, match_any=match == "any"))) for match in ("all", "any")}
        self._page = {light: text(_PAGE.format(snippet=snippet_columns(
            "ch.ts_config", "ch.text", "q.query", light=light))) for light in (False, True)}
        self._filtered = text(_FILTERED)

    def availability(self) -> Availability:
        return Availability.yes()

    def search(self, query: SearchQuery) -> list[SearchHit]:
        ranked = self._rank(query, light=False)
        if ranked is None:
            return self._postgres().search(query)
        return [hit_from_row(row, self.mode) for row in ranked[1]]

    def candidates(self, query: SearchQuery) -> list[Candidate]:
        ranked = self._rank(query, light=True)
        if ranked is None:
            return self._postgres().candidates(query)
        return [Candidate(int(row["post_id"]), row, self.mode, query.match == "any")
                for row in ranked[1]]

    def _postgres(self) -> FullTextBackend:
        return FullTextBackend(self.context)

    def _rank(self, query: SearchQuery, *, light: bool) -> tuple[str, list[Any]] | None:
        """``(tsquery, rows)`` of the page, or None when the index cannot answer yet."""
        params = {**language_params(self.languages), "query": strip_nul(query.text),
                  "inline": self.settings.inline_posts}
        try:
            with self.engine.connect() as conn:
                check = conn.execute(self._check[query.match], params).mappings().one()
        except ProgrammingError as exc:
            if "bm25_" not in str(exc):
                raise
            raise SearchUnavailable("the bm25 tables are missing: run `alejandria db upgrade` "
                                    "(or open the archive once) to add them") from None
        if not self._ready(check["token"], int(check["pending"])):
            return None
        node = parse(check["tsquery"] or "")
        if node is None:
            return check["tsquery"], []
        try:
            chunks = self._top_chunks(query, to_tantivy(node, self.index.schema))
        except (OSError, ValueError, RuntimeError):  # an unreadable index: Postgres answers
            log.warning("cannot read the BM25 index at %s; full-text search answers from "
                        "Postgres", self.index.path, exc_info=True)
            return None
        if not chunks:
            return check["tsquery"], []
        with self.engine.connect() as conn:
            rows = conn.execute(self._page[light], {
                "tsquery": check["tsquery"], "headline_options": HEADLINE_OPTIONS,
                "chunk_ids": [chunk for chunk, _ in chunks],
                "scores": [score for _, score in chunks]}).mappings().all()
        return check["tsquery"], list(rows)

    def _ready(self, database_token: str | None, pending: int) -> bool:
        """Whether the index holds the database's state now, catching up a little first (a
        first search of a small archive builds its index here)."""
        state = self.index.state()
        current = state is not None and state.holds(database_token)
        if current and pending == 0:
            return True
        if self.settings.inline_posts == 0 or (current and pending > self.settings.inline_posts):
            report = None
        else:
            try:
                report = self.index.catch_up(self.engine, batch_posts=self.settings.batch_posts,
                                             writer_mb=self.settings.writer_mb,
                                             max_posts=self.settings.inline_posts)
            except Exception:  # the folder unwritable, the disk full: Postgres answers
                log.warning("cannot catch up the BM25 index at %s; full-text search answers "
                            "from Postgres", self.index.path, exc_info=True)
                return False
            if not (report.busy or report.remaining):
                return True
        if self.settings.background and not (report is not None and report.busy):
            self.index.catch_up_in_background(self.engine, batch_posts=self.settings.batch_posts,
                                              writer_mb=self.settings.writer_mb)
        return False

    def _top_chunks(self, query: SearchQuery, tantivy_query: Any) -> list[tuple[int, float]]:
        """The page's posts as ``(best chunk id, score)``, best first, filters applied."""
        searcher = self.index.searcher()
        wanted = query.offset + query.limit
        fetch = wanted * CHUNKS_PER_POST + 20
        while True:
            result = searcher.search(tantivy_query, limit=fetch, count=False)
            addresses = [address for _, address in result.hits]
            post_ids = searcher.fast_field_values("post_id", addresses)
            chunk_ids = searcher.fast_field_values("chunk_id", addresses)
            best: dict[int, tuple[int, float]] = {}
            for (score, _), post_id, chunk_id in zip(result.hits, post_ids, chunk_ids,
                                                     strict=True):
                if isinstance(post_id, int) and isinstance(chunk_id, int) \
                        and post_id not in best:
                    best[post_id] = (chunk_id, float(score))
            exhausted = len(result.hits) < fetch
            if query.filtered and best:
                allowed = self._allowed(query, list(best))
                best = {post_id: hit for post_id, hit in best.items() if post_id in allowed}
            if len(best) >= wanted or exhausted:
                return list(best.values())[query.offset:wanted]
            fetch *= 4

    def _allowed(self, query: SearchQuery, post_ids: list[int]) -> set[int]:
        with self.engine.connect() as conn:
            return set(conn.execute(self._filtered, {
                **query.filter_params(), "post_ids": post_ids}).scalars())

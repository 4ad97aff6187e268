"""What the SQL search backends share: filters, snippets, the query in every language, and
turning rows into hits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import text
from sqlalchemy.engine import Engine

from alejandria.models import Availability, SearchHit, SearchQuery
from alejandria.plugin_types import SearchContext
from alejandria.search.snippets import build_snippet
from alejandria.text.accents import FRAGMENT_DELIMITER, HIGHLIGHT_START, HIGHLIGHT_STOP, strip_nul

HEADLINE_OPTIONS = (
    f'StartSel="{HIGHLIGHT_START}", StopSel="{HIGHLIGHT_STOP}", MaxWords=35, MinWords=12, '
    f'MaxFragments=2, FragmentDelimiter="{FRAGMENT_DELIMITER}"'
)

FILTERS = """
      AND (CAST(:source AS text) IS NULL OR p.source = :source)
      AND (CAST(:creator AS text) IS NULL OR cr.external_id = :creator
           OR lower(alejandria_fold(cr.name)) = lower(alejandria_fold(:creator))
           OR CAST(cr.id AS text) = :creator)
      AND (CAST(:collection AS text) IS NULL OR EXISTS (
            SELECT 1 FROM post_collections pc JOIN collections col ON col.id = pc.collection_id
            WHERE pc.post_id = p.id AND (col.external_id = :collection
                  OR lower(alejandria_fold(col.title)) = lower(alejandria_fold(:collection))
                  OR CAST(col.id AS text) = :collection)))
      AND (CAST(:published_after AS timestamptz) IS NULL OR p.published_at >= :published_after)
      AND (CAST(:published_before AS timestamptz) IS NULL OR p.published_at < :published_before)
      AND (CAST(:media_kind AS text) IS NULL OR EXISTS (
            SELECT 1 FROM post_media fpm JOIN media_files fmf ON fmf.id = fpm.media_id
            WHERE fpm.post_id = p.id AND fmf.kind = :media_kind))
      AND (CAST(:in_list AS text) IS NULL OR EXISTS (
            SELECT 1 FROM user_list_posts ulp JOIN user_lists ul ON ul.id = ulp.list_id
            WHERE ulp.post_id = p.id AND ul.user_id = CAST(:user_id AS integer)
                  AND (ul.name = :in_list OR CAST(ul.id AS text) = :in_list)))
      AND (CAST(:status AS text) IS NULL OR coalesce((
            SELECT ups.status FROM user_post_data ups
            WHERE ups.post_id = p.id AND ups.user_id = CAST(:user_id AS integer)), 'unread')
            = :status)
      AND (CAST(:has_note AS boolean) IS NULL OR CAST(:has_note AS boolean) = EXISTS (
            SELECT 1 FROM user_post_data upn
            WHERE upn.post_id = p.id AND upn.user_id = CAST(:user_id AS integer)
                  AND upn.notes IS NOT NULL))
      AND (CAST(:highlighted AS boolean) IS NULL OR CAST(:highlighted AS boolean) = EXISTS (
            SELECT 1 FROM user_highlights uh
            WHERE uh.post_id = p.id AND uh.user_id = CAST(:user_id AS integer)))
"""

def tsquery_sql(language_count: int, *, match_any: bool = False) -> str:
    """The user's query in each of ``:lang0``, ``:lang1``, ... OR-ed into one tsquery.

    ``match_any`` ORs the query's stemmed words instead of reading it as a web search (where
    every word must match): hybrid search wants posts matching some of the words, ranked by
    how many, since people describe what they remember in words the post may not all use.
    """
    if not match_any:
        return " || ".join(
            f"websearch_to_tsquery(CAST(:lang{i} AS regconfig), alejandria_fold(:query))"
            for i in range(language_count)
        )
    return " || ".join(
        "CAST(array_to_string(ARRAY(SELECT quote_literal(word) FROM unnest(tsvector_to_array("
        f"to_tsvector(CAST(:lang{i} AS regconfig), alejandria_fold(:query)))) AS word), ' | ')"
        " AS tsquery)"
        for i in range(language_count)
    )



#: The post's first collection, for a statement that has ``p`` (posts) in scope.
COLLECTION_SQL = """(SELECT col.title FROM post_collections pc JOIN collections col
                     ON col.id = pc.collection_id
                 WHERE pc.post_id = p.id ORDER BY col.id LIMIT 1)"""


def snippet_columns(config: str, body: str, query: str, *, light: bool) -> str:
    """The select-list columns that give a row its snippet and collection: ``headline`` (a
    ``ts_headline`` of ``body`` in the text search ``config`` for ``query``) and
    ``collection``; or, for a ``light`` statement (hybrid's candidates), neither, but the
    ``snippet_config`` that ``finish_candidates`` needs to compute them later."""
    if light:
        return (f"CAST(NULL AS text) AS headline, CAST(NULL AS text) AS collection, "
                f"CAST({config} AS text) AS snippet_config")
    return (f"ts_headline({config}, alejandria_fold({body}), {query}, :headline_options) "
            f"AS headline, {COLLECTION_SQL} AS collection")


@dataclass(frozen=True)
class Candidate:
    """A ranked post without its snippet and collection yet: what hybrid search fuses, so
    that the costly ``ts_headline`` runs only for the page of winners (``finish_candidates``)
    and not for every post of every ranked list."""

    post_id: int
    row: Mapping[str, Any]  # a light statement's row (see ``snippet_columns``)
    mode: str
    match_any: bool  # which tsquery highlights the snippet: the words OR-ed, or all of them


@runtime_checkable
class CandidateBackend(Protocol):
    """A backend that can rank posts without building their snippets (core's backends)."""

    def candidates(self, query: SearchQuery) -> list[Candidate]: ...


_FINISH = """
WITH q AS (SELECT {all_words} AS query_all, {any_word} AS query_any),
place AS (
    SELECT * FROM unnest(CAST(:post_ids AS bigint[]), CAST(:configs AS text[]),
                         CAST(:bodies AS text[]), CAST(:match_any AS boolean[]))
           WITH ORDINALITY AS t(post_id, config, body, match_any, i)
)
SELECT place.i,
       ts_headline(CAST(place.config AS regconfig), alejandria_fold(place.body),
                   CASE WHEN place.match_any THEN q.query_any ELSE q.query_all END,
                   :headline_options) AS headline,
       (SELECT col.title FROM post_collections pc JOIN collections col
            ON col.id = pc.collection_id
        WHERE pc.post_id = place.post_id ORDER BY col.id LIMIT 1) AS collection
FROM place CROSS JOIN q
ORDER BY place.i
"""


def finish_candidates(engine: Engine, languages: Sequence[str], query_text: str,
                      candidates: Sequence[Candidate]) -> list[SearchHit]:
    """Hits for ``candidates``, in order: their snippets and collections in one statement."""
    if not candidates:
        return []
    count = len(languages)
    sql = text(_FINISH.format(all_words=tsquery_sql(count),
                              any_word=tsquery_sql(count, match_any=True)))
    params: dict[str, Any] = {
        **{f"lang{i}": language for i, language in enumerate(languages)},
        "query": strip_nul(query_text), "headline_options": HEADLINE_OPTIONS,
        "post_ids": [c.post_id for c in candidates],
        "configs": [c.row.get("snippet_config") or "simple" for c in candidates],
        "bodies": [c.row.get("matched_text") or "" for c in candidates],
        "match_any": [c.match_any for c in candidates],
    }
    with engine.connect() as conn:
        found = conn.execute(sql, params).mappings().all()
    return [hit_from_row({**c.row, "headline": row["headline"],
                          "collection": row["collection"]}, c.mode)
            for c, row in zip(candidates, found, strict=True)]


class SqlSearchBackend:
    """A backend whose statement returns one row per post with ``post_id``, ``source``,
    ``creator``, ``title``, ``url``, ``rank``, ``headline`` and ``matched_text`` (plus, where
    they apply, ``page``, ``collection``, ``media_id`` and ``start_s``)."""

    mode = ""

    def __init__(self, context: SearchContext) -> None:
        self.engine: Engine = context.engine
        self.languages = context.settings.search_languages
        count = len(self.languages)
        self.sql = {
            (match, filtered): text(self.statement(
                tsquery_sql(count, match_any=match == "any"), filtered))
            for match in ("all", "any") for filtered in (False, True)
        }
        self.light_sql = {
            (match, filtered): text(self.statement(
                tsquery_sql(count, match_any=match == "any"), filtered, light=True))
            for match in ("all", "any") for filtered in (False, True)
        }

    def statement(self, tsquery: str, filtered: bool, *, light: bool = False) -> str:
        """The SQL, given the expression of the query's ``tsquery``, and whether the query
        has filters (``FILTERS`` must then apply; without them a statement may skip joins).
        A ``light`` statement leaves the snippet and collection out (``snippet_columns``)."""
        raise NotImplementedError

    def availability(self) -> Availability:
        return Availability.yes()

    def search(self, query: SearchQuery) -> list[SearchHit]:
        return [hit_from_row(row, self.mode) for row in self._rows(query, self.sql)]

    def candidates(self, query: SearchQuery) -> list[Candidate]:
        return [Candidate(int(row["post_id"]), row, self.mode, query.match == "any")
                for row in self._rows(query, self.light_sql)]

    def _rows(self, query: SearchQuery, statements: dict[tuple[str, bool], Any]) -> list[Any]:
        params: dict[str, Any] = {
            **{f"lang{i}": language for i, language in enumerate(self.languages)},
            "query": strip_nul(query.text), **query.filter_params(),
            "limit": query.limit, "offset": query.offset,
            "headline_options": HEADLINE_OPTIONS,
        }
        with self.engine.connect() as conn:
            sql = statements[(query.match, query.filtered)]
            return list(conn.execute(sql, params).mappings().all())


def hit_from_row(row: Mapping[str, Any], mode: str) -> SearchHit:
    """A hit from a statement's row (see ``SqlSearchBackend``), its snippet highlighted."""
    snippet, highlights = build_snippet(row["headline"] or "", row["matched_text"] or "")
    return SearchHit(
        post_id=row["post_id"], source=row["source"], creator=row["creator"],
        title=row["title"], snippet=snippet, highlights=highlights,
        score=round(float(row["rank"]), 6), page=row.get("page"),
        collection=row.get("collection"), url=row["url"], media_id=row.get("media_id"),
        start_s=row.get("start_s"), mode=mode,
    )

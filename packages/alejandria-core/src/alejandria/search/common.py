"""What the SQL search backends share: filters, snippets, the query in every language, and
turning rows into hits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine, RowMapping

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

    def statement(self, tsquery: str, filtered: bool) -> str:
        """The SQL, given the expression of the query's ``tsquery``, and whether the query
        has filters (``FILTERS`` must then apply; without them a statement may skip joins)."""
        raise NotImplementedError

    def availability(self) -> Availability:
        return Availability.yes()

    def search(self, query: SearchQuery) -> list[SearchHit]:
        params: dict[str, Any] = {
            **{f"lang{i}": language for i, language in enumerate(self.languages)},
            "query": strip_nul(query.text), **query.filter_params(),
            "limit": query.limit, "offset": query.offset,
            "headline_options": HEADLINE_OPTIONS,
        }
        with self.engine.connect() as conn:
            sql = self.sql[(query.match, query.filtered)]
            rows = conn.execute(sql, params).mappings().all()
        return [hit_from_row(row, self.mode) for row in rows]


def hit_from_row(row: RowMapping, mode: str) -> SearchHit:
    """A hit from a statement's row (see ``SqlSearchBackend``), its snippet highlighted."""
    snippet, highlights = build_snippet(row["headline"] or "", row["matched_text"] or "")
    return SearchHit(
        post_id=row["post_id"], source=row["source"], creator=row["creator"],
        title=row["title"], snippet=snippet, highlights=highlights,
        score=round(float(row["rank"]), 6), page=row.get("page"),
        collection=row.get("collection"), url=row["url"], media_id=row.get("media_id"),
        start_s=row.get("start_s"), mode=mode,
    )

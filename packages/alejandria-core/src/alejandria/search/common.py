"""What the SQL search backends share: filters, snippets, the query in every language, and
turning rows into hits."""

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



class SqlSearchBackend:
    """A backend whose statement returns one row per post with ``post_id``, ``source``,
    ``creator``, ``title``, ``url``, ``rank``, ``headline`` and ``matched_text`` (plus, where
    they apply, ``page``, ``collection``, ``media_id`` and ``start_s``)."""

    mode = ""

    def __init__(self, context: SearchContext) -> None:
        self.engine: Engine = context.engine
        self.languages = context.settings.search_languages
        self.sql = text(self.statement(len(self.languages)))

    def statement(self, language_count: int) -> str:
        raise NotImplementedError

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
            rows = conn.execute(self.sql, params).mappings().all()
        hits = []
        for row in rows:
            snippet, highlights = build_snippet(row["headline"] or "", row["matched_text"] or "")
            hits.append(SearchHit(
                post_id=row["post_id"], source=row["source"], creator=row["creator"],
                title=row["title"], snippet=snippet, highlights=highlights,
                score=round(float(row["rank"]), 6), page=row.get("page"),
                collection=row.get("collection"), url=row["url"], media_id=row.get("media_id"),
                start_s=row.get("start_s"), mode=self.mode,
            ))
        return hits

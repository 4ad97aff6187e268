"""What a search backend plugin builds on: core's filters, its query in every language, its
snippets and its hits, as one public module (plugins import no ``alejandria.search`` module).

A backend that ranks posts another way (an external index, another scoring) still answers
with core's hits: the same filters (``FILTERS`` over ``posts p`` and ``creators cr``), the
same ``ts_headline`` snippets (``snippet_columns``), the same ``SearchHit`` fields
(``hit_from_row``), and, where it returns ``Candidate`` objects from a ``candidates()``
method, a place in hybrid search whose snippets are built only for the fused page.
"""

from __future__ import annotations

from collections.abc import Sequence

from alejandria.search.common import (
    FILTERS,
    HEADLINE_OPTIONS,
    Candidate,
    CandidateBackend,
    hit_from_row,
    snippet_columns,
    tsquery_sql,
)
from alejandria.search.fulltext import FullTextBackend
from alejandria.text.accents import strip_nul

__all__ = [
    "FILTERS", "HEADLINE_OPTIONS", "Candidate", "CandidateBackend", "FullTextBackend",
    "hit_from_row", "language_params", "snippet_columns", "strip_nul", "tsquery_sql",
]


def language_params(languages: Sequence[str]) -> dict[str, str]:
    """The ``:lang0``, ``:lang1``, ... parameters of ``tsquery_sql``."""
    return {f"lang{i}": language for i, language in enumerate(languages)}

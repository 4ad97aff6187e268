"""Choosing a search backend for a query, and saying why a mode cannot run."""

from __future__ import annotations

import re

from alejandria.errors import SearchUnavailable
from alejandria.plugin_types import SearchBackend, SearchBackendSpec, SearchContext

#: Preference order for ``--mode auto``: the richest mode that can run here.
AUTO_ORDER = ("hybrid", "fulltext")


#: Web-search syntax: "a phrase", -exclusion, or. Someone who types it wants keyword search.
_OPERATORS = re.compile(r'"|(^|\s)-\w|\sor\s', re.IGNORECASE)


def keyword_query(query_text: str) -> bool:
    """One or two words, or web-search operators: full-text answers these best."""
    return len(query_text.split()) <= 2 or _OPERATORS.search(query_text) is not None


def choose_backend(mode: str, query_text: str, specs: dict[str, SearchBackendSpec],
                   context: SearchContext) -> tuple[str, SearchBackend]:
    """Return ``(name, backend)`` for ``mode``; ``auto`` picks full-text (with the
    transcripts' full-text fused in, ``KeywordBackend``) for keyword queries and hybrid for
    everything else (when it can run here)."""
    if mode == "auto":
        keywordish = keyword_query(query_text)
        if keywordish and "fulltext" in specs and "transcripts" in specs:
            from alejandria.search.hybrid import KeywordBackend

            keyword = KeywordBackend(context)
            if keyword.availability().available:
                return "keyword", keyword
        for name in ("fulltext",) if keywordish else AUTO_ORDER:
            if name in specs:
                backend = specs[name].factory(context)
                if backend.availability().available:
                    return name, backend
        raise SearchUnavailable("no search backend can run here (is alejandria-core installed?)")
    if mode not in specs:
        known = ", ".join(["auto", *sorted(specs)])
        raise SearchUnavailable(f"unknown search mode {mode!r} (available: {known})")
    backend = specs[mode].factory(context)
    availability = backend.availability()
    if not availability.available:
        raise SearchUnavailable(f"{mode} search is unavailable: {availability.reason}")
    return mode, backend

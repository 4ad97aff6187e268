"""The ``hybrid`` backend: full-text, semantic and transcript results fused into one ranking.

Reciprocal rank fusion (Cormack et al., 2009): a post scores ``sum(w / (K + rank))`` over
the lists it appears in, so agreement between modes lifts a post and no mode's raw score
scale matters. Each post keeps the hit of the list that ranked it best (its snippet, page or
transcript timestamp). Modes that cannot run here are left out; semantic search is required,
since without it hybrid would only be full-text under another name.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from sqlalchemy.engine import Engine

from alejandria.errors import SearchUnavailable
from alejandria.models import Availability, SearchHit, SearchQuery
from alejandria.plugin_types import SearchBackend, SearchContext
from alejandria.search.common import Candidate, CandidateBackend, finish_candidates

#: The RRF constant from the paper; larger flattens the head of each list.
RRF_K = 60
#: Results taken from each mode per result wanted, and at least this many.
DEPTH_PER_RESULT = 3
MIN_DEPTH = 50


@dataclass(frozen=True)
class Leg:
    """One ranked list hybrid fuses: a backend, how its keywords match, and its weight."""

    mode: str
    match: Literal["all", "any"] = "all"
    weight: float = 1.0

    @property
    def key(self) -> str:
        return f"{self.mode}:{self.match}"


#: The fused lists and their weights, chosen on bench/search_eval (see the README there).
LEGS = (Leg("fulltext"), Leg("semantic"), Leg("transcripts"))


class _Ranked(Protocol):
    @property
    def post_id(self) -> int: ...


R = TypeVar("R", bound=_Ranked)


def fuse(ranked: dict[str, list[R]], weights: dict[str, float],
         k: int = RRF_K) -> list[tuple[float, R]]:
    """RRF over ranked lists of hits (or candidates), best first; each post keeps its
    best-ranked entry."""
    scores: dict[int, float] = {}
    best: dict[int, tuple[int, R]] = {}
    for mode, hits in ranked.items():
        weight = weights.get(mode, 1.0)
        for rank, hit in enumerate(hits, start=1):
            scores[hit.post_id] = scores.get(hit.post_id, 0.0) + weight / (k + rank)
            if hit.post_id not in best or rank < best[hit.post_id][0]:
                best[hit.post_id] = (rank, hit)
    order = sorted(scores, key=lambda post_id: (-scores[post_id], post_id))
    return [(scores[post_id], best[post_id][1]) for post_id in order]


class HybridBackend:
    mode = "hybrid"
    legs: tuple[Leg, ...] = LEGS
    #: Run the legs side by side, each on its own pooled connection.
    concurrent_legs = True

    def __init__(self, context: SearchContext) -> None:
        if context.backends is None:
            raise SearchUnavailable("the hybrid backend needs the other backends")
        self.backends = context.backends
        self.engine: Engine = context.engine
        self.languages = context.settings.search_languages
        self._cache: dict[str, SearchBackend] = {}

    def _backend(self, name: str) -> SearchBackend:
        if name not in self._cache:
            self._cache[name] = self.backends(name)
        return self._cache[name]

    def availability(self) -> Availability:
        try:
            semantic = self._backend("semantic").availability()
        except (SearchUnavailable, KeyError):
            return Availability.no("the semantic backend is not installed")
        if not semantic.available:
            return Availability.no(f"it needs semantic search, which is unavailable: "
                                   f"{semantic.reason}")
        return Availability.yes()

    def search(self, query: SearchQuery) -> list[SearchHit]:
        depth = max(MIN_DEPTH, (query.offset + query.limit) * DEPTH_PER_RESULT)
        runs: list[tuple[Leg, SearchBackend, SearchQuery]] = []
        for leg in self.legs:
            try:
                backend = self._backend(leg.mode)
            except (SearchUnavailable, KeyError):
                continue
            runs.append((leg, backend, query.model_copy(update={
                "limit": min(depth, 500), "offset": 0, "match": leg.match})))
        # Each leg is one statement on its own pooled connection: run side by side, the
        # legs cost about the slowest one instead of their sum (bench/search_latency.py).
        if self.concurrent_legs and len(runs) > 1:
            with ThreadPoolExecutor(max_workers=len(runs),
                                    thread_name_prefix="hybrid-leg") as pool:
                found = list(pool.map(lambda run: _ranked(run[1], run[2]), runs))
        else:
            found = [_ranked(backend, sub) for _, backend, sub in runs]
        ranked: dict[str, list[Candidate | SearchHit]] = {
            leg.key: hits for (leg, _, _), hits in zip(runs, found, strict=True)
            if hits is not None}
        fused = fuse(ranked, {leg.key: leg.weight for leg in self.legs})
        page = fused[query.offset:query.offset + query.limit]
        hits = self._finish([entry for _, entry in page], query.text)
        return [hit.model_copy(update={"score": round(score, 6), "mode": self.label(hit)})
                for (score, _), hit in zip(page, hits, strict=True)]

    def _finish(self, entries: Sequence[Candidate | SearchHit], query_text: str
                ) -> list[SearchHit]:
        """Full hits for the fused page: snippets and collections for the candidates, in one
        statement; hits from backends that only return full hits are kept as they are."""
        candidates = [entry for entry in entries if isinstance(entry, Candidate)]
        finished = iter(finish_candidates(self.engine, self.languages, query_text, candidates))
        return [next(finished) if isinstance(entry, Candidate) else entry for entry in entries]

    def label(self, hit: SearchHit) -> str:
        """The mode a fused hit reports."""
        return self.mode


def _ranked(backend: SearchBackend, query: SearchQuery) -> list[Candidate | SearchHit] | None:
    """One leg's ranked list: candidates where the backend can skip snippets, else its hits;
    None where it cannot run here."""
    if not backend.availability().available:
        return None
    if isinstance(backend, CandidateBackend):
        return list(backend.candidates(query))
    return list(backend.search(query))


class KeywordBackend(HybridBackend):
    """What ``auto`` runs for a keyword query: the post text's full-text ranking fused with
    the transcripts' (both lexical, no embedder). Full-text alone cannot find a word that was
    only spoken; someone who types "pizza dough" remembers hearing it as readily as reading
    it. Not a mode of its own: the hits say which of the two found them."""

    mode = "keyword"
    legs = (Leg("fulltext"), Leg("transcripts"))

    def availability(self) -> Availability:
        return self._backend("fulltext").availability()

    def label(self, hit: SearchHit) -> str:
        return hit.mode  # the list that found it: fulltext or transcripts

"""Search quality on the evaluation set: nDCG@10 and recall@10 per mode and per local embedder.

The corpus (``corpus.jsonl``) goes through the real pipeline (a sync from an in-memory source,
transcripts stored as the transcription processor stores them, ``embed backfill``), then every
query of ``queries.jsonl`` runs through ``Archive.search`` in each mode, exactly as a user's
query would. Also reported: how often a transcript query's hit points at the right moment,
each embedder's indexing speed, and the HNSW index's recall@10 against exact search.

    python bench/search_eval/evaluate.py [--embedder e5-small --embedder use-multilingual]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpus import EvalPost, EvalQuery, load_corpus, load_queries
from harness import Server, machine, stopwatch
from sqlalchemy import text

from alejandria import Archive, hookimpl
from alejandria.builtins import build_plugin_manager
from alejandria.models import (
    Checkpoint,
    CreatorIn,
    JsonDict,
    MediaIn,
    MediaKind,
    PostIn,
    SearchHit,
    SearchQuery,
    SyncItem,
    SyncTarget,
)
from alejandria.plugin_types import (
    BaseSource,
    SourceContext,
    SourceSpec,
    TranscriptSegment,
)
from alejandria.search.hybrid import LEGS as HYBRID_LEGS
from alejandria.search.hybrid import fuse
from alejandria.settings import Settings
from alejandria.storage.transcripts import TranscriptStore
from alejandria.storage.vector_store import VectorStore, active_model

MODES = ("fulltext", "semantic", "transcripts", "hybrid")


def _bm25_installed() -> bool:
    try:
        import alejandria_search_tantivy  # noqa: F401
    except ImportError:
        return False
    return True


#: With alejandria-search-tantivy installed, its bm25 ranking is scored too, alone and as
#: hybrid's full-text leg (``ALEJANDRIA_FULLTEXT_BACKEND=bm25``: "hybrid (bm25)").
BM25 = _bm25_installed()
K = 10
SOURCE = "eval"
LANGUAGE_CONFIG = {"es": "spanish", "en": "english"}


# --- metrics ---------------------------------------------------------------------------------


def ndcg_at(ranked: Sequence[str], relevant: dict[str, int], k: int = K) -> float:
    """Normalised DCG with gains ``2^grade - 1`` (Järvelin & Kekäläinen)."""
    dcg = sum((2 ** relevant.get(doc, 0) - 1) / math.log2(i + 2)
              for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2 ** grade - 1) / math.log2(i + 2) for i, grade in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Sequence[str], relevant: dict[str, int], k: int = K) -> float:
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


# --- loading the corpus through the real pipeline ----------------------------------------------


class EvalSource(BaseSource):
    posts: ClassVar[list[EvalPost]] = []

    def __init__(self, context: SourceContext) -> None:
        self.context = context

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        yield SyncTarget(scope="corpus", label="evaluation corpus", locator="corpus")

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        for creator in sorted({p.creator for p in self.posts}):
            yield CreatorIn(external_id=creator, name=creator)
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for number, post in enumerate(self.posts):
            media = (MediaIn(key=post.id, filename=f"{post.id}.wav", kind=MediaKind.AUDIO),) \
                if post.transcript else ()
            yield PostIn(external_id=post.id, creator_external_id=post.creator,
                         title=post.title, text=post.text, tags=post.tags,
                         language=LANGUAGE_CONFIG[post.language],
                         published_at=start + timedelta(days=number), media=media)
        yield Checkpoint()

    def open_media(self, media: MediaIn) -> contextlib.AbstractContextManager[BinaryIO]:
        # a distinct stand-in per episode: transcripts are stored below, not transcribed
        return contextlib.closing(io.BytesIO(f"RIFF episode {media.key}".encode()))


class EvalPlugin:
    @hookimpl
    def register_sources(self) -> list[SourceSpec]:
        return [SourceSpec(name=SOURCE, factory=EvalSource)]


def load_archive(archive: Archive, posts: list[EvalPost]) -> None:
    EvalSource.posts = posts
    report = archive.sync(SOURCE, "corpus")
    if not report.ok:
        raise SystemExit(f"the corpus did not sync: {report.errors}")
    with archive.engine.connect() as conn:
        media: dict[str, int] = dict(conn.execute(text(
            "SELECT pm.key, pm.media_id FROM post_media pm")).tuples().all())
    store = TranscriptStore(archive.engine)
    for post in posts:
        if not post.transcript:
            continue
        state = store.begin(media[post.id], "eval", "reference", "1")
        store.add_window(state, [TranscriptSegment(s.start, s.end, s.text)
                                 for s in post.transcript],
                         offset_s=0.0, progress_s=post.transcript[-1].end,
                         language=post.language, ts_config=LANGUAGE_CONFIG[post.language])
        store.complete(state)


# --- running the queries -------------------------------------------------------------------------


@dataclass
class ModeScore:
    ndcg: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, ndcg: float, recall: float) -> None:
        self.ndcg.append(ndcg)
        self.recall.append(recall)
        self.by_kind.setdefault(kind, []).append(ndcg)

    def summary(self) -> dict[str, Any]:
        def mean(values: list[float]) -> float:
            return round(sum(values) / len(values), 3) if values else 0.0

        return {"ndcg@10": mean(self.ndcg), "recall@10": mean(self.recall),
                "ndcg@10_by_kind": {k: mean(v) for k, v in sorted(self.by_kind.items())}}


def post_ids(archive: Archive) -> dict[int, str]:
    with archive.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, external_id FROM posts WHERE source = :s"),
                            {"s": SOURCE}).all()
    return {int(r[0]): str(r[1]) for r in rows}


#: The ranked lists hybrid search can fuse: (mode, keyword matching).
LEGS = (("fulltext", "all"), ("fulltext", "any"), ("semantic", "all"),
        ("transcripts", "all"), ("transcripts", "any"))
def _variant(*weights: float) -> dict[str, float]:
    return {f"{mode}:{match}": w for (mode, match), w in zip(LEGS, weights, strict=True) if w}


#: Fusion variants compared (weights of the LEGS above, 0 = left out); "shipped" is what the
#: hybrid backend does, the others show why it was chosen.
VARIANTS: dict[str, dict[str, float]] = {
    "shipped": {leg.key: leg.weight for leg in HYBRID_LEGS},
    "all-words": _variant(1, 0, 1, 1, 0),
    "any-words": _variant(0, 1, 1, 0, 1),
    "any-words/2": _variant(0, 0.5, 1, 0, 0.5),
    "any-words/4": _variant(0, 0.25, 1, 0, 0.25),
    "all+any/4": _variant(1, 0.25, 1, 1, 0.25),
    "all+any/2": _variant(1, 0.5, 1, 1, 0.5),
    "semantic x2": _variant(1, 0, 2, 1, 0),
    "no transcripts": _variant(1, 0, 1, 0, 0),
}


def legs(archive: Archive, query: EvalQuery, depth: int = 50) -> dict[str, list[SearchHit]]:
    return {f"{mode}:{match}": archive.run_search(SearchQuery(
                text=query.query, mode=mode, match=match, limit=depth))
            for mode, match in LEGS}


def score(mode: str, hits: list[SearchHit], query: EvalQuery, ids: dict[int, str],
          scores: dict[str, ModeScore], moments: dict[str, dict[str, int]]) -> None:
    ranked = [ids.get(hit.post_id, "?") for hit in hits[:K]]
    relevant = dict(query.relevant)
    scores.setdefault(mode, ModeScore()).add(query.kind, ndcg_at(ranked, relevant),
                                             recall_at(ranked, relevant))
    if query.segment is None:
        return
    tally = moments.setdefault(mode, {"transcript_queries": 0, "right_moment": 0})
    tally["transcript_queries"] += 1
    for hit in hits[:K]:
        if ids.get(hit.post_id) == query.segment.post:
            # the hit's window starts at or before the expected segment, within 30 s of it
            if hit.start_s is not None and hit.start_s <= query.segment.start + 0.01 \
                    and query.segment.start - hit.start_s < 30.5:
                tally["right_moment"] += 1
            break


def evaluate(archive: Archive, queries: list[EvalQuery],
             variants: dict[str, dict[str, float]]) -> dict[str, Any]:
    ids = post_ids(archive)
    scores: dict[str, ModeScore] = {}
    moments: dict[str, dict[str, int]] = {}
    routed = Archive(archive.context.__class__(
        settings=archive.settings.model_copy(update={"fulltext_backend": "bm25"}),
        database=archive.database, plugins=archive.plugins,
        plugin_settings=archive.context.plugin_settings)) if BM25 else None
    if BM25:
        from alejandria_search_tantivy.service import catch_up

        catch_up(archive)  # built before the first query: each one is answered by the index
    for query in queries:
        for mode in MODES:
            score(mode, archive.search(query.query, mode=mode, limit=K), query, ids, scores,
                  moments)
        if routed is not None:
            found = archive.search(query.query, mode="bm25", limit=K)
            if any(hit.mode != "bm25" for hit in found):
                raise RuntimeError("a bm25 query was answered by Postgres: the index lags")
            score("bm25", found, query, ids, scores, moments)
            score("hybrid (bm25)", routed.search(query.query, mode="hybrid", limit=K), query,
                  ids, scores, moments)
        ranked = legs(archive, query)
        for name, weights in variants.items():
            fused = [hit for _, hit in fuse({leg: hits for leg, hits in ranked.items()
                                             if weights.get(leg)}, weights)]
            score(f"fusion:{name}", fused, query, ids, scores, moments)
    return {"modes": {mode: s.summary() for mode, s in scores.items()},
            "timestamps": moments}


def hnsw_recall(archive: Archive, queries: list[EvalQuery], k: int = K) -> float:
    """Share of the exact top-k chunk neighbours the HNSW index also returns."""
    from alejandria.search.embedding.select import load_embedder

    embedder, _ = load_embedder(archive.settings, archive.plugins)
    assert embedder is not None
    store = VectorStore(embedder.model_name, embedder.dimensions)
    sql = text(f"""
        SELECT chunk_id FROM chunk_embeddings WHERE model = {store.model_sql}
        ORDER BY (embedding::{store.vector_type}) <=> CAST(:v AS {store.vector_type})
        LIMIT :k""")
    found = total = 0
    for query in queries:
        vector = "[" + ",".join(map(repr, embedder.embed_query(query.query))) + "]"
        with archive.engine.begin() as conn:
            conn.execute(text("SET LOCAL hnsw.ef_search = 40"))
            approximate = {r[0] for r in conn.execute(sql, {"v": vector, "k": k})}
        with archive.engine.begin() as conn:
            conn.execute(text("SET LOCAL enable_indexscan = off"))
            exact = {r[0] for r in conn.execute(sql, {"v": vector, "k": k})}
        found += len(approximate & exact)
        total += len(exact)
    return found / total if total else 1.0


def run_embedder(server: Server, name: str, posts: list[EvalPost],
                 queries: list[EvalQuery]) -> dict[str, Any]:
    database = server.fresh_database()
    plugins = build_plugin_manager()
    plugins.register(EvalPlugin(), name="eval-corpus")
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), database_url=server.url_for(database),
                            embedder=name, embed_after_sync=False, process_media=False,
                            download_embeds=False)
        with Archive.open(settings=settings, plugins=plugins) as archive:
            load_archive(archive, posts)
            with stopwatch() as elapsed:
                report = archive.embed_backfill()
            seconds = elapsed()
            with archive.engine.connect() as conn:
                assert active_model(conn) is not None
            result = evaluate(archive, queries, VARIANTS)
            result["embedder"] = name
            result["model"] = report.model
            result["indexing"] = {"chunks": report.chunks, "windows": report.windows,
                                  "seconds": round(seconds, 1),
                                  "texts_per_s": round((report.chunks + report.windows)
                                                       / seconds, 1)}
            result["hnsw_recall@10"] = round(hnsw_recall(archive, queries), 3)
    server.drop(database)
    return result


def print_table(results: list[dict[str, Any]], posts: int, queries: int) -> None:
    print(f"\n{posts} posts, {queries} queries (higher is better)\n")
    kinds = sorted({kind for r in results for m in r["modes"].values()
                    for kind in m["ndcg@10_by_kind"]})
    print("| embedder | mode | nDCG@10 | recall@10 | " + " | ".join(kinds)
          + " | right moment |")
    print("|---" * (5 + len(kinds)) + "|")
    for result in results:
        for mode, summary in result["modes"].items():
            moment = result["timestamps"].get(mode)
            moments = f"{moment['right_moment']}/{moment['transcript_queries']}" \
                if moment else "-"
            by_kind = summary["ndcg@10_by_kind"]
            print(f"| {result['embedder']} | {mode} | {summary['ndcg@10']:.3f} "
                  f"| {summary['recall@10']:.3f} | "
                  + " | ".join(f"{by_kind.get(k, 0):.3f}" for k in kinds)
                  + f" | {moments} |")
    print()
    for result in results:
        indexing = result["indexing"]
        print(f"{result['embedder']} ({result['model']}): {indexing['chunks']} chunks + "
              f"{indexing['windows']} transcript windows in {indexing['seconds']} s "
              f"({indexing['texts_per_s']} texts/s); HNSW recall@10 vs exact "
              f"{result['hnsw_recall@10']:.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--embedder", action="append",
                        help="local embedders to compare (default: e5-small, use-multilingual)")
    parser.add_argument("--database-url", default=None,
                        help="a Postgres with pgvector (default: an embedded pgserver)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    posts, queries = load_corpus(), load_queries()
    embedders = args.embedder or ["e5-small", "use-multilingual"]
    with tempfile.TemporaryDirectory() as workdir, \
            Server.start(Path(workdir), args.database_url) as server:
        results = [run_embedder(server, name, posts, queries) for name in embedders]
    if args.json:
        print(json.dumps({"machine": machine(), "results": results}, indent=2))
    else:
        print_table(results, len(posts), len(queries))
    return 0


if __name__ == "__main__":
    sys.exit(main())

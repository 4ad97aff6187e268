"""Where embeddings live: per-model rows in ``chunk_embeddings`` and ``transcript_embeddings``,
each model with its own partial HNSW index, and which model currently serves searches.

Vectors are stored untyped (``vector``) so several models of different sizes can coexist
while an archive moves from one to another; each model's HNSW index is an expression index
over ``embedding::vector(<dims>)`` restricted to ``model = '<name>'``, and searches use the
very same expression so the planner picks it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from alejandria.storage.schema import system_config

#: pgvector's HNSW indexes ``vector`` columns of at most this many dimensions; larger models
#: are searched exactly (correct, slower).
HNSW_MAX_DIMENSIONS = 2000
#: The ``system_config`` key naming the model whose vectors answer searches.
ACTIVE_KEY = "search.embedding"
#: Transcript windows: about this many seconds of speech per vector.
WINDOW_SECONDS = 30.0


#: What a chunk's vector is computed from (title, heading, text): a change re-embeds it.
_INPUT_HASH = "md5(p.title || ':' || c.heading || ':' || c.text_hash)"
#: Chunks with no vector for ``:model``, or a vector of older text.
_PENDING_CHUNKS = f"""
    FROM chunks c
    JOIN posts p ON p.id = c.post_id
    LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id AND e.model = :model
    WHERE (e.chunk_id IS NULL OR e.text_hash <> {_INPUT_HASH})
"""
#: Complete transcripts with no vector for ``:model`` since they last changed (a correction
#: touches ``updated_at``).
_PENDING_TRANSCRIPTIONS = """
    FROM transcriptions t
    WHERE t.status = 'complete'
      AND coalesce((SELECT max(e.created_at) FROM transcript_embeddings e
                    WHERE e.transcription_id = t.id AND e.model = :model),
                   '-infinity') < t.updated_at
"""


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class PendingChunk:
    chunk_id: int
    input_hash: str
    text: str


@dataclass(frozen=True)
class Window:
    ordinal: int
    start_s: float
    end_s: float
    text: str

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def transcript_windows(segments: Sequence[tuple[float, float, str]],
                       seconds: float = WINDOW_SECONDS) -> list[Window]:
    """Group ``(start, end, text)`` segments into windows of about ``seconds`` each."""
    windows: list[Window] = []
    parts: list[str] = []
    start = end = 0.0
    for seg_start, seg_end, words in segments:
        if not parts:
            start = seg_start
        parts.append(words.strip())
        end = seg_end
        if end - start >= seconds:
            windows.append(Window(len(windows), start, end, " ".join(p for p in parts if p)))
            parts = []
    if parts:
        windows.append(Window(len(windows), start, end, " ".join(p for p in parts if p)))
    return [w for w in windows if w.text]


class VectorStore:
    """One model's vectors."""

    def __init__(self, model: str, dimensions: int) -> None:
        self.model = model
        self.dimensions = dimensions
        self.model_sql = sql_literal(model)
        self.vector_type = f"vector({int(dimensions)})"
        self.indexed = dimensions <= HNSW_MAX_DIMENSIONS

    def index_name(self, table: str) -> str:
        digest = hashlib.sha1(f"{self.model}:{self.dimensions}".encode()).hexdigest()[:12]
        return f"ix_{table}_hnsw_{digest}"

    def ensure_indexes(self, conn: Connection) -> None:
        """Create this model's HNSW indexes (cosine) if they do not exist yet."""
        if not self.indexed:
            return
        for table in ("chunk_embeddings", "transcript_embeddings"):
            conn.execute(text(
                f"CREATE INDEX IF NOT EXISTS {self.index_name(table)} ON {table} "
                f"USING hnsw ((embedding::{self.vector_type}) vector_cosine_ops) "
                f"WHERE model = {self.model_sql}"
            ))

    # --- chunks ----------------------------------------------------------------------------

    def pending_chunks(self, conn: Connection, after_id: int, limit: int) -> list[PendingChunk]:
        """Chunks after ``after_id`` with no vector for this model, or a stale one."""
        rows = conn.execute(text(f"""
            SELECT c.id, {_INPUT_HASH} AS input_hash,
                   concat_ws(E'\\n', nullif(p.title, ''), nullif(c.heading, ''), c.text) AS body
            {_PENDING_CHUNKS} AND c.id > :after
            ORDER BY c.id
            LIMIT :limit
        """), {"model": self.model, "after": after_id, "limit": limit}).all()
        return [PendingChunk(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def write_chunks(self, conn: Connection, chunks: Sequence[PendingChunk],
                     vectors: Sequence[Sequence[float]]) -> None:
        conn.execute(text(f"""
            INSERT INTO chunk_embeddings (chunk_id, model, dimensions, text_hash, embedding)
            VALUES (:chunk_id, :model, :dims, :hash, CAST(:embedding AS {self.vector_type}))
            ON CONFLICT (chunk_id, model) DO UPDATE
            SET text_hash = excluded.text_hash, embedding = excluded.embedding,
                dimensions = excluded.dimensions, created_at = now()
        """), [
            {"chunk_id": c.chunk_id, "model": self.model, "dims": self.dimensions,
             "hash": c.input_hash, "embedding": _vector_literal(v)}
            for c, v in zip(chunks, vectors, strict=True)
        ])

    def count_pending_chunks(self, conn: Connection) -> int:
        return int(conn.execute(text(f"SELECT count(*) {_PENDING_CHUNKS}"),
                                {"model": self.model}).scalar_one())

    def count_pending(self, conn: Connection) -> tuple[int, int]:
        """``(chunks, transcripts)`` waiting for this model's vectors, in one statement: what
        every sync checks to finish the work of an interrupted one."""
        row = conn.execute(text(f"""
            SELECT (SELECT count(*) {_PENDING_CHUNKS}),
                   (SELECT count(*) {_PENDING_TRANSCRIPTIONS})
        """), {"model": self.model}).one()
        return int(row[0]), int(row[1])

    # --- transcripts -------------------------------------------------------------------------

    def pending_transcriptions(self, conn: Connection) -> list[tuple[int, int]]:
        """``(transcription_id, media_id)`` of complete transcripts not embedded since they
        last changed (a correction touches ``updated_at``)."""
        rows = conn.execute(text(f"SELECT t.id, t.media_id {_PENDING_TRANSCRIPTIONS} "
                                 "ORDER BY t.id"), {"model": self.model}).all()
        return [(int(r[0]), int(r[1])) for r in rows]

    @staticmethod
    def windows(conn: Connection, transcription_id: int) -> list[Window]:
        rows = conn.execute(text("""
            SELECT start_s, end_s, coalesce(corrected_text, text) FROM transcript_segments
            WHERE transcription_id = :id ORDER BY ordinal
        """), {"id": transcription_id}).all()
        return transcript_windows([(float(r[0]), float(r[1]), str(r[2])) for r in rows])

    def write_windows(self, conn: Connection, transcription_id: int, media_id: int,
                      windows: Sequence[Window], vectors: Sequence[Sequence[float]]) -> None:
        conn.execute(text("""
            DELETE FROM transcript_embeddings
            WHERE transcription_id = :id AND model = :model AND ordinal >= :count
        """), {"id": transcription_id, "model": self.model, "count": len(windows)})
        if not windows:
            return
        conn.execute(text(f"""
            INSERT INTO transcript_embeddings (transcription_id, model, ordinal, media_id,
                start_s, end_s, text, text_hash, dimensions, embedding)
            VALUES (:id, :model, :ordinal, :media_id, :start_s, :end_s, :text, :hash, :dims,
                    CAST(:embedding AS {self.vector_type}))
            ON CONFLICT (transcription_id, model, ordinal) DO UPDATE
            SET start_s = excluded.start_s, end_s = excluded.end_s, text = excluded.text,
                text_hash = excluded.text_hash, embedding = excluded.embedding,
                media_id = excluded.media_id, dimensions = excluded.dimensions,
                created_at = now()
        """), [
            {"id": transcription_id, "model": self.model, "ordinal": w.ordinal,
             "media_id": media_id, "start_s": w.start_s, "end_s": w.end_s, "text": w.text,
             "hash": w.text_hash, "dims": self.dimensions, "embedding": _vector_literal(v)}
            for w, v in zip(windows, vectors, strict=True)
        ])

    # --- which model serves ----------------------------------------------------------------

    def counts(self, conn: Connection) -> dict[str, int]:
        row = conn.execute(text("""
            SELECT (SELECT count(*) FROM chunk_embeddings WHERE model = :model),
                   (SELECT count(*) FROM transcript_embeddings WHERE model = :model)
        """), {"model": self.model}).one()
        return {"chunks": int(row[0]), "transcript_windows": int(row[1])}

    def drop_other_models(self, conn: Connection) -> list[str]:
        """Delete every other model's vectors and indexes (after this one took over)."""
        others = [str(r[0]) for r in conn.execute(text("""
            SELECT model FROM chunk_embeddings WHERE model <> :model
            UNION SELECT model FROM transcript_embeddings WHERE model <> :model
        """), {"model": self.model})]
        keep = {self.index_name("chunk_embeddings"), self.index_name("transcript_embeddings")}
        for (name,) in conn.execute(text("""
            SELECT indexname FROM pg_indexes
            WHERE tablename IN ('chunk_embeddings', 'transcript_embeddings')
              AND indexname LIKE 'ix_%_hnsw_%'
        """)).all():
            if name not in keep:
                conn.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
        for model in others:
            conn.execute(text("DELETE FROM chunk_embeddings WHERE model = :m"), {"m": model})
            conn.execute(text("DELETE FROM transcript_embeddings WHERE model = :m"), {"m": model})
        return others


def _vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def active_model(conn: Connection) -> dict[str, Any] | None:
    """What ``mark_active`` last recorded: ``embedder``, ``model``, ``dimensions``,
    ``embed_model`` and ``embed_dimensions`` (the settings that rebuild that embedder)."""
    value = conn.execute(
        text("SELECT value FROM system_config WHERE key = :key"), {"key": ACTIVE_KEY}
    ).scalar_one_or_none()
    return dict(value) if isinstance(value, dict) else None


def mark_active(conn: Connection, record: dict[str, Any]) -> None:
    stmt = insert(system_config).values(key=ACTIVE_KEY, value=record,
                                        description="the embedding model serving searches")
    conn.execute(stmt.on_conflict_do_update(index_elements=[system_config.c.key],
                                            set_={"value": stmt.excluded.value}))

"""The Tantivy index on disk: one document per chunk, which database state it holds, and
catching it up with the posts whose chunks changed (``bm25_pending``).

The database and the index agree through a token. Each committed step of a catch-up writes
a new token into both: into ``bm25_state`` in the same transaction that deletes the step's
``bm25_pending`` rows, and into the index's state file after Tantivy's commit and before the
database's. A search trusts the index only when the database's token is the file's (or, while
a step is between its two commits, the one before). Anything else (a restored backup, another
database, a deleted or damaged folder, a crash between the commits that left the database
behind) rebuilds the index from the chunks. The index is derived data: it can always be
thrown away.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from alejandria_search_tantivy.tsvector import FIELDS, field_tokens

log = logging.getLogger(__name__)

#: Bump when the documents' fields change: an index of another version is rebuilt.
SCHEMA_VERSION = 1
STATE_FILE = "alejandria-bm25.json"
#: ``pg_try_advisory_lock`` key of the one process writing the index ("bm25" in ASCII).
WRITER_LOCK = 0x626D3235


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("post_id", indexed=True, fast=True)
    builder.add_unsigned_field("chunk_id", fast=True)
    for name in FIELDS:
        # the tokens come from Postgres (``tsvector.field_tokens``), never from a tokenizer
        builder.add_text_field(name, tokenizer_name="raw")
    return builder.build()


@dataclass(frozen=True)
class IndexState:
    """The state file: which database state the index holds."""

    token: str
    #: While a step is between Tantivy's commit and the database's, the token before it.
    previous: str | None = None

    def holds(self, database_token: str | None) -> bool:
        return database_token is not None and database_token in (self.token, self.previous)


@dataclass
class CatchUpReport:
    posts: int = 0
    chunks: int = 0
    rebuilt: bool = False
    busy: bool = False  # another process holds the writer
    remaining: bool = False  # stopped at ``max_posts`` with more pending
    seconds: float = 0.0


class Bm25Index:
    """One index folder, opened once per process (``index_at``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema = build_schema()
        self._index: tantivy.Index | None = None
        self._lock = threading.Lock()
        self._background: threading.Thread | None = None

    # --- the state file ---------------------------------------------------------------

    def state(self) -> IndexState | None:
        try:
            data = json.loads((self.path / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION:
            return None
        token = data.get("token")
        if not isinstance(token, str):
            return None
        previous = data.get("previous")
        return IndexState(token, previous if isinstance(previous, str) else None)

    def _write_state(self, state: IndexState) -> None:
        data = {"schema": SCHEMA_VERSION, "token": state.token, "previous": state.previous}
        temporary = self.path / f".{STATE_FILE}.tmp"
        with open(temporary, "w") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path / STATE_FILE)

    # --- reading ----------------------------------------------------------------------

    def index(self) -> tantivy.Index:
        with self._lock:
            if self._index is None:
                self._index = self._open()
            return self._index

    def _open(self) -> tantivy.Index:
        self.path.mkdir(parents=True, exist_ok=True)
        if self.state() is None and any(self.path.iterdir()):
            self._wipe()  # another version's index, or a damaged one: rebuilt from scratch
        try:
            return tantivy.Index(self.schema, path=str(self.path), reuse=True)
        except (OSError, ValueError) as exc:
            log.warning("BM25 index at %s cannot be opened (%s): rebuilding it", self.path, exc)
            self._wipe()
            return tantivy.Index(self.schema, path=str(self.path), reuse=True)

    def _reset(self) -> None:
        """Forget the open index and empty its folder (the writer lock is ours)."""
        with self._lock:
            self._index = None
            if self.path.exists():
                self._wipe()

    def _wipe(self) -> None:
        for entry in self.path.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def searcher(self) -> tantivy.Searcher:
        index = self.index()
        index.reload()  # what other processes committed since
        return index.searcher()

    # --- writing ----------------------------------------------------------------------

    def catch_up(self, engine: Engine, *, batch_posts: int = 2000, writer_mb: int = 64,
                 max_posts: int | None = None, rebuild: bool = False) -> CatchUpReport:
        """Re-index the pending posts, ``batch_posts`` per committed step, until none is left
        (or ``max_posts`` were done); rebuild first if asked to or if the index does not hold
        this database's state. One writer at a time across processes: a busy lock returns
        ``busy`` at once."""
        report = CatchUpReport()
        started = time.perf_counter()
        with engine.connect() as conn, self._writer_lock(conn) as locked:
            if not locked:
                report.busy = True
                return report
            database_token = conn.execute(
                text("SELECT token FROM bm25_state WHERE id = 1")).scalar()
            conn.commit()
            state = self.state()
            report.rebuilt = rebuild or state is None or not state.holds(database_token)
            if state is None:
                self._reset()  # no state file: a deleted, damaged or older index
            index = self.index()
            writer = index.writer(heap_size=writer_mb * 1_000_000, num_threads=1)
            try:
                if report.rebuilt:
                    self._rebuild(conn, writer)
                while max_posts is None or report.posts < max_posts:
                    size = batch_posts if max_posts is None else min(
                        batch_posts, max_posts - report.posts)
                    done, chunks = self._step(conn, writer, size)
                    report.posts += done
                    report.chunks += chunks
                    if done < size:
                        break
                # also true when a step skipped posts a writer has locked (SKIP LOCKED): their
                # committed chunks are not indexed yet, so the index cannot answer alone
                report.remaining = bool(conn.execute(
                    text("SELECT EXISTS (SELECT 1 FROM bm25_pending)")).scalar())
                conn.commit()
            finally:
                writer.wait_merging_threads()
            index.reload()
        report.seconds = time.perf_counter() - started
        return report

    @contextmanager
    def _writer_lock(self, conn: Connection) -> Iterator[bool]:
        locked = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                   {"key": WRITER_LOCK}).scalar())
        conn.commit()
        try:
            yield locked
        finally:
            if locked:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": WRITER_LOCK})
                conn.commit()

    def _rebuild(self, conn: Connection, writer: Any) -> None:
        """Empty the index and mark every post pending, under a new token."""
        log.info("building the BM25 index at %s from the database", self.path)
        # first a state no database holds: while the index is emptied, and if this process
        # dies before the end, no search trusts it
        self._write_state(IndexState("rebuilding-" + uuid.uuid4().hex))
        writer.delete_all_documents()
        writer.commit()
        token = uuid.uuid4().hex
        self._write_state(IndexState(token))
        # in post order, as the triggers mark posts: a sync writing meanwhile cannot deadlock
        conn.execute(text("INSERT INTO bm25_pending (post_id) SELECT id FROM posts "
                          "ORDER BY id ON CONFLICT (post_id) DO NOTHING"))
        conn.execute(text("UPDATE bm25_state SET token = :token WHERE id = 1"),
                     {"token": token})
        conn.commit()

    def _step(self, conn: Connection, writer: Any, size: int) -> tuple[int, int]:
        """One committed step: up to ``size`` pending posts re-read from their chunks."""
        post_ids = list(conn.execute(text(
            "SELECT post_id FROM bm25_pending ORDER BY post_id LIMIT :size "
            "FOR UPDATE SKIP LOCKED"), {"size": size}).scalars())
        if not post_ids:
            conn.commit()
            return 0, 0
        rows = conn.execute(text(
            "SELECT id, post_id, CAST(search_vector AS text) FROM chunks "
            "WHERE post_id = ANY(:ids)"), {"ids": post_ids}).all()
        writer.delete_documents_by_query(
            tantivy.Query.term_set_query(self.schema, "post_id", post_ids))
        for chunk_id, post_id, vector in rows:
            writer.add_document(_document(chunk_id, post_id, vector or ""))
        writer.commit()
        old = conn.execute(text("SELECT token FROM bm25_state WHERE id = 1 FOR UPDATE")).scalar()
        token = uuid.uuid4().hex
        self._write_state(IndexState(token, previous=old))
        conn.execute(text("DELETE FROM bm25_pending WHERE post_id = ANY(:ids)"),
                     {"ids": post_ids})
        conn.execute(text("UPDATE bm25_state SET token = :token WHERE id = 1"),
                     {"token": token})
        conn.commit()
        self._write_state(IndexState(token))
        return len(post_ids), len(rows)

    def catch_up_in_background(self, engine: Engine, **options: Any) -> None:
        """Start one thread per process catching up (a search answered meanwhile by
        Postgres); nothing if one is running."""
        with self._lock:
            if self._background is not None and self._background.is_alive():
                return

            def run() -> None:
                try:
                    report = self.catch_up(engine, **options)
                    log.info("BM25 index caught up: %d posts, %d chunks in %.1f s%s",
                             report.posts, report.chunks, report.seconds,
                             " (rebuilt)" if report.rebuilt else "")
                except Exception:  # the next search tries again; the archive is unaffected
                    log.warning("catching up the BM25 index at %s failed", self.path,
                                exc_info=True)

            self._background = threading.Thread(target=run, name="bm25-catch-up", daemon=True)
            self._background.start()

    def wait_background(self, timeout: float | None = None) -> None:
        thread = self._background
        if thread is not None:
            thread.join(timeout)


def _document(chunk_id: int, post_id: int, vector: str) -> tantivy.Document:
    document = tantivy.Document()
    document.add_unsigned("post_id", post_id)
    document.add_unsigned("chunk_id", chunk_id)
    for name, tokens in field_tokens(vector).items():
        if tokens:
            document.add_pre_tokenized_text(name, tantivy.PreTokenizedString(
                "", [tantivy.Token(lexeme, position, 0, 0) for position, lexeme in tokens]))
    return document


_OPEN: dict[Path, Bm25Index] = {}
_OPEN_LOCK = threading.Lock()


def index_at(path: Path) -> Bm25Index:
    """The process's one ``Bm25Index`` for ``path`` (Tantivy readers are kept open)."""
    path = path.resolve()
    with _OPEN_LOCK:
        if path not in _OPEN:
            _OPEN[path] = Bm25Index(path)
        return _OPEN[path]

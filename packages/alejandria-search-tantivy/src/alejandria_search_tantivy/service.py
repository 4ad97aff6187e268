"""Catching up, rebuilding and describing the index of an open archive (the CLI, the sync
hook and the health check share these)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from alejandria.plugin_types import HealthContext, HealthResult
from alejandria_search_tantivy.index import Bm25Index, CatchUpReport, index_at
from alejandria_search_tantivy.settings import current

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from alejandria.api import Archive
    from alejandria.settings import Settings


def index_of(settings: Settings) -> Bm25Index:
    """The index of the archive whose settings these are (its folder: ``ALEJANDRIA_BM25_*``)."""
    return index_at(current().index_path(settings.data_dir))


def catch_up(archive: Archive, *, rebuild: bool = False) -> CatchUpReport:
    """Index every pending post (all of them, after ``rebuild``)."""
    bm25 = current()
    index = index_of(archive.settings)
    return index.catch_up(archive.engine, batch_posts=bm25.batch_posts,
                          writer_mb=bm25.writer_mb, rebuild=rebuild)


@dataclass(frozen=True)
class IndexStatus:
    path: str
    current: bool  # holds the database's state (pending posts aside)
    pending: int
    documents: int


def status(archive: Archive) -> IndexStatus:
    index = index_of(archive.settings)
    return _status(archive.engine, index)


def _status(engine: Engine, index: Bm25Index) -> IndexStatus:
    with engine.connect() as conn:
        token = conn.execute(text("SELECT token FROM bm25_state WHERE id = 1")).scalar()
        pending = int(conn.execute(text("SELECT count(*) FROM bm25_pending")).scalar_one())
    state = index.state()
    current = state is not None and state.holds(token)
    documents = index.searcher().num_docs if current else 0
    return IndexStatus(str(index.path), current, pending, documents)


def health(context: HealthContext) -> list[HealthResult]:
    if context.engine is None:
        return []
    try:
        found = _status(context.engine, index_of(context.settings))
    except ProgrammingError:
        return [HealthResult("bm25", "warn", "the BM25 tables are missing: run "
                             "`alejandria db upgrade`")]
    serving = context.settings.fulltext_backend == "bm25"
    role = "serves full-text search" if serving else "installed, not serving (--mode bm25)"
    if not found.current:
        return [HealthResult("bm25", "warn" if serving else "ok",
                             f"BM25 index ({role}) not built for this database yet: "
                             "`alejandria bm25 rebuild` builds it (searches build it too)")]
    if found.pending:
        return [HealthResult("bm25", "ok", f"BM25 index ({role}): {found.documents} chunks, "
                             f"{found.pending} posts to re-index at the next search "
                             "(`alejandria bm25 catch-up`)")]
    return [HealthResult("bm25", "ok", f"BM25 index ({role}): {found.documents} chunks, "
                         "up to date")]

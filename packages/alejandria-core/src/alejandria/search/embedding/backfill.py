"""Embedding whatever lacks vectors for the configured model: post chunks, then transcript
windows, committing each batch, so an interrupted run resumes where it stopped.

When a model has embedded everything it becomes the *active* model, the one searches use;
until then the previous model's vectors keep serving, and once it takes over they are
deleted. Runs after each sync (in-process mode), as the ``embed`` job, and from
``alejandria embed backfill``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from alejandria.errors import SearchUnavailable
from alejandria.search.embedding.select import embedder_name, load_embedder
from alejandria.storage.vector_store import VectorStore, active_model, mark_active

if TYPE_CHECKING:
    from alejandria.plugin_types import Embedder, Plugins
    from alejandria.settings import Settings

log = logging.getLogger(__name__)

#: ``progress(done, total)`` in items (chunks and transcript windows' transcriptions).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BackfillReport:
    model: str
    chunks: int
    transcripts: int
    windows: int
    active: bool
    dropped_models: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"model": self.model, "chunks": self.chunks, "transcripts": self.transcripts,
                "windows": self.windows, "active": self.active,
                "dropped_models": list(self.dropped_models)}


def configured_embedder(settings: Settings, plugins: Plugins) -> tuple[str, Embedder]:
    """The configured embedder, or ``SearchUnavailable`` saying why there is none."""
    name = embedder_name(settings, plugins)
    embedder, availability = load_embedder(settings, plugins, name)
    if embedder is None or name is None:
        raise SearchUnavailable(f"cannot embed: {availability.reason}")
    return name, embedder


def backfill_embeddings(engine: Engine, settings: Settings, plugins: Plugins, *,
                        progress: Progress | None = None,
                        batch_size: int | None = None) -> BackfillReport:
    """Embed every chunk and transcript lacking a current vector for the configured model
    (the caller has checked that the database stores vectors)."""
    name, embedder = configured_embedder(settings, plugins)
    store = VectorStore(embedder.model_name, embedder.dimensions)
    size = max(1, batch_size or settings.embed_batch_size)
    with engine.begin() as conn:
        store.ensure_indexes(conn)
        total = store.count_pending_chunks(conn)
        transcriptions = store.pending_transcriptions(conn)
    total += len(transcriptions)
    done = chunks = windows = 0
    after = 0
    while True:
        with engine.connect() as conn:
            pending = store.pending_chunks(conn, after, size)
        if not pending:
            break
        vectors = embedder.embed([c.text for c in pending])
        with engine.begin() as conn:
            store.write_chunks(conn, pending, vectors)
        after = pending[-1].chunk_id
        chunks += len(pending)
        done += len(pending)
        if progress:
            progress(done, total)
    for transcription_id, media_id in transcriptions:
        with engine.connect() as conn:
            found = store.windows(conn, transcription_id)
        vectors = []
        for start in range(0, len(found), size):
            vectors.extend(embedder.embed([w.text for w in found[start:start + size]]))
        with engine.begin() as conn:
            store.write_windows(conn, transcription_id, media_id, found, vectors)
        windows += len(found)
        done += 1
        if progress:
            progress(done, total)
    dropped: tuple[str, ...] = ()
    with engine.begin() as conn:
        current = active_model(conn)
        if current is None or current.get("model") != store.model:
            mark_active(conn, {
                "embedder": name, "model": store.model, "dimensions": store.dimensions,
                "embed_model": settings.embed_model,
                "embed_dimensions": settings.embed_dimensions,
            })
            dropped = tuple(store.drop_other_models(conn))
            if dropped:
                log.info("embedding model %s took over; dropped vectors of %s",
                         store.model, ", ".join(dropped))
    return BackfillReport(model=store.model, chunks=chunks,
                          transcripts=len(transcriptions), windows=windows, active=True,
                          dropped_models=dropped)

"""Searching an open archive, and the embeddings behind semantic search: the functions the
``Archive`` facade, the CLI and the jobs call."""

from __future__ import annotations

from collections.abc import Callable

from alejandria.context import ArchiveContext
from alejandria.errors import SearchUnavailable
from alejandria.models import SearchHit, SearchQuery
from alejandria.plugin_types import SearchBackend, SearchBackendSpec, SearchContext
from alejandria.search.blank_snippets import fill_blank_snippets
from alejandria.search.dispatch import choose_backend
from alejandria.search.embedding.backfill import BackfillReport, backfill_embeddings
from alejandria.search.embedding.select import embedder_name, load_embedder
from alejandria.storage.vector_store import VectorStore, active_model


def has_words(query: str) -> bool:
    """Whether a query holds anything to search for: a letter or a digit. A query of
    punctuation (``'``, ``--``) matched nothing in full text and, in hybrid mode, returned the
    nearest 20 vectors of nothing at all: arbitrary posts with blank snippets."""
    return any(char.isalnum() for char in query)


def search(context: ArchiveContext, request: SearchQuery) -> list[SearchHit]:
    """Answer ``request`` with the backend its mode picks, through the cache if any; nothing
    for a query without words (``has_words``)."""
    if not has_words(request.text):
        return []
    specs = backend_specs(context)
    name, backend = choose_backend(request.mode, request.text, specs,
                                   search_context(context, specs))
    # a user's own filters change with every list or status edit, which does not clear the
    # cache (only content changes do): such searches are not cached
    cache = None if request.personal_filtered else context.search_cache
    if context.settings.fulltext_backend != "fulltext":
        name = f"{name}+{context.settings.fulltext_backend}"  # another ranking: other entries
    key, cached = cache.get(name, request) if cache else ("", None)
    if cached is not None:
        return cached
    hits = fill_blank_snippets(context.engine, backend.search(request))
    if cache:
        cache.put(key, hits)
    return hits


def backend_specs(context: ArchiveContext) -> dict[str, SearchBackendSpec]:
    """The installed search backends by name, ``fulltext`` being the one the
    ``fulltext_backend`` setting names (core's own unless another is chosen)."""
    specs = dict(context.plugins.search_backends())
    chosen = context.settings.fulltext_backend
    if chosen != "fulltext":
        if chosen not in specs:
            installed = ", ".join(sorted(specs))
            raise SearchUnavailable(
                f"ALEJANDRIA_FULLTEXT_BACKEND names {chosen!r}, which is not an installed "
                f"search backend (installed: {installed}): install its package or unset it")
        specs["fulltext"] = specs[chosen]
    return specs


def search_context(context: ArchiveContext,
                   specs: dict[str, SearchBackendSpec] | None = None) -> SearchContext:
    """What a search backend's factory receives (``backends`` builds another by name, from
    ``specs``: ``backend_specs`` unless given)."""
    flags = {"vector"} if context.capabilities().vector_installed else set()
    specs = backend_specs(context) if specs is None else specs
    made: SearchContext | None = None

    def backend(name: str) -> SearchBackend:
        assert made is not None
        return specs[name].factory(made)

    made = SearchContext(settings=context.settings, engine=context.engine,
                         capabilities=frozenset(flags), backends=backend,
                         plugins=context.plugins)
    return made


def embed_status(context: ArchiveContext) -> dict[str, object]:
    """The configured embedder, the model serving searches, and what is left to embed."""
    settings, plugins = context.settings, context.plugins
    status: dict[str, object] = {"configured": settings.embedder}
    if not context.capabilities().vector_installed:
        status["unavailable"] = context.capabilities().semantic_search_reason
        return status
    name = embedder_name(settings, plugins)
    embedder, availability = load_embedder(settings, plugins, name)
    with context.engine.connect() as conn:
        active = active_model(conn)
        status["serving_model"] = active.get("model") if active else None
        if embedder is None:
            status["unavailable"] = availability.reason
            return status
        store = VectorStore(embedder.model_name, embedder.dimensions)
        chunks, transcripts = store.count_pending(conn)
        status.update({"embedder": name, "model": embedder.model_name,
                       "dimensions": embedder.dimensions, **store.counts(conn),
                       "chunks_pending": chunks, "transcripts_pending": transcripts})
    return status


def pending_embeddings(context: ArchiveContext) -> int:
    """Chunks and transcripts lacking a current vector of the configured model, what
    ``embed backfill`` would embed (one query); 0 where nothing can be embedded: no pgvector,
    no embedder, or one that cannot run here."""
    if not context.capabilities().vector_installed:
        return 0
    embedder, _ = load_embedder(context.settings, context.plugins)
    if embedder is None:
        return 0
    with context.engine.connect() as conn:
        return sum(VectorStore(embedder.model_name, embedder.dimensions).count_pending(conn))


def embed_backfill(context: ArchiveContext, *,
                   progress: Callable[[int, int], None] | None = None,
                   batch_size: int | None = None) -> BackfillReport:
    """Embed every chunk and transcript lacking a vector for the configured model."""
    if not context.capabilities().vector_installed:
        raise SearchUnavailable(
            f"cannot embed: {context.capabilities().semantic_search_reason}")
    report = backfill_embeddings(context.engine, context.settings, context.plugins,
                                 progress=progress, batch_size=batch_size)
    if report.chunks or report.windows or report.dropped_models:
        context.content_changed()
    return report

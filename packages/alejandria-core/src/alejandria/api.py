"""The Python API: ``Archive.open()``, ``archive.sync(...)``, ``archive.search(...)``."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from alejandria.errors import DatabaseUnavailable, SearchUnavailable
from alejandria.media.dedup import DedupReport, dedup_media
from alejandria.media.gc import GcReport, collect_garbage
from alejandria.media.processing import MediaProcessing, ProcessingProgress, ProcessingReport
from alejandria.media.verify import VerifyReport, verify_media
from alejandria.media.video.embeds import EmbedDownloader, EmbedReport
from alejandria.models import (
    JsonDict,
    MediaKind,
    SearchHit,
    SearchQuery,
    SyncError,
    SyncReport,
)
from alejandria.plugin_types import SearchBackend, SearchContext, SourceContext
from alejandria.plugins import PluginManager, get_plugin_manager
from alejandria.queue.ledger import JobStore
from alejandria.search.dispatch import choose_backend
from alejandria.settings import Settings
from alejandria.storage.capabilities import DatabaseCapabilities, detect_capabilities
from alejandria.storage.engine import Database, open_database
from alejandria.storage.media_store import MediaStore
from alejandria.storage.migrate import is_up_to_date, upgrade
from alejandria.storage.repository import Repository
from alejandria.storage.schema import system_config
from alejandria.sync.pipeline import ProgressCallback, SyncRunner

if TYPE_CHECKING:
    from alejandria.search.embedding.backfill import BackfillReport
    from alejandria.storage.search_cache import SearchCache

log = logging.getLogger(__name__)

SUBSCRIPTIONS_KEY = "sync.subscriptions"


class Archive:
    """An open archive: database, media store and plugins. Use as a context manager.

    >>> with Archive.open() as archive:                       # doctest: +SKIP
    ...     archive.sync("pdf", "~/books")
    ...     hits = archive.search("carta natal")
    """

    def __init__(self, settings: Settings, database: Database, plugins: PluginManager) -> None:
        self.settings = settings
        self.database = database
        self.plugins = plugins
        self.repository = Repository(settings.search_languages)
        self.media = MediaStore(settings.media_dir)
        self._capabilities: DatabaseCapabilities | None = None
        self._search_cache: SearchCache | None = None
        self._closed = False

    @classmethod
    def open(cls, *, database_url: str | None = None,
             data_dir: str | os.PathLike[str] | None = None,
             settings: Settings | None = None, plugins: PluginManager | None = None,
             migrate: bool | None = None) -> Archive:
        """Open the archive: the embedded Postgres by default, or the server at ``database_url``.

        ``migrate`` defaults to True for the embedded database; an external database whose
        schema is behind raises ``DatabaseUnavailable`` telling the user to run
        ``alejandria db upgrade``.
        """
        overrides: dict[str, Any] = {}
        if database_url is not None:
            overrides["database_url"] = SecretStr(database_url)
        if data_dir is not None:
            overrides["data_dir"] = Path(data_dir)
        if settings is None:
            settings = Settings(**overrides)
        elif overrides:
            settings = settings.model_copy(update=overrides)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if plugins is None:
            plugins = get_plugin_manager(settings.load_plugins, tuple(settings.disabled_plugins))
        database = open_database(settings)
        try:
            migrations = plugins.migrations()
            should_migrate = settings.uses_embedded_database if migrate is None else migrate
            if should_migrate:
                upgrade(database.engine, migrations)
            elif not is_up_to_date(database.engine, migrations):
                raise DatabaseUnavailable(
                    f"the database schema at {database.description} is not up to date: "
                    "run 'alejandria db upgrade'"
                )
        except BaseException:
            database.close()
            raise
        archive = cls(settings, database, plugins)
        plugins.notify("startup", archive=archive)
        return archive

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.plugins.notify("shutdown", archive=self)
        self.database.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        return self.database.engine

    def capabilities(self) -> DatabaseCapabilities:
        if self._capabilities is None:
            with self.engine.connect() as conn:
                self._capabilities = detect_capabilities(conn)
        return self._capabilities

    # -- work -----------------------------------------------------------------------------

    def sync(self, source: str, *targets: str | os.PathLike[str], options: JsonDict | None = None,
             credentials: JsonDict | None = None,
             progress: ProgressCallback | None = None, remember: bool = True) -> SyncReport:
        """Archive ``targets`` (paths, URLs, names) with the source called ``source``.

        ``remember``: keep (source, targets) for the daily incremental sync. Without
        ``credentials``, those stored with ``alejandria credentials set SOURCE`` are used.
        """
        spec = self.plugins.source(source)
        if credentials is None:
            from alejandria.storage.credentials import CredentialStore

            credentials = CredentialStore(self.engine, self.settings.data_dir).get(spec.name)
        context = SourceContext(settings=self.settings, credentials=credentials,
                                options=dict(options or {}))
        runner = SyncRunner(
            engine=self.engine, repository=self.repository, store=self.media,
            source_name=spec.name, source=spec.factory(context),
            notify=self._notify, progress=progress,
        )
        report = runner.run([os.fspath(target) for target in targets])
        # a dry run ("show me what would be archived") is not a subscription
        if report.targets and remember and not (options or {}).get("dry_run"):
            self._remember(spec.name, [os.fspath(target) for target in targets], options)
        if self.settings.download_embeds:
            embeds = self.download_embeds()
            report.media_stored += embeds.downloaded
            report.notices.extend(embeds.failed)
            if embeds.unavailable:
                report.notices.append(SyncError(subject="video", message=embeds.unavailable))
        if report.media_stored and self.settings.process_media:
            processed = self.process_media()
            report.media_processed = processed.processed
            report.notices.extend(processed.failed)
        self.plugins.notify("sync_finished", archive=self, report=report)
        return report

    def process_media(self, *, processor: str | None = None, source: str | None = None,
                      progress: ProcessingProgress | None = None) -> ProcessingReport:
        """Run media processors over every stored file lacking their current output."""
        processing = MediaProcessing(self.engine, self.settings, self.plugins, self.media)
        report = processing.run(processor=processor, source=source, progress=progress)
        if report.processed:
            self.content_changed()  # new transcripts are searchable
        return report

    def download_embeds(self) -> EmbedReport:
        """Download the embedded videos that are due (yt-dlp), with their subtitles."""
        return EmbedDownloader(self.engine, self.settings, self.media, self.repository).run()

    def verify_media(self, progress: Callable[[int, int], None] | None = None) -> VerifyReport:
        """Re-hash every stored file; the report lists missing and corrupt ones."""
        return verify_media(self.engine, self.media, progress)

    def dedup_media(self, *, dry_run: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> DedupReport:
        """Re-hash the media store; merge rows of the same content, remove redundant copies,
        put misplaced files back, and report corrupt or missing ones."""
        return dedup_media(self.engine, self.media, self.settings, dry_run=dry_run,
                           progress=progress)

    def collect_garbage(self, *, grace: timedelta = timedelta(days=7),
                        dry_run: bool = False) -> GcReport:
        """Remove files no post references, once they are older than ``grace``."""
        return collect_garbage(self.engine, self.media, self.settings, grace=grace,
                               dry_run=dry_run)

    def subscriptions(self) -> list[dict[str, Any]]:
        """What the daily sync refreshes: every (source, targets, options) synced before."""
        with self.engine.connect() as conn:
            value = conn.execute(select(system_config.c.value).where(
                system_config.c.key == SUBSCRIPTIONS_KEY)).scalar_one_or_none()
        return list(value or [])

    def _remember(self, source: str, targets: list[str], options: JsonDict | None) -> None:
        entry = {"source": source, "targets": targets, "options": dict(options or {})}
        with self.engine.begin() as conn:
            current = conn.execute(select(system_config.c.value).where(
                system_config.c.key == SUBSCRIPTIONS_KEY).with_for_update()).scalar_one_or_none()
            entries = [e for e in (current or []) if
                       (e["source"], e["targets"]) != (source, targets)] + [entry]
            stmt = insert(system_config).values(
                key=SUBSCRIPTIONS_KEY, value=entries,
                description="(source, targets) the daily incremental sync refreshes")
            conn.execute(stmt.on_conflict_do_update(index_elements=[system_config.c.key],
                                                    set_={"value": entries}))

    @property
    def jobs(self) -> JobStore:
        """The ``jobs`` table: what ran, runs or failed, and why."""
        return JobStore(self.engine)

    def submit(self, job_type: str, kwargs: dict[str, Any] | None = None, *,
               priority: int = 5) -> int:
        """Queue a job (``sync``, ``process_media``, ...) on the broker, or run it here when
        none is configured; returns the job id."""
        from alejandria.queue.submit import submit

        return submit(self, job_type, kwargs, priority=priority)

    def _notify(self, event: str, **kwargs: Any) -> None:
        self.plugins.notify(event, archive=self, **kwargs)

    def search(self, query: str, *, mode: str = "auto", source: str | None = None,
               creator: str | None = None, collection: str | None = None,
               published_after: datetime | None = None,
               published_before: datetime | None = None, media_kind: str | None = None,
               limit: int = 20, offset: int = 0) -> list[SearchHit]:
        """Posts matching ``query``, best first; any string is a valid query."""
        request = SearchQuery(text=query, mode=mode, source=source, creator=creator,
                              collection=collection, published_after=published_after,
                              published_before=published_before,
                              media_kind=MediaKind(media_kind) if media_kind else None,
                              limit=limit, offset=offset)
        return self.run_search(request)

    def run_search(self, request: SearchQuery) -> list[SearchHit]:
        """Answer ``request`` with the backend its mode picks, through the cache if any."""
        name, backend = choose_backend(request.mode, request.text,
                                       self.plugins.search_backends(), self.search_context())
        cache = self.search_cache
        key, cached = cache.get(name, request) if cache else ("", None)
        if cached is not None:
            return cached
        hits = backend.search(request)
        if cache:
            cache.put(key, hits)
        return hits

    @property
    def search_cache(self) -> SearchCache | None:
        """The Redis search cache (``ALEJANDRIA_CACHE_URL``, else a Redis broker), or None."""
        if self._search_cache is None:
            url = self.settings.search_cache_url
            if url is None:
                return None
            from alejandria.storage.search_cache import SearchCache

            self._search_cache = SearchCache(url, self.settings.search_cache_ttl_s,
                                             namespace=self.database.url_fingerprint)
        return self._search_cache

    def content_changed(self) -> None:
        """What searches can find changed: cached results are stale."""
        cache = self.search_cache
        if cache:
            cache.invalidate()

    def search_context(self) -> SearchContext:
        caps = self.capabilities()
        flags = {"vector"} if caps.vector_installed else set()
        specs = self.plugins.search_backends()
        context: SearchContext | None = None

        def backend(name: str) -> SearchBackend:
            assert context is not None
            return specs[name].factory(context)

        context = SearchContext(settings=self.settings, engine=self.engine,
                                capabilities=frozenset(flags), backends=backend,
                                plugins=self.plugins)
        return context

    def embed_status(self) -> dict[str, object]:
        """The configured embedder, the model serving searches, and what is left to embed."""
        from alejandria.search.embedding.select import embedder_name, load_embedder
        from alejandria.storage.vector_store import VectorStore, active_model

        status: dict[str, object] = {"configured": self.settings.embedder}
        if not self.capabilities().vector_installed:
            status["unavailable"] = self.capabilities().semantic_search_reason
            return status
        name = embedder_name(self.settings, self.plugins)
        embedder, availability = load_embedder(self.settings, self.plugins, name)
        with self.engine.connect() as conn:
            active = active_model(conn)
            status["serving_model"] = active.get("model") if active else None
            if embedder is None:
                status["unavailable"] = availability.reason
                return status
            store = VectorStore(embedder.model_name, embedder.dimensions)
            status.update({"embedder": name, "model": embedder.model_name,
                           "dimensions": embedder.dimensions, **store.counts(conn),
                           "chunks_pending": store.count_pending_chunks(conn),
                           "transcripts_pending": len(store.pending_transcriptions(conn))})
        return status

    def embed_backfill(self, *, progress: Callable[[int, int], None] | None = None,
                       batch_size: int | None = None) -> BackfillReport:
        """Embed every chunk and transcript lacking a vector for the configured model."""
        from alejandria.search.embedding.backfill import backfill_embeddings

        if not self.capabilities().vector_installed:
            raise SearchUnavailable(f"cannot embed: {self.capabilities().semantic_search_reason}")

        report = backfill_embeddings(self.engine, self.settings, self.plugins,
                                     progress=progress, batch_size=batch_size)
        if report.chunks or report.windows or report.dropped_models:
            self.content_changed()
        return report

    def stats(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return self.repository.stats(conn)


"""The parts of an open archive, handed to every service and job.

``Archive.open`` (the composition root, in ``alejandria.api``) builds one ``ArchiveContext``:
settings, the database, the plugin registry and the plugins' own settings, the stores, the job
ledger, and ``notify`` for event hooks. Services take it (or the few parts they need) and never
reach up into the ``Archive`` facade; the queue runs jobs with it; a worker process opens one
archive and serves every job with its context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alejandria.errors import ConfigurationError, UnknownName
from alejandria.plugin_types import BlobStore, JobTypeSpec, MediaStoreContext, PluginSettings
from alejandria.plugins import PluginManager
from alejandria.settings import Settings
from alejandria.storage.capabilities import DatabaseCapabilities, detect_capabilities
from alejandria.storage.engine import Database
from alejandria.storage.repository import Repository
from alejandria.storage.search_cache import SearchCache

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from alejandria.queue.ledger import JobStore

#: ``notify(event, **kwargs)``: call the plugins' event hook ``event`` (``post_stored``, ...).
Notify = Callable[..., None]


def _quiet(_event: str, **_kwargs: Any) -> None:
    return None


@dataclass(eq=False)
class ArchiveContext:
    """An open archive's parts. ``settings`` is the one object every part reads, so a change
    to it (a test pointing the queue at a broker) is seen everywhere."""

    settings: Settings
    database: Database
    plugins: PluginManager
    plugin_settings: dict[type[PluginSettings], PluginSettings] = field(default_factory=dict)
    notify: Notify = _quiet
    repository: Repository = field(init=False)
    media: BlobStore = field(init=False)
    _jobs: JobStore | None = field(default=None, init=False)
    _capabilities: DatabaseCapabilities | None = field(default=None, init=False)
    _search_cache: SearchCache | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.repository = Repository(self.settings.search_languages)
        self.media = open_media_store(self.settings, self.plugins)

    @property
    def engine(self) -> Engine:
        return self.database.engine

    @property
    def jobs(self) -> JobStore:
        """The job ledger, built on first use (a search never touches it)."""
        if self._jobs is None:
            from alejandria.queue.ledger import JobStore

            self._jobs = JobStore(self.database.engine)
        return self._jobs

    def capabilities(self) -> DatabaseCapabilities:
        """What this Postgres can do (pgvector, unaccent), read once."""
        if self._capabilities is None:
            with self.engine.connect() as conn:
                self._capabilities = detect_capabilities(conn)
        return self._capabilities

    def job_type(self, name: str) -> JobTypeSpec:
        """A registered job type (``UnknownName`` lists the known ones)."""
        return self.plugins.job_type(name)

    @property
    def search_cache(self) -> SearchCache | None:
        """The Redis search cache (``ALEJANDRIA_CACHE_URL``, else a Redis broker), or None."""
        if self._search_cache is None:
            url = self.settings.search_cache_url
            if url is None:
                return None
            self._search_cache = SearchCache(url, self.settings.search_cache_ttl_s,
                                             namespace=self.database.url_fingerprint)
        return self._search_cache

    def content_changed(self) -> None:
        """What searches can find changed: cached results are stale."""
        cache = self.search_cache
        if cache:
            cache.invalidate()


def media_scheme(url: str) -> str:
    """The backend name of a media URL: its scheme, ``file`` for a plain path."""
    scheme, sep, _ = url.partition("://")
    if not sep or len(scheme) < 2:  # a path (``C:\\...`` included)
        return "file"
    return scheme.lower()


def open_media_store(settings: Settings, plugins: PluginManager,
                     url: str | None = None) -> BlobStore:
    """The media store of ``url`` (default: ``ALEJANDRIA_MEDIA_URL``, else the data dir's
    ``media`` folder), built by the backend registered for its scheme. Nothing is reached
    yet: ``check()`` does that (``alejandria doctor``)."""
    url = url or settings.media_store_url
    scheme = media_scheme(url)
    try:
        spec = plugins.media_store(scheme)
    except UnknownName as exc:
        raise ConfigurationError(f"no media store backend for {scheme}:// URLs "
                                 f"(ALEJANDRIA_MEDIA_URL): {exc}") from None
    return spec.factory(MediaStoreContext(
        url=url, settings=settings, max_file_bytes=settings.max_download_mb * 2**20,
        min_free_bytes=settings.min_free_disk_mb * 2**20, plugins=plugins))

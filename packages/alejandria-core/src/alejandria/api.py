"""The Python API: ``Archive.open()``, ``archive.sync(...)``, ``archive.search(...)``.

``Archive.open`` is the composition root: it reads the settings, opens the database, builds and
validates the plugin registry, reads the plugins' settings, and hands one ``ArchiveContext`` to
every service. The ``Archive`` methods are thin: each calls one service with that context.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from alejandria.accounts.roles import Permission, declares, requires
from alejandria.builtins import get_plugin_manager
from alejandria.context import ArchiveContext
from alejandria.errors import DatabaseUnavailable, NotFound
from alejandria.settings import Settings
from alejandria.storage.engine import Database, open_database

if TYPE_CHECKING:
    # What the methods below return or take. The services themselves are imported where
    # they are called, so a command imports only what it runs (``search`` never imports
    # Celery, Alembic or the media tools): start-up is most of a command's time.
    from sqlalchemy.engine import Engine

    from alejandria.accounts.audit import AuditLog
    from alejandria.accounts.personal.service import Personal
    from alejandria.accounts.service import Accounts, AccountServices
    from alejandria.accounts.tokens import Tokens
    from alejandria.accounts.users import User
    from alejandria.backup.create import BackupReport
    from alejandria.backup.create import Progress as BackupProgress
    from alejandria.backup.export import ExportReport
    from alejandria.backup.restore import RestoreReport
    from alejandria.backup.retention import Policy
    from alejandria.backup.verify import VerifyReport as BackupVerifyReport
    from alejandria.imports.report import ImportReport
    from alejandria.library.service import Library
    from alejandria.media.dedup import DedupReport
    from alejandria.media.gc import GcReport
    from alejandria.media.migrate import MigrateReport
    from alejandria.media.processing import ProcessingProgress, ProcessingReport
    from alejandria.media.verify import VerifyReport
    from alejandria.media.video.embeds import EmbedReport
    from alejandria.models import Actor, JsonDict, SearchHit, SearchQuery, SyncReport
    from alejandria.ops.health import HealthReport
    from alejandria.plugin_types import (
        BlobStore,
        MigrationSpec,
        SearchContext,
        Source,
        TranscriptSegment,
    )
    from alejandria.plugins import PluginManager
    from alejandria.queue.ledger import JobStore
    from alejandria.queue.recorded import RecordedJob
    from alejandria.search.embedding.backfill import BackfillReport
    from alejandria.storage.capabilities import DatabaseCapabilities
    from alejandria.storage.changes import ChangeFeed
    from alejandria.storage.credentials import StoredCredential
    from alejandria.storage.repository import Repository
    from alejandria.storage.search_cache import SearchCache
    from alejandria.sync.pipeline import ProgressCallback


#: Public names of ``Archive`` that are not actions, so declare no permission (a meta-test
#: fails on any other public name without one): the lifecycle, the parts trusted code builds
#: on (a web app never hands these to a user), and services that check each call themselves.
NOT_ACTIONS: dict[str, str] = {
    "open": "lifecycle", "close": "lifecycle",
    "settings": "part", "database": "part", "plugins": "part", "repository": "part",
    "media": "part", "engine": "part", "jobs": "part", "search_cache": "part",
    "context": "part", "search_context": "part (benchmarks build backends with it)",
    "accounts": "checks each call (actor=)", "tokens": "checks each call (actor=)",
    "audit": "checks each call (actor=)",
    "personal": "checks each call (the acting user filters every query)",
    "library": "checks each call (actor=)",
    "health": "public: what a load balancer polls; says no secrets and no paths",
    "change_feed": "part: a counter of changes, no data (the web app's caches)",
}


class Archive:
    """An open archive: database, media store and plugins. Use as a context manager.

    Every action takes a keyword-only ``actor`` (the signed-in user a web request acts for;
    None: the installation, e.g. the CLI) and raises ``PermissionDenied`` before doing
    anything when that user's role may not (``accounts.roles``; see docs/accounts.md).

    >>> with Archive.open() as archive:                       # doctest: +SKIP
    ...     archive.sync("pdf", "~/books")
    ...     hits = archive.search("carta natal")
    """

    def __init__(self, context: ArchiveContext) -> None:
        self.context = context
        self._closed = False

    @classmethod
    def open(cls, *, database_url: str | None = None,
             data_dir: str | os.PathLike[str] | None = None,
             settings: Settings | None = None, plugins: PluginManager | None = None,
             migrate: bool | None = None) -> Archive:
        """Open the archive: the embedded Postgres by default, or the server at ``database_url``.

        ``migrate`` defaults to True for the embedded database; an external database whose
        schema is behind raises ``DatabaseUnavailable`` telling the user to run
        ``alejandria db upgrade``. A broken plugin setup (two plugins registering one name, a
        malformed spec, a plugin setting the model refuses) raises here, before anything runs.
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
        if plugins is None:
            plugins = get_plugin_manager(settings.load_plugins, tuple(settings.disabled_plugins))
        plugins.validate()
        from alejandria.plugins.settings import load_plugin_settings

        plugin_settings = load_plugin_settings(plugins.settings_specs().values())
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = open_database(settings)
        try:
            _ensure_schema(database, plugins.migrations(),
                           settings.uses_embedded_database if migrate is None else migrate,
                           forced=migrate is True)
        except BaseException:
            database.close()
            raise
        archive = cls(ArchiveContext(settings=settings, database=database, plugins=plugins,
                                     plugin_settings=plugin_settings))
        archive.context.notify = archive._notify
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

    def _notify(self, event: str, **kwargs: Any) -> None:
        self.plugins.notify(event, archive=self, **kwargs)

    # -- the parts ------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self.context.settings

    @property
    def database(self) -> Database:
        return self.context.database

    @property
    def plugins(self) -> PluginManager:
        return self.context.plugins

    @property
    def repository(self) -> Repository:
        return self.context.repository

    @property
    def media(self) -> BlobStore:
        return self.context.media

    @property
    def engine(self) -> Engine:
        return self.context.engine

    @property
    def jobs(self) -> JobStore:
        """The ``jobs`` table: what ran, runs or failed, and why."""
        return self.context.jobs

    @property
    def search_cache(self) -> SearchCache | None:
        """The Redis search cache (``ALEJANDRIA_CACHE_URL``, else a Redis broker), or None."""
        return self.context.search_cache

    def health(self, *, timeout_s: float = 2.0) -> HealthReport:
        """Database, Redis, workers, disk and pgvector, each ok/warn/fail with why and its
        latency (the web app's ``/health``)."""
        from alejandria.ops.health import health_report

        return health_report(self.context, timeout_s=timeout_s)

    @requires(Permission.READ)
    def capabilities(self, *, actor: Actor | None = None) -> DatabaseCapabilities:
        return self.context.capabilities()

    # -- accounts -------------------------------------------------------------------------

    @cached_property
    def _account_services(self) -> AccountServices:
        from alejandria.accounts.service import build_services

        return build_services(self.engine, self.settings)

    @property
    def accounts(self) -> Accounts:
        """Users and roles, logins (``authenticate``) and 2FA (``accounts.totp``)."""
        return self._account_services.accounts

    @property
    def tokens(self) -> Tokens:
        """API tokens: create, list, revoke, check."""
        return self._account_services.tokens

    @property
    def audit(self) -> AuditLog:
        """The audit log of account changes and logins (admins only)."""
        return self._account_services.audit

    def personal(self, user: Actor | User | int | str) -> Personal:
        """The lists, statuses, notes and highlights of ``user`` (an ``Actor``, a ``User``, or
        a user id or name), acting as that user: readonly users read and cannot change."""
        from alejandria.accounts.personal.service import Personal
        from alejandria.models import Actor as ActingUser

        if isinstance(user, int | str):
            user = self.accounts.get(user)
        return Personal(self.engine, user if isinstance(user, ActingUser) else user.actor)

    @cached_property
    def library(self) -> Library:
        """The catalogue, read: pages of posts, creators, collections and jobs, one post,
        media file or thumbnail (each call checks ``actor``'s role)."""
        from alejandria.library.service import Library

        return Library(self.engine, self.settings.data_dir, self.media)

    def change_feed(self) -> ChangeFeed:
        """A listener (not yet started) of this archive's committed changes, from any process
        or host: what an in-process cache of what readers see checks against (the web app's;
        ``alejandria.storage.changes``)."""
        from alejandria.storage.changes import ChangeFeed

        return ChangeFeed(self.engine)

    # -- work -----------------------------------------------------------------------------

    @requires(Permission.OPERATE)
    def sync(self, source: str, *targets: str | os.PathLike[str], options: JsonDict | None = None,
             credentials: JsonDict | None = None,
             progress: ProgressCallback | None = None, remember: bool = True,
             actor: Actor | None = None, client: str | None = None) -> SyncReport:
        """Archive ``targets`` (paths, URLs, names) with the source called ``source``; none:
        the source's ``SourceSpec.default_targets`` (its whole account), if it declares any.

        ``remember``: keep (source, targets) for the daily incremental sync. Without
        ``credentials``, those stored with ``alejandria credentials set SOURCE`` are used.
        Embedded videos, media processing and embeddings follow (``sync.after``). Audited:
        who (``actor``, ``client``) synced which source and targets.
        """
        from alejandria.storage.audit import Trigger
        from alejandria.sync.service import run_sync

        return run_sync(self.context, source, targets, options=options,
                        credentials=credentials, progress=progress, remember=remember,
                        actor=actor, trigger=Trigger(actor, client))

    @requires(Permission.OPERATE)
    def source(self, name: str, *, options: JsonDict | None = None,
               credentials: JsonDict | None = None, actor: Actor | None = None) -> Source:
        """The source called ``name``, built as a sync builds it (to check credentials with
        ``authenticate()``, or to look at what it would fetch)."""
        from alejandria.sync.service import build_source

        return build_source(self.context, name, options=options, credentials=credentials,
                            actor=actor)

    @requires(Permission.OPERATE)
    def process_media(self, *, processor: str | None = None, source: str | None = None,
                      progress: ProcessingProgress | None = None,
                      actor: Actor | None = None) -> ProcessingReport:
        """Run media processors over every stored file lacking their current output."""
        from alejandria.media.processing import process_media

        return process_media(self.context, processors=None if processor is None else [processor],
                             source=source, progress=progress)

    @requires(Permission.OPERATE)
    def download_embeds(self, *, actor: Actor | None = None) -> EmbedReport:
        """Download the embedded videos that are due (yt-dlp), with their subtitles."""
        from alejandria.media.video.embeds import download_embeds

        return download_embeds(self.context)

    @requires(Permission.OPERATE)
    def verify_media(self, progress: Callable[[int, int], None] | None = None, *,
                     actor: Actor | None = None) -> VerifyReport:
        """Re-hash every stored file; the report lists missing and corrupt ones."""
        from alejandria.media.verify import verify_media

        return verify_media(self.engine, self.media, progress)

    @requires(Permission.OPERATE)
    def dedup_media(self, *, dry_run: bool = False,
                    progress: Callable[[int, int], None] | None = None,
                    actor: Actor | None = None) -> DedupReport:
        """Re-hash the media store; merge rows of the same content, remove redundant copies,
        put misplaced files back, and report corrupt or missing ones."""
        from alejandria.media.dedup import dedup_media

        return dedup_media(self.engine, self.media, self.settings, dry_run=dry_run,
                           progress=progress)

    @requires(Permission.OPERATE)
    def migrate_media(self, to: str, *, source: str | None = None, verify: bool = False,
                      workers: int = 4, progress: Callable[[int, int], None] | None = None,
                      actor: Actor | None = None) -> MigrateReport:
        """Copy every stored file to the media store at ``to`` (from this archive's store, or
        ``source``), resumable and verified; switch ``ALEJANDRIA_MEDIA_URL`` afterwards."""
        from alejandria.context import open_media_store
        from alejandria.media.migrate import migrate_media

        settings, plugins = self.settings, self.context.plugins
        origin = self.media if source is None else open_media_store(settings, plugins, source)
        target = open_media_store(settings, plugins, to)
        return migrate_media(self.engine, origin, target,
                             derived_dir=settings.data_dir / "derived", verify=verify,
                             workers=workers, progress=progress)

    # -- backups, restores, exports, imports ------------------------------------------------

    @requires(Permission.OPERATE)
    def backup(self, *, to: Path | None = None, policy: Policy | None = None,
               prune: bool = True, progress: BackupProgress | None = None,
               actor: Actor | None = None) -> BackupReport:
        """A consistent database dump and the media files the backup location ``to``
        (default: ``ALEJANDRIA_BACKUP_DIR``) lacks, then the retention ``policy`` (default:
        the settings') unless ``prune`` is False (docs/backup.md)."""
        from alejandria.backup.create import create_backup

        if progress is None:
            return create_backup(self.context, to=to, policy=policy, prune_after=prune)
        return create_backup(self.context, to=to, policy=policy, prune_after=prune,
                             progress=progress)

    @requires(Permission.OPERATE)
    def verify_backup(self, backup: Path | None = None, *,
                      progress: BackupProgress | None = None,
                      actor: Actor | None = None) -> BackupVerifyReport:
        """Restore ``backup``'s dump (a backup folder, or a location: its newest; default the
        newest in the backup location) into a scratch database and hash every blob."""
        from alejandria.backup.verify import verify_backup

        where = backup or self.settings.backup_location
        embedded = self.database.embedded is not None
        if progress is None:
            return verify_backup(self.engine, self.settings, where, embedded=embedded)
        return verify_backup(self.engine, self.settings, where, embedded=embedded,
                             progress=progress)

    @requires(Permission.OPERATE)
    def restore(self, backup: Path, *, force: bool = False,
                progress: BackupProgress | None = None,
                actor: Actor | None = None) -> RestoreReport:
        """Restore ``backup`` into this archive: it must be empty unless ``force`` (then a
        safety copy of what it replaces is kept, and put back if the restore fails). Stop
        the web app, workers and beat first."""
        from alejandria.backup.restore import restore_backup

        migrations = self.plugins.migrations()
        if progress is None:
            return restore_backup(self.context, backup, force=force, migrations=migrations)
        return restore_backup(self.context, backup, force=force, migrations=migrations,
                              progress=progress)

    @requires(Permission.OPERATE)
    def export(self, folder: Path, *, link: bool = False,
               progress: Callable[[int, int], None] | None = None,
               actor: Actor | None = None) -> ExportReport:
        """Every post as JSON and HTML with its media, named for people, in ``folder``: a
        plain copy of the archive that needs no Alejandria to read (``link``: hard links)."""
        from alejandria.backup.export import export_archive

        return export_archive(self.context, folder, link=link, progress=progress)

    @requires(Permission.OPERATE)
    def import_files(self, importer: str, *targets: str | os.PathLike[str],
                     options: JsonDict | None = None, dry_run: bool = False,
                     progress: ProgressCallback | None = None, actor: Actor | None = None,
                     client: str | None = None) -> ImportReport:
        """Import an existing archive with the importer ``importer`` (``legacy``: the old
        system's JSON files; ``gallery-dl``: a gallery-dl tree) through the sync pipeline,
        with a validation report per creator (docs/import.md); ``dry_run`` writes nothing."""
        from alejandria.imports.service import run_import
        from alejandria.storage.audit import Trigger

        return run_import(self.context, importer, list(targets), options=options,
                          dry_run=dry_run, progress=progress, actor=actor,
                          trigger=Trigger(actor, client))

    @requires(Permission.OPERATE)
    def collect_garbage(self, *, grace: timedelta = timedelta(days=7),
                        dry_run: bool = False, actor: Actor | None = None,
                        client: str | None = None) -> GcReport:
        """Remove files no post references, once they are older than ``grace`` (audited,
        unless a dry run)."""
        from alejandria.media.gc import collect_garbage
        from alejandria.storage.audit import Trigger

        return collect_garbage(self.engine, self.media, self.settings, grace=grace,
                               dry_run=dry_run, trigger=Trigger(actor, client))

    @requires(Permission.OPERATE)
    def subscriptions(self, *, actor: Actor | None = None) -> list[dict[str, Any]]:
        """What the daily sync refreshes: every (source, targets, options) synced before."""
        from alejandria.sync import subscriptions

        return subscriptions.subscriptions(self.engine)

    @requires(Permission.OPERATE)
    def submit(self, job_type: str, kwargs: dict[str, Any] | None = None, *,
               priority: int = 5, actor: Actor | None = None, client: str | None = None) -> int:
        """Queue a job (``sync``, ``process_media``, ...) on the broker, or run it here when
        none is configured; returns the job id. Audited (type, id, a sync's targets)."""
        from alejandria.queue.submit import submit
        from alejandria.storage.audit import Trigger

        return submit(self.context, job_type, kwargs, priority=priority,
                      trigger=Trigger(actor, client))

    @requires(Permission.OPERATE)
    def submit_many(self, job_type: str, many_kwargs: Sequence[dict[str, Any]], *,
                    priority: int = 5, actor: Actor | None = None,
                    client: str | None = None) -> list[int]:
        """Queue many jobs of one type with one statement and one broker connection; their
        ids, in order. One audit row for all of them."""
        from alejandria.queue.submit import submit_many
        from alejandria.storage.audit import Trigger

        return submit_many(self.context, job_type, many_kwargs, priority=priority,
                           trigger=Trigger(actor, client))

    @requires(Permission.OPERATE)
    def cancel_job(self, job_id: int, *, actor: Actor | None = None) -> bool:
        """Cancel a job that has not finished; False when there was none to cancel."""
        return self.jobs.cancel(job_id)

    @requires(Permission.READ)
    def transcript(self, media_id: int, *, actor: Actor | None = None) -> list[TranscriptSegment]:
        """The newest complete transcript of a media file, corrections applied (empty: none
        yet); ``NotFound`` when there is no such media file."""
        from alejandria.storage.transcripts import TranscriptStore

        store = TranscriptStore(self.engine)
        segments = store.segments(media_id)
        if not segments and not store.media_exists(media_id):
            raise NotFound(f"no media file {media_id}; the ids are in search results "
                           "(search --json) and media transcript lists only those")
        return segments

    @requires(Permission.OPERATE)
    def retry_job(self, job_id: int, *, actor: Actor | None = None,
                  client: str | None = None) -> None:
        """Run a failed or cancelled job again (a new task, the same ``jobs`` row); any other
        job is refused with its status. Audited."""
        from alejandria.queue.submit import retry
        from alejandria.storage.audit import Trigger

        retry(self.context, job_id, only_ended_badly=True, trigger=Trigger(actor, client))

    @requires(Permission.OPERATE)
    def retry_failed_jobs(self, *, job_type: str | None = None, actor: Actor | None = None,
                          client: str | None = None) -> list[int]:
        """Run every failed job (of ``job_type``, when given) again, oldest first; the ids
        retried. Each retry is audited like ``retry_job``."""
        from alejandria.queue.submit import retry_failed
        from alejandria.storage.audit import Trigger

        return retry_failed(self.context, job_type=job_type, trigger=Trigger(actor, client))

    # -- source credentials -----------------------------------------------------------------

    @requires(Permission.OPERATE)
    def credentials(self, *, actor: Actor | None = None) -> list[StoredCredential]:
        """Which accounts of which sources have stored secrets (field names, never values)."""
        from alejandria.storage.credentials import CredentialStore

        return CredentialStore(self.engine, self.settings.data_dir).list()

    @requires(Permission.OPERATE)
    def sources_overview(self, *, actor: Actor | None = None) -> list[dict[str, Any]]:
        """Each source: needs credentials and has them, counts, last sync, recent errors."""
        from alejandria.ops.sources import source_overview

        return source_overview(self.context)

    @requires(Permission.OPERATE)
    def set_credentials(self, source: str, secrets: JsonDict, *, account: str = "default",
                        actor: Actor | None = None, client: str | None = None) -> None:
        """Store (replace) the secrets of one account at ``source``, encrypted. Audited by
        source, account and field names, never the values."""
        from alejandria.storage.audit import Trigger
        from alejandria.storage.credentials import CredentialStore

        CredentialStore(self.engine, self.settings.data_dir).set(
            source, secrets, account=account, trigger=Trigger(actor, client))

    @requires(Permission.OPERATE)
    def delete_credentials(self, source: str, *, account: str = "default",
                           actor: Actor | None = None, client: str | None = None) -> bool:
        """Forget the secrets of one account at ``source``; False when there were none.
        Audited."""
        from alejandria.storage.audit import Trigger
        from alejandria.storage.credentials import CredentialStore

        return CredentialStore(self.engine, self.settings.data_dir).delete(
            source, account=account, trigger=Trigger(actor, client))

    @requires(Permission.OPERATE)
    @contextmanager
    def recorded_job(self, job_type: str, payload: dict[str, Any], *,
                     priority: int = 5, actor: Actor | None = None) -> Iterator[RecordedJob]:
        """Record work done here, in this process, as a job (``jobs list`` shows it)."""
        from alejandria.queue.recorded import recorded_job

        with recorded_job(self.context, job_type, payload, priority=priority) as job:
            yield job

    @requires(Permission.READ)
    def search(self, query: str, *, mode: str = "auto", source: str | None = None,
               creator: str | None = None, collection: str | None = None,
               published_after: datetime | None = None,
               published_before: datetime | None = None, media_kind: str | None = None,
               limit: int = 20, offset: int = 0, actor: Actor | None = None,
               in_list: str | None = None, status: str | None = None,
               has_note: bool | None = None,
               highlighted: bool | None = None) -> list[SearchHit]:
        """Posts matching ``query``, best first; any string is a valid query. The acting
        user's own filters (``in_list``, ``status``, ``has_note``, ``highlighted``) need
        ``actor``."""
        from alejandria.models import MediaKind, SearchQuery

        request = SearchQuery(text=query, mode=mode, source=source, creator=creator,
                              collection=collection, published_after=published_after,
                              published_before=published_before,
                              media_kind=MediaKind(media_kind) if media_kind else None,
                              limit=limit, offset=offset, actor=actor, in_list=in_list,
                              status=status, has_note=has_note, highlighted=highlighted)
        return self.run_search(request)

    @declares(Permission.READ)
    def run_search(self, request: SearchQuery) -> list[SearchHit]:
        """Answer ``request`` with the backend its mode picks, through the cache if any
        (``request.actor`` is checked)."""
        from alejandria.accounts.roles import require
        from alejandria.search import service as search_service

        require(request.actor, Permission.READ)

        return search_service.search(self.context, request)

    def search_context(self) -> SearchContext:
        """What search backends are built with (benchmarks build backends directly)."""
        from alejandria.search import service as search_service

        return search_service.search_context(self.context)

    @requires(Permission.OPERATE)
    def content_changed(self, *, actor: Actor | None = None) -> None:
        """What searches can find changed: cached results are stale."""
        self.context.content_changed()

    @requires(Permission.READ)
    def embed_status(self, *, actor: Actor | None = None) -> dict[str, object]:
        """The configured embedder, the model serving searches, and what is left to embed."""
        from alejandria.search import service as search_service

        return search_service.embed_status(self.context)

    @requires(Permission.OPERATE)
    def embed_backfill(self, *, progress: Callable[[int, int], None] | None = None,
                       batch_size: int | None = None,
                       actor: Actor | None = None) -> BackfillReport:
        """Embed every chunk and transcript lacking a vector for the configured model."""
        from alejandria.search import service as search_service

        return search_service.embed_backfill(self.context, progress=progress,
                                             batch_size=batch_size)

    @requires(Permission.READ)
    def stats(self, *, actor: Actor | None = None) -> dict[str, int]:
        with self.engine.connect() as conn:
            return self.repository.stats(conn)


def _ensure_schema(database: Database, migrations: dict[str, MigrationSpec], migrate: bool, *,
                   forced: bool) -> None:
    """Migrate (``migrate``) or check the schema. The stamp of the last upgrade answers for
    Alembic in one query when the scripts have not changed (``storage.schema_stamp``);
    ``forced`` (``migrate=True`` given, as ``db upgrade`` does) always runs the upgrade."""
    from alejandria.storage.schema_stamp import fingerprint, is_stamped

    if not forced and is_stamped(database.engine, fingerprint(migrations.values())):
        return
    from alejandria.storage.migrate import is_up_to_date, upgrade

    if migrate:
        upgrade(database.engine, migrations)
    elif not is_up_to_date(database.engine, migrations):
        raise DatabaseUnavailable(
            f"the database schema at {database.description} is not up to date: "
            "run 'alejandria db upgrade'"
        )

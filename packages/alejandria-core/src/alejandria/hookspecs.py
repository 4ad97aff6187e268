'''The hooks a plugin can implement. One place, typed, each with a complete example plugin.

A plugin is a module of ``@hookimpl`` functions named by an entry point in the ``alejandria``
group::

    [project.entry-points.alejandria]
    myplugin = "my_package.plugin"

Registration hooks (``register_*``) return a list of spec objects. They are called once when
the archive opens (and again only if the set of plugins changes); names must be unique across
plugins (a duplicate is a start-up error naming both plugins). Event hooks (``post_stored``,
``media_stored``, ``sync_finished``) are called for each plugin separately: one that raises is
logged and the others still run.

A package with extension points of its own (the web app) declares them with
``PluginManager.add_hookspecs`` and calls them through ``PluginManager.hook``.
'''

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from alejandria.api import Archive
    from alejandria.models import PostIn, StoredMedia, SyncReport
    from alejandria.plugin_types import (
        EmbedderSpec,
        ExtractorSpec,
        HealthCheckSpec,
        JobTypeSpec,
        MediaStoreSpec,
        MigrationSpec,
        ProcessorSpec,
        SearchBackendSpec,
        SettingsSpec,
        SourceSpec,
        TranscriberSpec,
    )

PROJECT_NAME = "alejandria"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_sources() -> list[SourceSpec]:
    """Add sources: things ``alejandria sync NAME TARGET...`` can archive.

    Example — a source that archives text files, one post each::

        from collections.abc import Iterator, Sequence
        from pathlib import Path

        from alejandria import hookimpl
        from alejandria.models import Checkpoint, CreatorIn, PostIn, SyncItem, SyncTarget
        from alejandria.plugin_types import BaseSource, SourceContext, SourceSpec


        class TextFilesSource(BaseSource):
            def __init__(self, context: SourceContext) -> None:
                self.context = context

            def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
                for target in targets:
                    for path in sorted(Path(target).rglob("*.txt")):
                        yield SyncTarget(scope=str(path), label=path.name, locator=str(path))

            def fetch(self, target: SyncTarget, cursor: dict | None) -> Iterator[SyncItem]:
                path = Path(target.locator)
                yield CreatorIn(external_id="me", name="Me")
                yield PostIn(external_id=target.scope, creator_external_id="me",
                             title=path.stem, text=path.read_text())
                yield Checkpoint(cursor={"mtime": path.stat().st_mtime})


        @hookimpl
        def register_sources() -> list[SourceSpec]:
            return [SourceSpec(name="textfiles", factory=TextFilesSource,
                               description="Plain text files")]
    """
    raise NotImplementedError


@hookspec
def register_processors() -> list[ProcessorSpec]:
    """Add media processors (probe, thumbnails, transcription, ...), picked by media kind.

    Example — record the byte size of every image::

        from alejandria import hookimpl
        from alejandria.models import Availability, MediaKind
        from alejandria.plugin_types import ProcessorSpec


        class SizeProcessor:
            def __init__(self, context):
                self.context = context

            def availability(self):
                return Availability.yes()

            def process(self, path, media):
                return {"bytes": path.stat().st_size}


        @hookimpl
        def register_processors():
            return [ProcessorSpec(name="size", accepts=frozenset({MediaKind.IMAGE}),
                                  factory=SizeProcessor)]
    """
    raise NotImplementedError


@hookspec
def register_search_backends() -> list[SearchBackendSpec]:
    """Add search backends; ``alejandria search --mode NAME`` picks one by name.

    Example — a backend that finds posts whose title starts with the query::

        from sqlalchemy import select

        from alejandria import hookimpl
        from alejandria.storage.schema import creators, posts
        from alejandria.models import Availability, SearchHit
        from alejandria.plugin_types import SearchBackendSpec


        class TitlePrefix:
            def __init__(self, context):
                self.engine = context.engine

            def availability(self):
                return Availability.yes()

            def search(self, query):
                stmt = (select(posts.c.id, posts.c.source, creators.c.name, posts.c.title)
                        .join(creators, creators.c.id == posts.c.creator_id)
                        .where(posts.c.title.istartswith(query.text, autoescape=True))
                        .limit(query.limit))
                with self.engine.connect() as conn:
                    return [SearchHit(post_id=r.id, source=r.source, creator=r.name,
                                      title=r.title, snippet=r.title, score=1.0, mode="prefix")
                            for r in conn.execute(stmt)]


        @hookimpl
        def register_search_backends():
            return [SearchBackendSpec(name="prefix", factory=TitlePrefix)]
    """
    raise NotImplementedError


@hookspec
def register_embedders() -> list[EmbedderSpec]:
    """Add text embedders for semantic search (an API client, a local model).

    Example — a toy embedder counting vowels (real ones wrap a model)::

        from alejandria import hookimpl
        from alejandria.models import Availability
        from alejandria.plugin_types import EmbedderSpec


        class Vowels:
            model_name = "vowels-v1"
            dimensions = 5

            def __init__(self, settings):
                self.settings = settings

            def availability(self):
                return Availability.yes()

            def embed(self, texts):
                return [[1.0 + t.lower().count(v) for v in "aeiou"] for t in texts]

            def embed_query(self, text):
                return self.embed([text])[0]


        @hookimpl
        def register_embedders():
            return [EmbedderSpec(name="vowels", factory=Vowels, dimensions=5)]
    """
    raise NotImplementedError


@hookspec
def register_transcribers() -> list[TranscriberSpec]:
    """Add speech-to-text engines (local Whisper, an OpenAI-compatible API).

    The engine gets one window of the stored audio at a time (a 16 kHz mono WAV ffmpeg cut, or
    the file itself when it fits in one window).

    Example — an engine that hears only loud seconds (a stand-in for a speech model)::

        import array
        import wave

        from alejandria import hookimpl
        from alejandria.models import Availability
        from alejandria.plugin_types import Transcript, TranscriberSpec, TranscriptSegment


        class Loudness:
            model_name = "loudness"
            model_version = "1"

            def __init__(self, settings):
                self.settings = settings

            def availability(self):
                return Availability.yes()

            def transcribe(self, path, language=None):
                segments = []
                with wave.open(str(path)) as audio:
                    rate, second = audio.getframerate(), 0
                    while frames := audio.readframes(rate):
                        if max(map(abs, array.array("h", frames)), default=0) > 4000:
                            segments.append(TranscriptSegment(
                                start_s=second, end_s=second + 1, text="a loud noise"))
                        second += 1
                return Transcript(language=language or "en", segments=tuple(segments))


        @hookimpl
        def register_transcribers():
            return [TranscriberSpec(name="loudness", factory=Loudness)]
    """
    raise NotImplementedError


@hookspec
def register_migrations() -> list[MigrationSpec]:
    """Add Alembic version directories so a plugin can own tables.

    Each directory is its own history with its own version table (``alembic_version_NAME``):
    its first revision sets ``down_revision = None``. Core's migrations run first, so a
    plugin's tables may reference core's; disabling the plugin later leaves its tables unused.

    Example::

        from pathlib import Path

        from alejandria import hookimpl
        from alejandria.plugin_types import MigrationSpec


        @hookimpl
        def register_migrations():
            return [MigrationSpec(name="myplugin", path=Path(__file__).parent / "migrations")]
    """
    raise NotImplementedError


@hookspec
def register_settings() -> list[SettingsSpec]:
    """Add a plugin's own typed settings, read once from ``ALEJANDRIA_<NAME>_<FIELD>``.

    Core reads them when the archive opens (a bad value is a start-up error naming the
    variable); a source gets them, with the sync's ``-o`` options validated on top, from
    ``SourceContext.settings_for(Model)``.

    Example — a source whose page size is a setting (``ALEJANDRIA_PAGED_PAGE_SIZE=50``)::

        from alejandria import hookimpl
        from alejandria.plugin_types import PluginSettings, SettingsSpec


        class PagedSettings(PluginSettings):
            page_size: int = 20
            verbose: bool = False


        @hookimpl
        def register_settings():
            return [SettingsSpec(name="paged", model=PagedSettings)]


        # in the source: context.settings_for(PagedSettings).page_size
    """
    raise NotImplementedError


@hookspec
def register_extractors() -> list[ExtractorSpec]:
    """Add text extraction for media types, so documents any source stores become searchable.

    Core's ``extract`` processor runs the extractor registered for a stored file's MIME type
    and indexes its passages as part of every post that holds the file (with their page):
    a PDF attached to a Patreon post is found by its contents.

    Example — plain text attachments::

        from alejandria import hookimpl
        from alejandria.models import Availability, ChunkIn
        from alejandria.plugin_types import ExtractorSpec


        class PlainText:
            def __init__(self, settings):
                self.settings = settings

            def availability(self):
                return Availability.yes()

            def extract(self, path, media):
                text = path.read_text(errors="replace")
                return [ChunkIn(text=part) for part in text.split("\\n\\n") if part.strip()]


        @hookimpl
        def register_extractors():
            return [ExtractorSpec(name="plain-text", mime_types=frozenset({"text/plain"}),
                                  factory=PlainText)]
    """
    raise NotImplementedError


@hookspec
def register_job_types() -> list[JobTypeSpec]:
    """Add kinds of jobs: ``Archive.submit(NAME, kwargs)`` runs them on a worker's queue (or
    inline without a broker), retried with backoff and mirrored in ``alejandria jobs``.

    A job's function gets the archive's ``ArchiveContext`` (settings, engine, plugins, stores)
    and its JSON keyword arguments, reports ``progress(done, total)`` and returns JSON. It must
    be idempotent: a job whose worker died runs again.

    Example — count the posts of one source::

        from sqlalchemy import func, select

        from alejandria import hookimpl
        from alejandria.plugin_types import JobTypeSpec
        from alejandria.storage.schema import posts


        def count_posts(context, *, source, progress):
            with context.engine.connect() as conn:
                total = conn.execute(select(func.count()).select_from(posts)
                                     .where(posts.c.source == source)).scalar_one()
            progress(1, 1)
            return {"source": source, "posts": total}


        @hookimpl
        def register_job_types():
            return [JobTypeSpec(name="count_posts", function=count_posts, queue="search")]
    """
    raise NotImplementedError


@hookspec
def register_health_checks() -> list[HealthCheckSpec]:
    """Add health checks to ``alejandria doctor`` (and the web app's health page).

    A check gets a ``HealthContext`` (settings, plugins, and the database engine, None when it
    cannot be opened) and returns ``HealthResult`` lines: ``ok``, ``warn`` or ``fail``, each
    saying what to do. A check that raises is shown as failed, naming its plugin.

    Example — warn when an API key is missing::

        import os

        from alejandria import hookimpl
        from alejandria.plugin_types import HealthCheckSpec, HealthResult


        def api_key(context):
            if os.environ.get("ACME_API_KEY"):
                return [HealthResult("acme", "ok", "API key set")]
            return [HealthResult("acme", "warn", "set ACME_API_KEY to sync Acme")]


        @hookimpl
        def register_health_checks():
            return [HealthCheckSpec(name="acme", check=api_key)]
    """
    raise NotImplementedError


@hookspec
def register_media_stores() -> list[MediaStoreSpec]:
    """Add a media store backend: where media files and thumbnails are kept, for the URLs of
    one scheme (``ALEJANDRIA_MEDIA_URL=NAME://...``). Core registers ``file`` (a folder, the
    default) and ``s3`` (S3-compatible object storage).

    The factory gets a ``MediaStoreContext`` (the URL, settings and size limits) and returns
    a ``BlobStore``: content-addressed ``put_*`` (hash while streaming, visible only complete,
    never overwriting), ranged reads, a local path for tools, derived files, listing for
    ``media gc`` and ``check`` for ``alejandria doctor``. The contract tests in
    ``alejandria.testing.store_contract`` check a backend.

    Example — keep media in a folder named by the URL (``folder:///srv/media``)::

        from dataclasses import replace
        from urllib.parse import unquote, urlsplit

        from alejandria import hookimpl
        from alejandria.plugin_types import MediaStoreSpec


        def folder_store(context):
            # the folder the URL names, kept by core's own file backend
            folder = unquote(urlsplit(context.url).path)
            file_backend = context.plugins.media_stores()["file"]
            return file_backend.factory(replace(context, url=folder))


        @hookimpl
        def register_media_stores():
            return [MediaStoreSpec(name="folder", factory=folder_store,
                                   description="media in a folder")]
    """
    raise NotImplementedError


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add CLI subcommands to the ``alejandria`` command group.

    Example::

        import click

        from alejandria import hookimpl


        @hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                "Say hello."
                click.echo("hello")
    """


@hookspec
def startup(archive: Archive) -> None:
    """Called once when an ``Archive`` opens (after migrations). Failures are logged.

    Example::

        @hookimpl
        def startup(archive):
            archive.settings.media_dir.mkdir(parents=True, exist_ok=True)
    """


@hookspec
def shutdown(archive: Archive) -> None:
    """Called once when an ``Archive`` closes. Failures are logged.

    Example::

        @hookimpl
        def shutdown(archive):
            print("bye")
    """


@hookspec
def post_stored(archive: Archive, post_id: int, post: PostIn, created: bool) -> None:
    """Event: a post was inserted (``created``) or changed, after its transaction committed.

    Example — log new posts::

        import logging

        @hookimpl
        def post_stored(archive, post_id, post, created):
            if created:
                logging.getLogger("myplugin").info("new post %s: %s", post_id, post.title)
    """


@hookspec
def media_stored(archive: Archive, media: StoredMedia) -> None:
    """Event: a new file entered the media store (not called for deduplicated bytes).

    Example::

        @hookimpl
        def media_stored(archive, media):
            print(media.sha256, media.size)
    """


@hookspec
def sync_finished(archive: Archive, report: SyncReport) -> None:
    """Event: a sync finished (successfully or not); ``report`` says what it did.

    Example — notify on failures::

        @hookimpl
        def sync_finished(archive, report):
            if not report.ok:
                print(f"{report.source}: {len(report.errors)} failed")
    """

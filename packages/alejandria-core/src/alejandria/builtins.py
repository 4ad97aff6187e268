"""Core's built-in plugin, registered through the same hooks as any third-party plugin, and the
plugin manager that starts with it.

Each hook imports what it registers only when called, so ``alejandria --help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from alejandria.hookspecs import hookimpl
from alejandria.models import JsonDict, MediaKind
from alejandria.plugin_types import (
    BlobStore,
    EmbedderSpec,
    HealthCheckSpec,
    JobTypeSpec,
    MediaStoreContext,
    MediaStoreSpec,
    MigrationSpec,
    ProcessorSpec,
    SearchBackendSpec,
    SourceSpec,
    TranscriberSpec,
)
from alejandria.plugins import PluginManager

BUILTIN_PLUGIN = "core"


def build_plugin_manager(*, load_entrypoints: bool = True, disabled: Iterable[str] = (),
                         only: Sequence[str] | None = None,
                         extra: Iterable[tuple[str, object]] = ()) -> PluginManager:
    """A fresh manager with core's built-ins, then installed plugins (unless told not to)."""
    manager = PluginManager()
    manager.register(sys.modules[__name__], BUILTIN_PLUGIN, package="alejandria-core",
                     version=_core_version(), builtin=True)
    if load_entrypoints:
        manager.load_entrypoints(disabled=disabled, only=only)
    for name, plugin in extra:
        manager.register(plugin, name)
    return manager


@lru_cache(maxsize=8)
def get_plugin_manager(load_entrypoints: bool = True,
                       disabled: tuple[str, ...] = ()) -> PluginManager:
    """The process-wide manager, built on first use (never at import)."""
    return build_plugin_manager(load_entrypoints=load_entrypoints, disabled=disabled)


def _core_version() -> str | None:
    try:
        return metadata.version("alejandria-core")
    except metadata.PackageNotFoundError:
        return None


@hookimpl(trylast=True)
def register_transcribers() -> list[TranscriberSpec]:
    from alejandria.media.transcribers.faster_whisper_engine import FasterWhisperTranscriber
    from alejandria.media.transcribers.openai_api_engine import OpenAIApiTranscriber
    from alejandria.media.transcribers.openai_whisper_engine import OpenAIWhisperTranscriber

    return [
        TranscriberSpec(
            name="faster-whisper", factory=FasterWhisperTranscriber,
            description="Local Whisper on CTranslate2 (default; bundled tiny.en model)",
        ),
        TranscriberSpec(
            name="openai-api", factory=OpenAIApiTranscriber,
            description="An OpenAI-compatible transcription API (ALEJANDRIA_OPENAI_BASE_URL)",
        ),
        TranscriberSpec(
            name="openai-whisper", factory=OpenAIWhisperTranscriber,
            description="OpenAI's reference Whisper on PyTorch (the whisper extra; a local .pt)",
        ),
    ]


@hookimpl(trylast=True)
def register_processors() -> list[ProcessorSpec]:
    from alejandria.media.processors.extract import ExtractProcessor
    from alejandria.media.processors.probe import ProbeProcessor
    from alejandria.media.processors.thumbnails import ACCEPTS as THUMBNAIL_KINDS
    from alejandria.media.processors.thumbnails import ThumbnailProcessor
    from alejandria.media.processors.transcribe import ACCEPTS as SPEECH_KINDS
    from alejandria.media.processors.transcribe import TranscribeProcessor

    return [
        ProcessorSpec(
            name="probe", accepts=frozenset(MediaKind), factory=ProbeProcessor, order=0,
            description="Real type from content; size, dimensions, duration, codecs, pages",
            threadsafe=True,
        ),
        ProcessorSpec(
            name="thumbnails", accepts=THUMBNAIL_KINDS, factory=ThumbnailProcessor,
            order=10, description="150/300/600 px WebP thumbnails of images, PDFs and videos",
            threadsafe=True,
        ),
        ProcessorSpec(
            name="extract", accepts=frozenset({MediaKind.DOCUMENT}), factory=ExtractProcessor,
            order=20, description="The text of documents (PDFs, ...) any source stores, "
                                  "searchable with the posts that hold them",
        ),
        ProcessorSpec(
            name="transcribe", accepts=SPEECH_KINDS, factory=TranscribeProcessor, order=50,
            queue="transcription", description="Speech to timestamped, searchable text",
        ),
    ]


@hookimpl(trylast=True)
def register_sources() -> list[SourceSpec]:
    from alejandria.imports.specs import import_sources
    from alejandria.sync.files_source import FilesSource

    return [
        SourceSpec(
            name="files", factory=FilesSource,
            description="Media files you already have: one post per file, folder as collection",
        ),
        *import_sources(),
    ]


@hookimpl(trylast=True)
def register_search_backends() -> list[SearchBackendSpec]:
    from alejandria.search.fulltext import FullTextBackend
    from alejandria.search.hybrid import HybridBackend
    from alejandria.search.semantic import SemanticBackend
    from alejandria.search.transcripts import TranscriptsBackend

    return [
        SearchBackendSpec(
            name="fulltext", factory=FullTextBackend,
            description="Weighted, accent-insensitive Postgres full-text search",
        ),
        SearchBackendSpec(
            name="transcripts", factory=TranscriptsBackend,
            description="Words spoken in audio and video, with the time they were said",
        ),
        SearchBackendSpec(
            name="semantic", factory=SemanticBackend,
            description="Meaning, not words: pgvector HNSW over post and transcript embeddings",
        ),
        SearchBackendSpec(
            name="hybrid", factory=HybridBackend,
            description="Full-text, semantic and transcripts fused by reciprocal rank fusion",
        ),
    ]


@hookimpl(trylast=True)
def register_embedders() -> list[EmbedderSpec]:
    from alejandria.search.embedding.local_models import E5SmallEmbedder, UseMultilingualEmbedder
    from alejandria.search.embedding.openai_api import OpenAIApiEmbedder

    return [
        EmbedderSpec(
            name="e5-small", factory=E5SmallEmbedder, dimensions=384,
            description="multilingual-e5-small, 4-bit, offline on the CPU",
        ),
        EmbedderSpec(
            name="use-multilingual", factory=UseMultilingualEmbedder, dimensions=512,
            description="Universal Sentence Encoder multilingual v3, offline, pure numpy "
                        "(default)",
        ),
        EmbedderSpec(
            name="openai-api", factory=OpenAIApiEmbedder,
            description="An OpenAI-compatible embeddings API (ALEJANDRIA_OPENAI_BASE_URL)",
        ),
    ]


@hookimpl(trylast=True)
def register_job_types() -> list[JobTypeSpec]:
    return [
        JobTypeSpec(name="sync", function=_sync, queue="sources",
                    description="Sync a source's targets"),
        JobTypeSpec(name="daily_sync", function=_daily_sync, queue="sources",
                    description="Queue a sync of everything synced before"),
        JobTypeSpec(name="process_media", function=_process_media, queue="media",
                    description="Run media processors over files lacking their output"),
        JobTypeSpec(name="download_embeds", function=_download_embeds,
                    queue="media", description="Download the embedded videos that are due"),
        JobTypeSpec(name="embed", function=_embed, queue="search",
                    description="Embed whatever lacks vectors for semantic search"),
        JobTypeSpec(name="cleanup", function=_cleanup, queue="sources",
                    description="Delete old jobs, send lost ones again, collect media garbage"),
        JobTypeSpec(name="backup", function=_backup, queue="sources",
                    description="Back the archive up (ALEJANDRIA_BACKUP_DIR), then prune"),
        JobTypeSpec(name="noop", function=_noop, queue="sources",
                    description="Does nothing (measures the queue's overhead)"),
    ]


# The job functions, each imported when a job of its type first runs: every command registers
# the job types, and importing the modules they live in would bring Celery, the sync pipeline
# and the media tools into every ``search`` and ``stats``.


def _sync(context: Any, **kwargs: Any) -> JsonDict:
    from alejandria.sync import jobs

    return jobs.sync(context, **kwargs)


def _daily_sync(context: Any, **kwargs: Any) -> JsonDict:
    from alejandria.sync import jobs

    return jobs.daily_sync(context, **kwargs)


def _process_media(context: Any, **kwargs: Any) -> JsonDict:
    from alejandria.media import jobs

    return jobs.process_media(context, **kwargs)


def _download_embeds(context: Any, **kwargs: Any) -> JsonDict:
    from alejandria.media import jobs

    return jobs.download_embeds(context, **kwargs)


def _embed(context: Any, **kwargs: Any) -> JsonDict:
    from alejandria.search import jobs

    return jobs.embed(context, **kwargs)


def _cleanup(context: Any, **kwargs: Any) -> JsonDict:
    from alejandria.ops import jobs

    return jobs.cleanup(context, **kwargs)


def _backup(context: Any, **kwargs: Any) -> JsonDict:
    from alejandria.backup import jobs

    return jobs.backup(context, **kwargs)


def _noop(context: Any, **kwargs: Any) -> JsonDict:
    from alejandria.ops import jobs

    return jobs.noop(context, **kwargs)


@hookimpl(trylast=True)
def register_health_checks() -> list[HealthCheckSpec]:
    from alejandria.ops import checks

    return [
        HealthCheckSpec(name="data dir", check=checks.data_dir,
                        description="The data dir exists, is writable and has room"),
        HealthCheckSpec(name="media store", check=checks.media_store,
                        description="The media store (a folder, or an S3 bucket) answers"),
        HealthCheckSpec(name="plugins", check=checks.plugins,
                        description="Every plugin loaded; sources and search backends"),
        HealthCheckSpec(name="media tools", check=checks.media_tools,
                        description="The transcriber and video downloader can run here"),
        HealthCheckSpec(name="database", check=checks.database,
                        description="Postgres version, schema up to date, pgvector"),
        HealthCheckSpec(name="queue", check=checks.queue,
                        description="The broker answers and workers listen"),
    ]


def _file_store(context: MediaStoreContext) -> BlobStore:
    from urllib.parse import unquote, urlsplit

    from alejandria.storage.media_store import MediaStore

    url = context.url
    root = Path(unquote(urlsplit(url).path)) if url.startswith("file://") else Path(url)
    return MediaStore(root.expanduser(), max_file_bytes=context.max_file_bytes,
                      min_free_bytes=context.min_free_bytes,
                      derived_root=context.settings.data_dir / "derived")


def _s3_store(context: MediaStoreContext) -> BlobStore:
    from alejandria.storage.s3_store import S3MediaStore

    return S3MediaStore.from_context(context)


@hookimpl(trylast=True)
def register_media_stores() -> list[MediaStoreSpec]:
    return [
        MediaStoreSpec(name="file", factory=_file_store,
                       description="A folder of this machine (the default: <data_dir>/media)"),
        MediaStoreSpec(name="s3", factory=_s3_store,
                       description="S3-compatible object storage: s3://bucket/prefix "
                                   "(needs alejandria-core[s3])"),
    ]


@hookimpl(trylast=True)
def register_migrations() -> list[MigrationSpec]:
    return [MigrationSpec(name="core",
                          path=Path(__file__).parent / "storage/migrations/versions")]

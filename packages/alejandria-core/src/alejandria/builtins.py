"""Core's built-in plugin: registered through the same hooks as any third-party plugin."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alejandria.hookspecs import hookimpl
from alejandria.models import MediaKind, SyncReport
from alejandria.plugin_types import (
    EmbedderSpec,
    MigrationSpec,
    ProcessorSpec,
    SearchBackendSpec,
    SourceSpec,
    TranscriberSpec,
)

if TYPE_CHECKING:
    from alejandria.api import Archive


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
    from alejandria.media.processors.probe import ProbeProcessor
    from alejandria.media.processors.thumbnails import ACCEPTS as THUMBNAIL_KINDS
    from alejandria.media.processors.thumbnails import ThumbnailProcessor
    from alejandria.media.processors.transcribe import ACCEPTS as SPEECH_KINDS
    from alejandria.media.processors.transcribe import TranscribeProcessor

    return [
        ProcessorSpec(
            name="probe", accepts=frozenset(MediaKind), factory=ProbeProcessor, order=0,
            description="Real type from content; size, dimensions, duration, codecs, pages",
        ),
        ProcessorSpec(
            name="thumbnails", accepts=THUMBNAIL_KINDS, factory=ThumbnailProcessor,
            order=10, description="150/300/600 px WebP thumbnails of images, PDFs and videos",
        ),
        ProcessorSpec(
            name="transcribe", accepts=SPEECH_KINDS, factory=TranscribeProcessor, order=50,
            queue="transcription", description="Speech to timestamped, searchable text",
        ),
    ]


@hookimpl(trylast=True)
def register_sources() -> list[SourceSpec]:
    from alejandria.sync.files_source import FilesSource

    return [
        SourceSpec(
            name="files", factory=FilesSource, capabilities=frozenset({"files"}),
            description="Media files you already have: one post per file, folder as collection",
        )
    ]


@hookimpl(trylast=True)
def register_search_backends() -> list[SearchBackendSpec]:
    from alejandria.search.fulltext import FullTextBackend
    from alejandria.search.hybrid import HybridBackend
    from alejandria.search.semantic import SemanticBackend
    from alejandria.search.transcripts import TranscriptsBackend

    return [
        SearchBackendSpec(
            name="fulltext", kind="fulltext", factory=FullTextBackend,
            description="Weighted, accent-insensitive Postgres full-text search",
        ),
        SearchBackendSpec(
            name="transcripts", kind="transcripts", factory=TranscriptsBackend,
            description="Words spoken in audio and video, with the time they were said",
        ),
        SearchBackendSpec(
            name="semantic", kind="semantic", factory=SemanticBackend,
            description="Meaning, not words: pgvector HNSW over post and transcript embeddings",
        ),
        SearchBackendSpec(
            name="hybrid", kind="hybrid", factory=HybridBackend,
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
def sync_finished(archive: Archive, report: SyncReport) -> None:
    from alejandria.sync.after import after_sync

    after_sync(archive, report)


@hookimpl(trylast=True)
def register_migrations() -> list[MigrationSpec]:
    return [MigrationSpec(name="core", path=Path(__file__).parent / "storage/migrations/versions")]

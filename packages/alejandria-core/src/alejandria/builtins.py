"""Core's built-in plugin: registered through the same hooks as any third-party plugin."""

from __future__ import annotations

from pathlib import Path

from alejandria.hookspecs import hookimpl
from alejandria.models import MediaKind
from alejandria.plugin_types import (
    MigrationSpec,
    ProcessorSpec,
    SearchBackendSpec,
    SourceSpec,
    TranscriberSpec,
)


@hookimpl(trylast=True)
def register_transcribers() -> list[TranscriberSpec]:
    from alejandria.transcribers.faster_whisper_engine import FasterWhisperTranscriber
    from alejandria.transcribers.openai_api_engine import OpenAIApiTranscriber

    return [
        TranscriberSpec(
            name="faster-whisper", factory=FasterWhisperTranscriber,
            description="Local Whisper on CTranslate2 (default; bundled tiny.en model)",
        ),
        TranscriberSpec(
            name="openai-api", factory=OpenAIApiTranscriber,
            description="An OpenAI-compatible transcription API (ALEJANDRIA_OPENAI_BASE_URL)",
        ),
    ]


@hookimpl(trylast=True)
def register_processors() -> list[ProcessorSpec]:
    from alejandria.processors.probe import ProbeProcessor
    from alejandria.processors.thumbnails import ACCEPTS as THUMBNAIL_KINDS
    from alejandria.processors.thumbnails import ThumbnailProcessor
    from alejandria.processors.transcribe import ACCEPTS as SPEECH_KINDS
    from alejandria.processors.transcribe import TranscribeProcessor

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
    from alejandria.sources.files import FilesSource

    return [
        SourceSpec(
            name="files", factory=FilesSource, capabilities=frozenset({"files"}),
            description="Media files you already have: one post per file, folder as collection",
        )
    ]


@hookimpl(trylast=True)
def register_search_backends() -> list[SearchBackendSpec]:
    from alejandria.search.fulltext import FullTextBackend
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
    ]


@hookimpl(trylast=True)
def register_migrations() -> list[MigrationSpec]:
    return [MigrationSpec(name="core", path=Path(__file__).parent / "db/migrations/versions")]

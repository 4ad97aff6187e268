"""The small frozen spec objects that registration hooks return, and the protocols they build.

A plugin names what it adds with a spec (``SourceSpec``, ``SearchBackendSpec``, ...); the host
picks implementations by configured name and calls the spec's ``factory`` only when that thing
is actually used, so heavy imports stay out of start-up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pydantic import BaseModel
    from sqlalchemy.engine import Engine

    from alejandria.models import (
        Availability,
        JsonDict,
        MediaIn,
        MediaKind,
        SearchHit,
        SearchQuery,
        SyncItem,
        SyncTarget,
    )
    from alejandria.plugins import PluginManager
    from alejandria.settings import Settings

SearchKind = Literal["fulltext", "semantic", "transcripts", "hybrid"]


# --- sources -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceContext:
    """What a source factory receives: settings, the user's credentials and per-sync options."""

    settings: Settings
    credentials: JsonDict | None = None
    options: JsonDict = field(default_factory=dict)


@runtime_checkable
class Source(Protocol):
    """A fetcher: turns targets into ``SyncItem`` streams. It never touches the database."""

    def authenticate(self) -> None:
        """Check credentials; raise ``SourceAuthError`` with what to do when they are bad."""

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        """Expand user targets (paths, URLs, names) into sync units with stable scopes."""
        ...

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        """Yield creators, collections, posts and checkpoints for one target.

        ``cursor`` is the last ``Checkpoint.cursor`` committed for ``target.scope`` (or None).
        Raise ``ItemRejected`` for a target that cannot be archived; the sync goes on.
        Runs on the pipeline's read-ahead thread (one fetch at a time, targets in order),
        while ``open_media`` is called from the thread that writes (or from the pipeline's
        fetch threads, see ``BaseSource.media_concurrency``).
        """
        ...

    def open_media(self, media: MediaIn) -> contextlib.AbstractContextManager[BinaryIO]:
        """Open a stream over a media file's bytes (only called for keys not yet stored)."""
        ...


class BaseSource:
    """Convenience base: no authentication and no streamed media.

    ``media_concurrency`` (read by the pipeline from any source, 1 when absent): how many
    ``open_media`` calls may run at once, on threads of the pipeline's own. Above 1, a batch's
    new files are fetched and stored ahead while rows are written; a source says so only when
    its ``open_media`` is thread-safe (and its rate limits hold across threads).
    """

    media_concurrency: int = 1

    def authenticate(self) -> None:
        return None

    def open_media(self, media: MediaIn) -> contextlib.AbstractContextManager[BinaryIO]:
        raise NotImplementedError(f"{type(self).__name__} cannot stream media {media.key!r}")


@dataclass(frozen=True)
class SourceSpec:
    """A source: ``alejandria sync NAME TARGET...``."""

    name: str
    factory: Callable[[SourceContext], Source]
    description: str = ""
    credentials_model: type[BaseModel] | None = None
    capabilities: frozenset[str] = frozenset()
    url_patterns: tuple[str, ...] = ()
    plugin: str = ""


# --- media processors ----------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessorContext:
    """What a processor factory receives: settings, its own name and options, and the host's
    database engine and plugin manager for processors that store more than a JSON result
    (transcripts) or use other plugins (transcribers)."""

    settings: Settings
    name: str
    options: JsonDict = field(default_factory=dict)
    engine: Engine | None = None
    plugins: PluginManager | None = None

    def derived_dir(self, sha256: str) -> Path:
        """Where this processor may write files derived from the media file ``sha256``."""
        return self.settings.data_dir / "derived" / self.name / sha256[:2] / sha256[2:4] / sha256


class Processor(Protocol):
    """Derives data from one stored media file (probe, thumbnails, transcripts, ...)."""

    def availability(self) -> Availability:
        """Whether it can run here; if not, the reason names what to install."""
        ...

    def process(self, path: Path, media: JsonDict) -> JsonDict:
        """Process the file at ``path`` (``media`` holds sha256, size, mime_type, kind and what
        earlier processors found); return what was derived, as JSON.

        Raise ``MediaError`` with a readable reason for a file that must be refused.
        """
        ...


@dataclass(frozen=True)
class ProcessorSpec:
    """A media processor. ``order`` sorts processors (probe runs first, at 0); ``version``
    keys its stored results, so a new version re-processes existing files."""

    name: str
    accepts: frozenset[MediaKind]
    factory: Callable[[ProcessorContext], Processor]
    queue: str = "media"
    order: int = 100
    version: str = "1"
    description: str = ""
    plugin: str = ""


# --- search --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchContext:
    """What a search backend factory receives."""

    settings: Settings
    engine: Engine
    capabilities: frozenset[str] = frozenset()
    #: Another registered backend by name (the hybrid backend fuses others).
    backends: Callable[[str], SearchBackend] | None = None
    #: The host's plugins (embedders for the semantic backend).
    plugins: PluginManager | None = None


class SearchBackend(Protocol):
    def availability(self) -> Availability:
        """Whether this backend can run here; if not, the reason names what is missing."""
        ...

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Hits for ``query``, best first. Must accept any string without raising SQL errors."""
        ...


@dataclass(frozen=True)
class SearchBackendSpec:
    name: str
    kind: SearchKind
    factory: Callable[[SearchContext], SearchBackend]
    description: str = ""
    plugin: str = ""


# --- models (embedders, transcribers) ------------------------------------------------------


class Embedder(Protocol):
    """Turns text into vectors. ``model_name`` is stored with every vector, so it must change
    whenever the vectors would (another model, version or size)."""

    @property
    def model_name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def availability(self) -> Availability:
        """Whether this embedder can run here; if not, the reason names what is missing."""
        ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for documents (chunks, transcript windows), one per text, in order."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """The vector of a search query (asymmetric models prefix it differently)."""
        ...


@dataclass(frozen=True)
class EmbedderSpec:
    name: str
    factory: Callable[[Settings], Embedder]
    dimensions: int | None = None
    description: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class TranscriptSegment:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """What a transcriber heard: the language (ISO code) and timestamped segments."""

    language: str | None
    segments: tuple[TranscriptSegment, ...]


class Transcriber(Protocol):
    """Speech to text. ``model_name``/``model_version`` are stored with every transcript."""

    model_name: str
    model_version: str

    def availability(self) -> Availability:
        """Whether it can run here; if not, the reason names what to install."""
        ...

    def transcribe(self, path: Path, language: str | None = None) -> Transcript:
        """Transcribe an audio/video file (``language`` None: detect it)."""
        ...


@dataclass(frozen=True)
class TranscriberSpec:
    name: str
    factory: Callable[[Settings], Transcriber]
    description: str = ""
    plugin: str = ""


# --- migrations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationSpec:
    """An Alembic version directory a plugin owns (its own branch of the migration graph)."""

    name: str
    path: Path
    plugin: str = ""


AnySpec = (
    SourceSpec | ProcessorSpec | SearchBackendSpec | EmbedderSpec | TranscriberSpec | MigrationSpec
)


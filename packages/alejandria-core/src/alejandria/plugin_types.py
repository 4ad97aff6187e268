"""The small frozen spec objects that registration hooks return, and the protocols they build.

A plugin names what it adds with a spec (``SourceSpec``, ``SearchBackendSpec``, ...); the host
picks implementations by configured name and calls the spec's ``factory`` only when that thing
is actually used, so heavy imports stay out of start-up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol, TypeVar, runtime_checkable

from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from pydantic import BaseModel
    from sqlalchemy.engine import Engine

    from alejandria.models import (
        Actor,
        Availability,
        ChunkIn,
        JsonDict,
        MediaIn,
        MediaKind,
        SearchHit,
        SearchQuery,
        SyncItem,
        SyncTarget,
    )
    from alejandria.settings import Settings


class Plugins(Protocol):
    """What contexts hand to plugins of the host's registry: other plugins' specs by name
    (the semantic backend finds embedders here, the transcribe processor transcribers)."""

    def embedders(self) -> Mapping[str, EmbedderSpec]: ...

    def transcribers(self) -> Mapping[str, TranscriberSpec]: ...

    def transcriber(self, name: str) -> TranscriberSpec: ...

    def extractors(self) -> Mapping[str, ExtractorSpec]: ...

    def media_stores(self) -> Mapping[str, MediaStoreSpec]: ...


# --- settings ------------------------------------------------------------------------------


class PluginSettings(BaseSettings):
    """Base of a plugin's typed settings (``register_settings``).

    Core reads them once, when the archive opens, from ``ALEJANDRIA_<NAME>_<FIELD>``
    environment variables (``NAME`` is the ``SettingsSpec`` name), so a wrong value is a
    start-up error naming the variable. A source's ``-o key=value`` options are validated by the
    same model (``SourceContext.settings_for``): an option that is not a field is an error.
    """

    model_config = SettingsConfigDict(extra="forbid")


SettingsT = TypeVar("SettingsT", bound=PluginSettings)


@dataclass(frozen=True)
class SettingsSpec:
    """A plugin's settings model, read from ``ALEJANDRIA_<NAME>_*``."""

    name: str
    model: type[PluginSettings]
    description: str = ""
    plugin: str = ""


# --- sources -------------------------------------------------------------------------------


def stored_secret(credentials: Mapping[str, Any] | None, keys: Sequence[str],
                  fallback: Any = None) -> str | None:
    """A source's secret: the first of ``keys`` in its stored credentials (``alejandria
    credentials set``), else ``fallback`` (the environment's ``SecretStr`` setting, for
    scripts); None when neither has one. Stored values may be plain or ``SecretStr``."""
    secret: Any = None
    for key in keys:
        secret = (credentials or {}).get(key)
        if secret:
            break
    if not secret:
        secret = fallback
    if hasattr(secret, "get_secret_value"):
        secret = secret.get_secret_value()
    return str(secret) if secret else None


@dataclass(frozen=True)
class SourceContext:
    """What a source factory receives: settings, the user's credentials and per-sync options.

    ``actor`` is who asked for the sync (None: the installation itself, e.g. the daily sync);
    ``plugin_settings`` holds every plugin's settings as read when the archive opened (use
    ``settings_for``).
    """

    settings: Settings
    credentials: JsonDict | None = None
    options: JsonDict = field(default_factory=dict)
    actor: Actor | None = None
    plugin_settings: Mapping[type[PluginSettings], PluginSettings] = field(
        default_factory=dict)

    def settings_for(self, model: type[SettingsT]) -> SettingsT:
        """Your plugin's settings with this sync's ``-o`` options applied on top, validated by
        ``model`` (``ConfigurationError`` names a bad or unknown option)."""
        from alejandria.errors import ConfigurationError

        loaded = self.plugin_settings.get(model)
        if loaded is None:
            raise ConfigurationError(
                f"{model.__name__} is not registered: return a SettingsSpec for it from your "
                "plugin's register_settings hook")
        if not self.options:
            return loaded  # type: ignore[return-value]
        try:
            return model.model_validate({**loaded.model_dump(), **self.options})
        except ValueError as exc:
            title = model.__name__.removesuffix("Settings").lower() or model.__name__
            raise ConfigurationError(settings_error(title, exc, options=self.options)) from None


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
class SourceFlag:
    """A switch of ``alejandria sync NAME --FLAG``: sets the source option ``option`` to true
    (``--include-archived`` is ``-o include_archived=true``), and is listed in ``sync --help``."""

    flag: str
    option: str
    help: str = ""


@dataclass(frozen=True)
class SourceSpec:
    """A source: ``alejandria sync NAME TARGET...``."""

    name: str
    factory: Callable[[SourceContext], Source]
    description: str = ""
    credentials_model: type[BaseModel] | None = None
    #: Regular expressions of the URLs this source archives: ``alejandria sync URL`` (no
    #: source name) picks the source whose pattern matches.
    url_patterns: tuple[str, ...] = ()
    #: What ``alejandria sync NAME`` (and ``Archive.sync(NAME)``) archives when no target is
    #: given: a source that can archive "the whole account" names it here (``("library",)``);
    #: empty, a target is required.
    default_targets: tuple[str, ...] = ()
    #: Switches of its own ``sync`` takes (``--include-archived``), each a boolean option.
    flags: tuple[SourceFlag, ...] = ()
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
    plugins: Plugins | None = None

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
    keys its stored results, so a new version re-processes existing files. ``queue``: with a
    broker, processors of the ``media`` queue run right after the sync that stored the files,
    those of another queue (``transcription``) as a job on that queue, so that slow work runs
    on the workers that consume it (a GPU box) and never holds up the next sync."""

    name: str
    accepts: frozenset[MediaKind]
    factory: Callable[[ProcessorContext], Processor]
    queue: str = "media"
    order: int = 100
    version: str = "1"
    description: str = ""
    plugin: str = ""
    #: Safe to run on several files at once, in threads of one process (its work releases the
    #: GIL: Pillow, a subprocess; it shares no state between files). The first processors in
    #: ``order`` that are all thread-safe run on up to ``media_threads`` files together.
    threadsafe: bool = False


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
    plugins: Plugins | None = None


class SearchBackend(Protocol):
    def availability(self) -> Availability:
        """Whether this backend can run here; if not, the reason names what is missing."""
        ...

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Hits for ``query``, best first. Must accept any string without raising SQL errors."""
        ...


@dataclass(frozen=True)
class SearchBackendSpec:
    """A search backend: ``alejandria search --mode NAME``."""

    name: str
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


# --- text extraction -----------------------------------------------------------------------


class Extractor(Protocol):
    """Turns a stored document (a PDF, an EPUB) into searchable passages."""

    def availability(self) -> Availability:
        """Whether it can run here; if not, the reason names what to install."""
        ...

    def extract(self, path: Path, media: JsonDict) -> Sequence[ChunkIn]:
        """The text of the file at ``path`` as passages (with their page where there is one).

        ``media`` holds sha256, size, mime_type and kind. Raise ``MediaError`` with a readable
        reason for a file that cannot be read (encrypted, damaged).
        """
        ...


@dataclass(frozen=True)
class ExtractorSpec:
    """Text extraction for the media types in ``mime_types``: a file of one of them that any
    source stores (a PDF attached to a Patreon post) becomes searchable as part of every post
    that holds it (core's ``extract`` processor runs it, once per file)."""

    name: str
    mime_types: frozenset[str]
    factory: Callable[[Settings], Extractor]
    description: str = ""
    plugin: str = ""


# --- jobs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobTypeSpec:
    """A kind of job the queue runs: ``Archive.submit(NAME, kwargs)``.

    ``function(context, *, progress, **kwargs)`` gets the open archive's context
    (``alejandria.context.ArchiveContext``: settings, engine, plugins, stores) and the job's
    keyword arguments (JSON), calls ``progress(done, total)`` now and then, and returns a JSON
    result. It must be idempotent: a job whose worker died runs again.
    """

    name: str
    function: Callable[..., JsonDict]
    queue: str = "sources"
    description: str = ""
    plugin: str = ""


# --- health checks -------------------------------------------------------------------------

HealthStatus = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class HealthResult:
    """One line of ``alejandria doctor`` (and of the web app's health page)."""

    name: str
    status: HealthStatus
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class HealthContext:
    """What a health check receives. ``engine`` is None when the database cannot be opened
    (``database_error`` says why); a check that needs it then reports nothing."""

    settings: Settings
    plugins: Plugins
    engine: Engine | None = None
    database: str = ""
    database_error: str | None = None


@dataclass(frozen=True)
class HealthCheckSpec:
    """A health check: ``check(context)`` returns its results (say what to do on warn/fail)."""

    name: str
    check: Callable[[HealthContext], Iterable[HealthResult]]
    description: str = ""
    plugin: str = ""


# --- media stores --------------------------------------------------------------------------


@dataclass(frozen=True)
class BlobInfo:
    """One object of a media store: its name (a blob's sha256, an upload's id), its size in
    bytes and when it was last written (seconds since the epoch)."""

    name: str
    size: int
    modified: float


class BlobStore(Protocol):
    """The content-addressed media store, whatever holds the bytes (a folder, S3, ...).

    Media files are named by the SHA-256 of their bytes, computed while they stream in; a
    ``put_*`` makes a file visible only once it is complete and never overwrites one. Derived
    files (thumbnails) are named by a *key* relative to the store's derived area, as the
    processor that made them recorded it: ``thumbnails/ab/cd/<sha256>/150.webp``. Every part
    of Alejandria that touches media goes through this interface, so a store on another
    machine (S3) serves workers and web apps on several hosts alike.
    """

    @property
    def url(self) -> str:
        """Where the store is, for people (``file:///srv/media``, ``s3://bucket/prefix``):
        never a secret."""
        ...

    @property
    def remote(self) -> bool:
        """False when blobs are files of this machine (``local_file`` returns them)."""
        ...

    @property
    def max_file_bytes(self) -> int | None:
        """The largest file stored (None: no limit)."""
        ...

    def put_chunks(self, chunks: Iterable[bytes], *, max_bytes: int | None = None,
                   sync: bool = True) -> tuple[str, int, bool]:
        """Store the bytes; return ``(sha256, size, created)``. ``sync=False``: durable
        only after ``sync_pending`` (a store that is always durable ignores it)."""
        ...

    def put_stream(self, stream: BinaryIO, *, max_bytes: int | None = None,
                   sync: bool = True) -> tuple[str, int, bool]: ...

    def put_bytes(self, data: bytes, *, sync: bool = True) -> tuple[str, int, bool]: ...

    def sync_pending(self) -> None:
        """Make every blob stored with ``sync=False`` durable."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int | None:
        """The stored blob's size, None when it is missing."""
        ...

    def read(self, sha256: str, start: int = 0,
             length: int | None = None) -> Iterator[bytes]:
        """The blob's bytes from ``start`` (``length`` of them, or to the end), in chunks;
        ``FileNotFoundError`` when it is missing."""
        ...

    def local_file(self, sha256: str) -> Path | None:
        """The blob's own file when the store keeps it on this machine, else None."""
        ...

    def local_path(self, sha256: str) -> contextlib.AbstractContextManager[Path]:
        """A local file of the blob for tools that need a path (ffmpeg, Whisper): the blob's
        own file, or a copy in a bounded cache kept while the context is open."""
        ...

    def verify(self, sha256: str) -> bool:
        """Re-hash the stored bytes; False when they are missing or changed."""
        ...

    def delete(self, sha256: str) -> None: ...

    def iter_blobs(self) -> Iterator[BlobInfo]:
        """Every stored blob (``name`` is its sha256)."""
        ...

    def presigned_url(self, sha256: str, ttl_s: int, *, content_type: str | None = None,
                      disposition: str | None = None) -> str | None:
        """A URL a browser may fetch the blob from directly for ``ttl_s`` seconds, with the
        response's type and disposition set; None where the store cannot give one."""
        ...

    def origin(self) -> str | None:
        """The scheme://host[:port] of ``presigned_url``'s URLs (for a CSP), or None."""
        ...

    def put_derived(self, key: str, source: Path) -> None:
        """Publish the local file ``source`` as the derived file ``key``."""
        ...

    def derived_path(self, key: str) -> Path:
        """A local file of the derived file ``key`` (its own, or a cached copy);
        ``FileNotFoundError`` when there is none."""
        ...

    def delete_derived(self, sha256: str) -> None:
        """Remove every derived file of the blob ``sha256`` (all processors)."""
        ...

    def incomplete_uploads(self) -> list[BlobInfo]:
        """Uploads started and never finished (temp files, multipart uploads)."""
        ...

    def remove_incomplete(self, upload: BlobInfo) -> None: ...

    def check(self) -> str:
        """Reach the store and say what it is; ``MediaError`` says what is wrong (a missing
        bucket, refused credentials, an unreachable endpoint) and what to do."""
        ...


@dataclass(frozen=True)
class MediaStoreContext:
    """What a media store factory receives: the configured URL (``ALEJANDRIA_MEDIA_URL``,
    parsed by the factory), the settings, and the limits every store enforces."""

    url: str
    settings: Settings
    max_file_bytes: int | None = None
    min_free_bytes: int = 0
    #: The host's registry (a backend may build on another: core's ``file``).
    plugins: Plugins | None = None


@dataclass(frozen=True)
class MediaStoreSpec:
    """A media store backend for the URLs of one scheme (``file``, ``s3``, ``az``...)."""

    name: str
    factory: Callable[[MediaStoreContext], BlobStore]
    description: str = ""
    plugin: str = ""


AnySpec = (
    SourceSpec | ProcessorSpec | SearchBackendSpec | EmbedderSpec | TranscriberSpec
    | MigrationSpec | SettingsSpec | ExtractorSpec | JobTypeSpec | HealthCheckSpec
    | MediaStoreSpec
)


def settings_error(title: str, error: ValueError, *, options: Mapping[str, Any] = {},
                   env_prefix: str = "") -> str:
    """One readable line for a ``ValidationError`` of plugin settings: each field named as the
    ``-o`` option or the environment variable it came from."""
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return f"{title}: {error}"
    parts = []
    for item in errors():
        name = ".".join(str(part) for part in item.get("loc", ())) or "?"
        where = (f"option {name}" if name in options
                 else f"{env_prefix}{name.upper()}" if env_prefix else name)
        message = "no such option" if item.get("type") == "extra_forbidden" else item["msg"]
        parts.append(f"{where}: {message}")
    return f"{title}: " + "; ".join(parts)

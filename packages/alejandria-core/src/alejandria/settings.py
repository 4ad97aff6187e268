"""Settings, read once from the environment (``ALEJANDRIA_*``) into one object passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Text search configurations Postgres ships in every build, pgserver's included.
TEXT_SEARCH_LANGUAGES = frozenset(
    {
        "simple", "arabic", "armenian", "basque", "catalan", "danish", "dutch", "english",
        "finnish", "french", "german", "greek", "hindi", "hungarian", "indonesian", "irish",
        "italian", "lithuanian", "nepali", "norwegian", "portuguese", "romanian", "russian",
        "serbian", "spanish", "swedish", "tamil", "turkish", "yiddish",
    }
)


def _usable_cores() -> int:
    """The cores this process may run on (a container's limit, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def default_data_dir() -> Path:
    """The user's data dir for Alejandria (e.g. ``~/.local/share/alejandria``)."""
    return Path(platformdirs.user_data_dir("alejandria", appauthor=False))


#: The largest image (width × height, in pixels) any part of Alejandria or a plugin decodes:
#: bigger ones are refused as decompression bombs.
MAX_IMAGE_PIXELS = 200_000_000


class Settings(BaseSettings):
    """Installation-wide settings.

    All state lives under ``data_dir`` unless ``database_url`` points at another Postgres.
    """

    model_config = SettingsConfigDict(env_prefix="ALEJANDRIA_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: SecretStr | None = None
    #: Seconds the embedded Postgres keeps running after the last command using it exits, so
    #: the next command finds it started (0: the last command stops it).
    embedded_linger_s: float = Field(180.0, ge=0)
    #: Text-search languages: each post is indexed in the one its text is written in (the
    #: first is the default when unsure); queries search all of them.
    search_languages: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["spanish", "english"]
    )
    #: The backend that answers full-text searches (``--mode fulltext``, keyword queries and
    #: hybrid's full-text leg): core's Postgres ranking, or an installed backend's name, such
    #: as ``bm25`` (the alejandria-search-tantivy package).
    fulltext_backend: str = "fulltext"
    disabled_plugins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    load_plugins: bool = True
    min_free_disk_mb: int = 500
    #: Run media processors (probe, thumbnails, ...) right after a sync stores new files.
    process_media: bool = True
    #: Files the thread-safe media processors (probe, thumbnails) work on at once: their work
    #: (Pillow's decoding and encoding, ffmpeg) releases the GIL, so a first sync of a photo
    #: library uses every core. 1 processes one file at a time.
    media_threads: int = Field(default_factory=lambda: min(4, _usable_cores()), ge=1)
    #: Download embedded videos (yt-dlp) right after a sync.
    download_embeds: bool = True
    #: Celery broker (Redis or RabbitMQ URL). Unset: jobs run in this process, recorded alike.
    broker_url: SecretStr | None = None
    #: Seconds before Redis hands an unacknowledged job (its worker died) to another worker.
    broker_visibility_timeout: int = 3600
    #: Seconds between a worker's beats of its running jobs; a job not beaten for six times
    #: this has lost its worker, and a copy of its message delivered again runs it.
    job_heartbeat_s: float = Field(10.0, gt=0)
    #: Hour (0-23, local time of the beat process) of the daily incremental sync.
    daily_sync_hour: int = 3
    #: Completed jobs older than this many days are deleted by the daily cleanup.
    keep_jobs_days: int = 30
    #: Backups (``alejandria backup``): where they go (default ``<data_dir>/backups``; better
    #: another disk), when beat makes one (a cron expression, "minute hour day month weekday",
    #: e.g. "30 4 * * *"; empty: never), and how many daily, weekly and monthly ones are kept.
    backup_dir: Path | None = None
    backup_schedule: str = ""
    backup_keep_daily: int = Field(7, ge=0)
    backup_keep_weekly: int = Field(4, ge=0)
    backup_keep_monthly: int = Field(6, ge=0)
    #: A folder holding ``pg_dump``/``pg_restore`` of the database server's major version,
    #: searched first (default: pgserver's own, the system's, ``PATH``).
    pg_bin_dir: Path | None = None
    #: Subtitle languages downloaded with embedded videos (they become transcripts at once).
    subtitle_languages: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["es", "en"]
    )
    #: Speech to text: the engine (a registered transcriber), its model (a name or a local
    #: path; empty = the engine's bundled default), language ("auto" or an ISO code) and device.
    transcriber: str = "faster-whisper"
    transcribe_model: str = ""
    transcribe_language: str = "auto"
    transcribe_device: str = "cpu"
    #: An OpenAI-compatible transcription API (the "openai-api" engine).
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_transcribe_model: str = "whisper-1"
    #: Semantic search: the embedder ("auto" = the bundled local model when its extra is
    #: installed, "none" = no semantic search), its model (a name for the API engine; empty =
    #: the engine's default) and optional shortened dimensions (text-embedding-3 models).
    embedder: str = "auto"
    embed_model: str = ""
    embed_dimensions: int | None = None
    #: Chunks embedded per batch by ``embed backfill`` and after each sync.
    embed_batch_size: int = 64
    #: Embed new chunks right after a sync (in-process mode; with a broker, a queued job).
    embed_after_sync: bool = True
    #: Redis URL for the search cache (default: the broker when it is Redis; unset: no cache).
    cache_url: SecretStr | None = None
    search_cache_ttl_s: int = 600

    # -- the media store (alejandria.storage: media_store, s3_store) -------------------
    #: Where media files are kept: a folder (a path or ``file://`` URL; default
    #: ``<data_dir>/media``) or S3-compatible object storage, ``s3://bucket/prefix``.
    media_url: str | None = None
    #: S3: the endpoint (MinIO, Garage, R2...; unset: AWS), region and credentials (unset:
    #: boto3's own chain: ``AWS_*`` variables, ``~/.aws``, an instance role).
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    #: S3: files larger than this many MB go up in parts of this size, this many at a time.
    s3_part_mb: int = Field(8, ge=5)
    s3_upload_concurrency: int = Field(8, ge=1)
    #: A remote store's local copies for tools that need a file (ffmpeg, Whisper) and of
    #: thumbnails the web app serves: at most this many MB under ``<data_dir>/cache``.
    media_cache_mb: int = Field(2048, ge=0)
    #: The web app sends a browser to a presigned URL of a remote store valid this many
    #: seconds (0: it streams the bytes itself, with Range).
    media_presign_ttl_s: int = Field(300, ge=0)

    # -- network safety and transfer limits (alejandria.net, MediaStore) -------------------
    #: Private hosts sources may fetch from anyway (your own LAN): host names, IP addresses or
    #: CIDR networks, each optionally with :port, comma-separated. Every other loopback,
    #: private, link-local or otherwise non-public address is refused.
    allow_private_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: The largest file a sync downloads or stores, in MB.
    max_download_mb: int = Field(20480, ge=1)
    #: The largest API answer read into memory, counted decoded, in MB.
    max_api_response_mb: int = Field(64, ge=1)
    #: A transfer slower than this many bytes/s for low_speed_time_s is abandoned (0: never),
    #: as curl's --speed-limit/--speed-time.
    low_speed_limit_bps: int = Field(1024, ge=0)
    low_speed_time_s: float = Field(60.0, gt=0)
    #: An API answer not complete after this many seconds is abandoned.
    api_deadline_s: float = Field(300.0, gt=0)
    #: argon2id cost of account passwords (argon2-cffi's RFC 9106 low-memory profile): passes,
    #: memory in KiB, lanes. Hashes made with other values are redone at the next login.
    password_time_cost: int = Field(3, ge=1)
    password_memory_kib: int = Field(65536, ge=8)
    password_parallelism: int = Field(4, ge=1)

    @field_validator("allow_private_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            value = [entry.strip() for entry in value.split(",") if entry.strip()]
        return value

    @field_validator("allow_private_hosts")
    @classmethod
    def _valid_hosts(cls, value: list[str]) -> list[str]:
        from alejandria.net.addresses import AllowList

        AllowList.parse(value)  # ValueError names the entry
        return value

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("backup_schedule")
    @classmethod
    def _cron_fields(cls, value: str) -> str:
        value = " ".join(value.split())
        if value and len(value.split()) != 5:
            raise ValueError(f"{value!r} is not a cron expression of five fields "
                             "(minute hour day month weekday), e.g. '30 4 * * *'")
        return value

    @field_validator("search_languages", mode="before")
    @classmethod
    def _split_languages(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip().lower() for name in value.split(",") if name.strip()]
        return value

    @field_validator("search_languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in TEXT_SEARCH_LANGUAGES]
        if unknown or not value:
            known = ", ".join(sorted(TEXT_SEARCH_LANGUAGES))
            raise ValueError(f"unknown search language(s) {unknown}; choose from: {known}")
        return list(dict.fromkeys(value))

    @field_validator("disabled_plugins", "subtitle_languages", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @property
    def search_language(self) -> str:
        """The default language, used when a text's language cannot be told."""
        return self.search_languages[0]

    @property
    def search_cache_url(self) -> str | None:
        """Redis for the search cache: ``cache_url``, else a Redis broker, else None."""
        for candidate in (self.cache_url, self.broker_url):
            if candidate is not None:
                url = candidate.get_secret_value()
                if url.startswith(("redis://", "rediss://", "unix://")):
                    return url
        return None

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def media_store_url(self) -> str:
        """``media_url``, else the local folder ``<data_dir>/media`` as a path."""
        return self.media_url or str(self.media_dir)

    @property
    def cache_dir(self) -> Path:
        """This machine's own cache of a remote store's files (never shared between hosts)."""
        return self.data_dir / "cache"

    @property
    def backup_location(self) -> Path:
        """Where ``alejandria backup`` writes: ``backup_dir``, else ``<data_dir>/backups``."""
        return (self.backup_dir or self.data_dir / "backups").expanduser()

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

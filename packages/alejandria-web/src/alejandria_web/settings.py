"""The web app's settings, read from ``ALEJANDRIA_WEB_*`` like any plugin's."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from alejandria.plugin_types import PluginSettings


class WebSettings(PluginSettings):
    """``ALEJANDRIA_WEB_SESSION_STORE=redis`` keeps sessions in Redis (the cache URL, else a
    Redis broker); ``ALEJANDRIA_WEB_TRUSTED_PROXIES`` lists the addresses (comma-separated, or
    ``*``) whose ``X-Forwarded-For``/``-Proto`` headers are believed."""

    session_store: Literal["postgres", "redis"] = "postgres"
    session_idle_days: float = 14
    session_max_days: float = 60
    trusted_proxies: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    #: Threads that run requests' blocking work (database, file reads) at once, per worker:
    #: no more than the database pool keeps (10), so no request waits for a new connection.
    threads: int = 10
    #: Largest request body accepted (JSON bodies are small; uploads are not part of the API).
    max_body_bytes: int = 1024 * 1024
    #: Keep post details and checked API tokens in memory while the archive is unchanged
    #: (``alejandria_web.cache``: Postgres notifies every worker of each change).
    cache: bool = True
    #: Memory for the cached answers, per worker.
    cache_mb: int = Field(default=64, ge=1)

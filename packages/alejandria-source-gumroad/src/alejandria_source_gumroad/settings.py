"""The ``gumroad`` settings: ``ALEJANDRIA_GUMROAD_<OPTION>`` read when the archive opens, a
sync's ``-o option=value`` validated on top (``SourceContext.settings_for``).

Pydantic only: ``plugin.py`` registers the model, and importing it must stay cheap.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from alejandria.plugin_types import PluginSettings

DEFAULT_BASE_URL = "https://app.gumroad.com"
DEFAULT_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
                      "Firefox/128.0")
ENV_PREFIX = "ALEJANDRIA_GUMROAD_"


class GumroadSettings(PluginSettings):
    """Every option of a Gumroad sync (see the package README for what each one does)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True)

    #: Where Gumroad's app lives (a proxy or the test fixture may stand in for it).
    base_url: str = DEFAULT_BASE_URL
    user_agent: str = DEFAULT_USER_AGENT
    #: The ``_gumroad_app_session`` cookie when no credentials are stored
    #: (``ALEJANDRIA_GUMROAD_APP_SESSION``). Not a ``-o`` option: options are remembered in
    #: plain text with the subscription.
    app_session: SecretStr | None = None
    #: Page requests per second to Gumroad (0: no limit). File downloads are not paced.
    requests_per_second: float = Field(1.0, ge=0)
    #: Retries of 429, 5xx and network failures.
    max_retries: int = Field(5, ge=0)
    #: First wait of the exponential backoff (with jitter) after a 5xx or a 429 without
    #: Retry-After.
    backoff_s: float = Field(2.0, ge=0)
    #: The longest Retry-After we wait out; a longer one ends the sync as rate limited.
    max_wait_s: float = Field(900.0, ge=0)
    timeout_s: float = Field(60.0, ge=0.1)
    #: Files downloaded and stored at once while rows are written (0 or 1: one at a time).
    media_workers: int = Field(4, ge=0)
    #: Also archive the purchases you archived in your library (``--include-archived``).
    include_archived: bool = False
    #: A stamped PDF Gumroad is still preparing is asked for again this many times...
    stamp_retries: int = Field(3, ge=0)
    #: ...after this many seconds, twice as long each time; then the next sync gets it.
    stamp_wait_s: float = Field(10.0, ge=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL like {DEFAULT_BASE_URL}, not {value!r}")
        return value

"""The ``gumroad`` settings: ``ALEJANDRIA_GUMROAD_<OPTION>`` read when the archive opens, a
sync's ``-o option=value`` validated on top (``SourceContext.settings_for``).

Pydantic only: ``plugin.py`` registers the model, and importing it must stay cheap.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from alejandria.net.site import SiteSettings

DEFAULT_BASE_URL = "https://app.gumroad.com"
DEFAULT_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
                      "Firefox/128.0")
ENV_PREFIX = "ALEJANDRIA_GUMROAD_"


class GumroadSettings(SiteSettings):
    """Every option of a Gumroad sync (see the package README for what each one does); the
    options every site shares (pacing, retries, timeouts, workers) are ``SiteSettings``'."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True)

    base_url: str = DEFAULT_BASE_URL
    user_agent: str = DEFAULT_USER_AGENT
    #: The ``_gumroad_app_session`` cookie when no credentials are stored
    #: (``ALEJANDRIA_GUMROAD_APP_SESSION``). Not a ``-o`` option: options are remembered in
    #: plain text with the subscription.
    app_session: SecretStr | None = None
    #: Also archive the purchases you archived in your library (``--include-archived``).
    include_archived: bool = False
    #: A stamped PDF Gumroad is still preparing is asked for again this many times...
    stamp_retries: int = Field(3, ge=0)
    #: ...after this many seconds, twice as long each time; then the next sync gets it.
    stamp_wait_s: float = Field(10.0, ge=0)

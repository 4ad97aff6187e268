"""The settings of one Gumroad sync as the source uses them: ``GumroadSettings`` (the
environment, with the sync's ``-o`` options on top) plus the session cookie from the stored
credentials or, failing those, ``ALEJANDRIA_GUMROAD_APP_SESSION``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alejandria.errors import ConfigurationError
from alejandria.net.site import SiteConfig
from alejandria.plugin_types import SourceContext, stored_secret
from alejandria_source_gumroad.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_USER_AGENT,
    ENV_PREFIX,
    GumroadSettings,
)

if TYPE_CHECKING:
    from alejandria.settings import Settings

SESSION_COOKIE = "_gumroad_app_session"
SESSION_ENV = ENV_PREFIX + "APP_SESSION"
NOT_AN_OPTION = ("the Gumroad session is not a sync option (options are remembered in plain "
                 "text): run 'alejandria credentials set gumroad' or set " + SESSION_ENV)


@dataclass(frozen=True)
class GumroadConfig(SiteConfig):
    """What the source and its client read; see ``GumroadSettings`` for each option."""

    base_url: str = DEFAULT_BASE_URL
    user_agent: str = DEFAULT_USER_AGENT
    include_archived: bool = False
    stamp_retries: int = 3
    stamp_wait_s: float = 10.0

    @classmethod
    def from_context(cls, context: SourceContext) -> GumroadConfig:
        """The config of the sync ``context`` describes."""
        if "app_session" in context.options:
            raise ConfigurationError(NOT_AN_OPTION)
        return cls.from_settings(context.settings_for(GumroadSettings), context.credentials,
                                 core=context.settings)

    @classmethod
    def from_settings(cls, settings: GumroadSettings, credentials: Mapping[str, Any] | None,
                      *, core: Settings | None = None) -> GumroadConfig:
        secret = stored_secret(credentials, ("app_session", "cookie"), settings.app_session)
        return cls(**cls.site_fields(settings, core),
                   cookie=session_cookie(secret) if secret else None,
                   include_archived=settings.include_archived,
                   stamp_retries=settings.stamp_retries, stamp_wait_s=settings.stamp_wait_s)


def session_cookie(value: str) -> str:
    """The Cookie header for a pasted secret: a bare ``_gumroad_app_session`` value,
    ``_gumroad_app_session=...`` or a browser's whole Cookie header."""
    value = value.strip().strip('"').strip("'").strip()
    if value.lower().startswith("cookie:"):
        value = value[len("cookie:"):].strip()
    if not value or any(ch in value for ch in "\r\n\0"):
        raise ConfigurationError("the Gumroad session is empty or not a cookie value")
    if "=" not in value:
        return f"{SESSION_COOKIE}={value}"
    return "; ".join(part.strip() for part in value.split(";") if part.strip())

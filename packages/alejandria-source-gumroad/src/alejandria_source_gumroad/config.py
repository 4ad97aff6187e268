"""The settings of one Gumroad sync as the source uses them: ``GumroadSettings`` (the
environment, with the sync's ``-o`` options on top) plus the session cookie from the stored
credentials or, failing those, ``ALEJANDRIA_GUMROAD_APP_SESSION``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alejandria.errors import ConfigurationError
from alejandria.net.limits import TransferLimits
from alejandria.net.urls import own_host
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
class GumroadConfig:
    """What the source and its client read; see ``GumroadSettings`` for each option."""

    base_url: str = DEFAULT_BASE_URL
    #: The Cookie header sent to Gumroad's host (and no other), or None when logged out.
    cookie: str | None = field(default=None, repr=False)
    user_agent: str = DEFAULT_USER_AGENT
    requests_per_second: float = 1.0
    max_retries: int = 5
    backoff_s: float = 2.0
    max_wait_s: float = 900.0
    timeout_s: float = 60.0
    media_workers: int = 4
    include_archived: bool = False
    stamp_retries: int = 3
    stamp_wait_s: float = 10.0
    #: Core's ``allow_private_hosts``: private hosts files may come from anyway.
    allow_private_hosts: tuple[str, ...] = ()
    limits: TransferLimits = field(default_factory=TransferLimits)

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        """The configured base URL's own host (a local Gumroad, the test fixture) and the
        core setting: the hosts reached even on a private address."""
        own = own_host(self.base_url)
        return (own, *self.allow_private_hosts) if own else self.allow_private_hosts

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
        return cls(
            base_url=settings.base_url,
            cookie=session_cookie(secret) if secret else None,
            user_agent=settings.user_agent,
            requests_per_second=settings.requests_per_second,
            max_retries=settings.max_retries,
            backoff_s=settings.backoff_s,
            max_wait_s=settings.max_wait_s,
            timeout_s=settings.timeout_s,
            media_workers=settings.media_workers,
            include_archived=settings.include_archived,
            stamp_retries=settings.stamp_retries,
            stamp_wait_s=settings.stamp_wait_s,
            allow_private_hosts=tuple(core.allow_private_hosts) if core else (),
            limits=TransferLimits.from_settings(core) if core else TransferLimits(),
        )


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

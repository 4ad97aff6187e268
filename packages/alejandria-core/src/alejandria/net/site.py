"""The options every source that reads a website shares, and the config they become.

A source of a site (Patreon, Gumroad) subclasses ``SiteSettings`` with its ``env_prefix``,
its ``base_url`` and ``user_agent`` defaults and its own options, and ``SiteConfig`` (a frozen
dataclass) with its own fields; ``SiteConfig.site_fields`` fills the shared ones from the
settings and core's (``allow_private_hosts``, the transfer limits). The HTTP client of the
sync (``alejandria.net.client.HttpClient``) is made from those fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from alejandria.net.limits import TransferLimits
from alejandria.net.urls import own_host
from alejandria.plugin_types import PluginSettings

if TYPE_CHECKING:
    from alejandria.settings import Settings


class SiteSettings(PluginSettings):
    """What every site's sync takes (``-o key=value`` or ``ALEJANDRIA_<SOURCE>_<KEY>``)."""

    #: Where the site lives (a proxy or a test fixture may stand in for it).
    base_url: str = ""
    user_agent: str = ""
    #: Page or API requests per second to the site (0: no limit). Files are not paced.
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

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            example = cls.model_fields["base_url"].default or "https://example.com"
            raise ValueError(f"must be an http(s) URL like {example}, not {value!r}")
        return value


@dataclass(frozen=True)
class SiteConfig:
    """The shared part of a site source's config; see ``SiteSettings`` for each option."""

    base_url: str = ""
    #: The Cookie header sent to the site's own host (and no other), or None when logged out.
    cookie: str | None = field(default=None, repr=False)
    user_agent: str = ""
    requests_per_second: float = 1.0
    max_retries: int = 5
    backoff_s: float = 2.0
    max_wait_s: float = 900.0
    timeout_s: float = 60.0
    media_workers: int = 4
    #: Core's ``allow_private_hosts``: private hosts files may come from anyway.
    allow_private_hosts: tuple[str, ...] = ()
    #: Core's size caps and speed floors for every request of the sync.
    limits: TransferLimits = field(default_factory=TransferLimits)

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        """The configured base URL's own host (a local copy of the site, the test fixture)
        and the core setting: the hosts reached even on a private address."""
        own = own_host(self.base_url)
        return (own, *self.allow_private_hosts) if own else self.allow_private_hosts

    @staticmethod
    def site_fields(settings: SiteSettings, core: Settings | None) -> dict[str, Any]:
        """The shared fields' values from a sync's settings and core's."""
        return {
            "base_url": settings.base_url, "user_agent": settings.user_agent,
            "requests_per_second": settings.requests_per_second,
            "max_retries": settings.max_retries, "backoff_s": settings.backoff_s,
            "max_wait_s": settings.max_wait_s, "timeout_s": settings.timeout_s,
            "media_workers": settings.media_workers,
            "allow_private_hosts": tuple(core.allow_private_hosts) if core else (),
            "limits": TransferLimits.from_settings(core) if core else TransferLimits(),
        }

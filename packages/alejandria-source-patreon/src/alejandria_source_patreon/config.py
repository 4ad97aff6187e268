"""The settings of one Patreon sync as the source uses them: ``PatreonSettings`` (the
environment, with the sync's ``-o`` options on top) plus the session cookie from the stored
credentials or, failing those, ``ALEJANDRIA_PATREON_SESSION_ID``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from alejandria.errors import ConfigurationError
from alejandria.net.site import SiteConfig
from alejandria.plugin_types import SourceContext, stored_secret
from alejandria_source_patreon.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_USER_AGENT,
    ENV_PREFIX,
    PatreonSettings,
)

if TYPE_CHECKING:
    from alejandria.settings import Settings

SESSION_ENV = ENV_PREFIX + "SESSION_ID"
NOT_AN_OPTION = ("the Patreon session is not a sync option (options are remembered in plain "
                 "text): run 'alejandria credentials set patreon' or set " + SESSION_ENV)


@dataclass(frozen=True)
class PostFilters:
    """Which posts a sync archives. Filtered syncs keep a cursor of their own."""

    #: Tier titles (casefolded) or ids; a post passes when one of its tiers is named
    #: ("public" and "patrons" name posts open to everyone and to every patron).
    tiers: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    #: Patreon post types: image_file, text_only, video_external_file, audio_file, ...
    types: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return bool(self.tiers or self.since or self.until or self.types)

    def signature(self) -> str:
        """A stable text naming the filters, for the cursor scope of a filtered sync."""
        parts = []
        if self.tiers:
            parts.append("tiers=" + ",".join(sorted(self.tiers)))
        if self.since:
            parts.append("since=" + self.since.isoformat())
        if self.until:
            parts.append("until=" + self.until.isoformat())
        if self.types:
            parts.append("types=" + ",".join(sorted(self.types)))
        return "&".join(parts)


@dataclass(frozen=True)
class PatreonConfig(SiteConfig):
    """What the source and its client read; see ``PatreonSettings`` for each option. The
    ``cookie`` is the Cookie header sent to Patreon (``session_id=...``)."""

    base_url: str = DEFAULT_BASE_URL
    user_agent: str = DEFAULT_USER_AGENT
    full_every_days: float = 7.0
    checkpoint_every: int = 10
    comments: bool = False
    dry_run: bool = False
    filters: PostFilters = PostFilters()

    @property
    def referer(self) -> str:
        return self.base_url + "/"

    @classmethod
    def from_context(cls, context: SourceContext) -> PatreonConfig:
        """The config of the sync ``context`` describes."""
        if "session_id" in context.options:
            raise ConfigurationError(NOT_AN_OPTION)
        return cls.from_settings(context.settings_for(PatreonSettings), context.credentials,
                                 core=context.settings)

    @classmethod
    def from_settings(cls, settings: PatreonSettings, credentials: Mapping[str, Any] | None,
                      *, core: Settings | None = None) -> PatreonConfig:
        secret = stored_secret(credentials, ("session_id", "cookie"), settings.session_id)
        return cls(
            **cls.site_fields(settings, core),
            cookie=session_cookie(secret) if secret else None,
            full_every_days=settings.full_every_days,
            checkpoint_every=settings.checkpoint_every,
            comments=settings.comments,
            dry_run=settings.dry_run,
            filters=PostFilters(
                tiers=frozenset(item.casefold() for item in settings.tiers),
                since=settings.since,
                until=settings.until,
                types=frozenset(item.casefold() for item in settings.types),
            ),
        )


def session_cookie(value: str) -> str:
    """The Cookie header for a pasted secret: a bare ``session_id`` value, ``session_id=...``
    or a browser's whole Cookie header (``Cookie:`` prefix and quotes are dropped)."""
    value = value.strip().strip('"').strip("'").strip()
    if value.lower().startswith("cookie:"):
        value = value[len("cookie:"):].strip()
    if not value or any(ch in value for ch in "\r\n\0"):
        raise ConfigurationError("the Patreon session is empty or not a cookie value")
    if "=" not in value:
        return f"session_id={value}"
    pairs = [part.strip() for part in value.split(";") if part.strip()]
    return "; ".join(pairs)

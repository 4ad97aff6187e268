"""The settings of one Patreon sync: ``-o`` options first, then ``ALEJANDRIA_PATREON_*``
environment variables, then defaults. Parsed once, when the source is built."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from alejandria.errors import ConfigurationError

DEFAULT_BASE_URL = "https://www.patreon.com"
#: Patreon's Android app. The API serves the app without Cloudflare's browser checks, and an
#: app version that is too old is refused with HTTP 426 (then set ``user_agent``).
DEFAULT_USER_AGENT = "Patreon/72.2.28 (Android; Android 14; Scale/2.10)"
ENV_PREFIX = "ALEJANDRIA_PATREON_"
SESSION_ENV = ENV_PREFIX + "SESSION_ID"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


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
class PatreonConfig:
    base_url: str = DEFAULT_BASE_URL
    #: The Cookie header sent to Patreon (``session_id=...``), or None when logged out.
    cookie: str | None = field(default=None, repr=False)
    user_agent: str = DEFAULT_USER_AGENT
    #: API requests per second (0: no limit). Media downloads from the CDN are not limited.
    requests_per_second: float = 1.0
    max_retries: int = 5
    #: First wait of the exponential backoff (with jitter) after a 5xx or a 429 without
    #: Retry-After.
    backoff_s: float = 2.0
    #: The longest Retry-After we wait out; a longer one ends the sync as rate limited.
    max_wait_s: float = 900.0
    timeout_s: float = 60.0
    #: Days between full walks of a creator's posts (which find edits to old posts).
    full_every_days: float = 7.0
    #: Posts per transaction: what an interrupted sync may have to fetch again.
    checkpoint_every: int = 10
    #: Files the pipeline downloads and stores at once while it writes rows
    #: (``Source.media_concurrency``; 0 or 1: one at a time, when the pipeline asks).
    media_workers: int = 4
    comments: bool = False
    dry_run: bool = False
    filters: PostFilters = PostFilters()

    @property
    def referer(self) -> str:
        return self.base_url + "/"

    @classmethod
    def from_sources(cls, options: Mapping[str, Any], credentials: Mapping[str, Any] | None,
                     env: Mapping[str, str] | None = None) -> PatreonConfig:
        env = os.environ if env is None else env

        def pick(name: str) -> Any:
            if name in options and options[name] is not None:
                return options[name]
            return env.get(ENV_PREFIX + name.upper())

        def number(name: str, default: float, minimum: float = 0.0) -> float:
            value = pick(name)
            if value is None or value == "":
                return default
            try:
                result = float(value)
            except (TypeError, ValueError):
                raise ConfigurationError(f"patreon option {name} must be a number, "
                                         f"not {value!r}") from None
            if result < minimum or isinstance(value, bool):
                raise ConfigurationError(f"patreon option {name} must be at least {minimum}")
            return result

        secret = None
        if credentials:
            secret = credentials.get("session_id") or credentials.get("cookie")
        secret = secret or env.get(SESSION_ENV)
        return cls(
            base_url=str(pick("base_url") or DEFAULT_BASE_URL).rstrip("/"),
            cookie=session_cookie(str(secret)) if secret else None,
            user_agent=str(pick("user_agent") or DEFAULT_USER_AGENT),
            requests_per_second=number("requests_per_second", cls.requests_per_second),
            max_retries=int(number("max_retries", cls.max_retries)),
            backoff_s=number("backoff_s", cls.backoff_s),
            max_wait_s=number("max_wait_s", cls.max_wait_s),
            timeout_s=number("timeout_s", cls.timeout_s, minimum=0.1),
            full_every_days=number("full_every_days", cls.full_every_days),
            checkpoint_every=int(number("checkpoint_every", cls.checkpoint_every, minimum=1)),
            media_workers=int(number("media_workers", cls.media_workers)),
            comments=flag(pick("comments"), "comments"),
            dry_run=flag(pick("dry_run"), "dry_run"),
            filters=PostFilters(
                tiers=frozenset(item.casefold() for item in names(pick("tiers"))),
                since=moment(pick("since"), "since"),
                until=moment(pick("until"), "until", end_of_day=True),
                types=frozenset(item.casefold() for item in names(pick("types"))),
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


def flag(value: Any, name: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(f"patreon option {name} must be true or false, not {value!r}")


def names(value: Any) -> list[str]:
    """A list option given as a JSON list or a comma-separated string."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def moment(value: Any, name: str, *, end_of_day: bool = False) -> datetime | None:
    """An ISO date or date-time (UTC when no zone is given)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end_of_day else time.min, UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"patreon option {name} must be a date like 2024-05-31, "
                                 f"not {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

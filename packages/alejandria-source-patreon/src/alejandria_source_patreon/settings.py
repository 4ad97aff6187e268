"""The ``patreon`` settings: ``ALEJANDRIA_PATREON_<OPTION>`` read when the archive opens, a
sync's ``-o option=value`` validated on top (``SourceContext.settings_for``).

Pydantic only: ``plugin.py`` registers the model, and importing it must stay cheap.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from alejandria.net.site import SiteSettings

DEFAULT_BASE_URL = "https://www.patreon.com"
#: Patreon's Android app. The API serves the app without Cloudflare's browser checks, and an
#: app version that is too old is refused with HTTP 426 (then set ``user_agent``).
DEFAULT_USER_AGENT = "Patreon/72.2.28 (Android; Android 14; Scale/2.10)"
ENV_PREFIX = "ALEJANDRIA_PATREON_"

#: A list given as a JSON list or a comma-separated string, in the environment or ``-o``.
Names = Annotated[list[str], NoDecode]


class PatreonSettings(SiteSettings):
    """Every option of a Patreon sync (see the package README for what each one does); the
    options every site shares (pacing, retries, timeouts, workers) are ``SiteSettings``'."""

    #: An empty variable is as good as unset (the default), as it was before this model.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True)

    base_url: str = DEFAULT_BASE_URL
    #: The Android app's User-Agent by default; set it when Patreon answers 426.
    user_agent: str = DEFAULT_USER_AGENT
    #: The session cookie when no credentials are stored (``ALEJANDRIA_PATREON_SESSION_ID``).
    #: Not a ``-o`` option: options are remembered in plain text with the subscription.
    session_id: SecretStr | None = None
    #: Days between full walks of a creator's posts (which find edits to old posts).
    full_every_days: float = Field(7.0, ge=0)
    #: Posts per transaction: what an interrupted sync may have to fetch again.
    checkpoint_every: int = Field(10, ge=1)
    comments: bool = False
    dry_run: bool = False
    #: Tier titles or ids ("public" and "patrons" name posts open to everyone and to patrons).
    tiers: Names = Field(default_factory=list)
    #: Only posts published from this date (``2024-05-31``: its start, UTC) ...
    since: datetime | None = None
    #: ... up to this one (``2024-05-31``: its end).
    until: datetime | None = None
    #: Patreon post types: image_file, text_only, video_external_file, audio_file, ...
    types: Names = Field(default_factory=list)

    @field_validator("comments", "dry_run", mode="before")
    @classmethod
    def _empty_is_false(cls, value: Any) -> Any:
        return False if isinstance(value, str) and not value.strip() else value

    @field_validator("tiers", "types", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    raise ValueError("must be a JSON list or names separated by commas, "
                                     f"not {value!r}") from None
            else:
                value = text.split(",")
        if isinstance(value, list | tuple | set | frozenset):
            return [str(item).strip() for item in value if str(item).strip()]
        return value

    @field_validator("since", "until", mode="before")
    @classmethod
    def _moment(cls, value: Any, info: ValidationInfo) -> Any:
        """An ISO date or date-time, UTC when no zone is given; a bare date is the start of
        its day for ``since`` and its end for ``until``."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):
            parsed = _day(value, end=info.field_name == "until")
        else:
            text = str(value).strip()
            try:
                parsed = (_day(date.fromisoformat(text), end=info.field_name == "until")
                          if len(text) == 10 else datetime.fromisoformat(text))
            except ValueError:
                raise ValueError(f"must be a date like 2024-05-31, not {value!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _day(day: date, *, end: bool) -> datetime:
    return datetime.combine(day, time.max if end else time.min, UTC)

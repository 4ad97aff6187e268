"""How long to wait before trying again: exponential backoff with jitter, or what the server
said in ``Retry-After``. Shared by the sources' HTTP client, the video downloads and the job
queue, so that every retry in the archive spreads out the same way."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_SECONDS = re.compile(r"\d+(\.\d+)?")


def backoff(attempt: int, *, base: float, cap: float, jitter: float = 0.5) -> float:
    """Seconds to wait after failed try ``attempt`` (0 for the first failure).

    ``base`` doubles with each attempt and stops growing at ``cap``; the result is then spread
    by ``±jitter`` (0.5: between half and one and a half times it), so that clients that failed
    together do not all come back at the same moment, even once they reached the cap.
    """
    exponential = min(cap, base * 2.0 ** min(max(attempt, 0), 64))
    return exponential * random.uniform(1.0 - jitter, 1.0 + jitter)


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks us to wait: a number of seconds or an HTTP date
    (a date in the past is 0). None when the header is absent or not one of those."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, as RFC 9110 dates always are
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())

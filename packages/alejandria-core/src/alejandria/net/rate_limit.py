"""A polite request rate: at most N requests per second to each host, across threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class HostRateLimiter:
    """``wait(host)`` returns when a request to ``host`` may go: requests to one host are
    spaced ``1 / per_second`` apart (0: no limit), whichever thread sends them, while other
    hosts keep their own pace (a site's CDN does not slow its API down)."""

    def __init__(self, per_second: float, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_second < 0:
            raise ValueError("requests per second cannot be negative")
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, host: str) -> float:
        """Wait for ``host``'s next slot; the seconds waited."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._clock()
            start = max(now, self._next.get(host, 0.0))
            self._next[host] = start + self.interval
        if start > now:
            self._sleep(start - now)
        return start - now

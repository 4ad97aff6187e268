"""How much and how slowly a site may send before we stop reading.

A hostile or broken server can send a file that never ends, a compressed API answer that
inflates to gigabytes, or one byte every few seconds (each read beats the read timeout, the
transfer never ends). So:

- every file download has a size cap (``max_download_mb``), checked against its
  ``Content-Length`` before the body is read and on the bytes as they come;
- an API answer read into memory has a cap on its *decoded* size (``max_api_response_mb``):
  it is decoded in bounded pieces with a running count, never inflated whole first;
- every transfer is abandoned when it stays slower than ``low_speed_limit_bps`` for
  ``low_speed_time_s`` (curl's ``--speed-limit``/``--speed-time``). Files get no overall
  deadline: a 4 GB video on a slow but working line may rightly take hours, and the low-speed
  rule stops a trickle within a minute whatever the size. API answers are small, so they also
  get an overall deadline (``api_deadline_s``).

Standard library only (the Patreon source's settings import this module).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alejandria.errors import SourceError, TooLarge

if TYPE_CHECKING:
    from alejandria.settings import Settings

MB = 1024 * 1024


@dataclass(frozen=True)
class TransferLimits:
    """The limits of one client; the defaults are the settings' defaults."""

    max_download_bytes: int = 20480 * MB
    max_api_response_bytes: int = 64 * MB
    low_speed_limit_bps: int = 1024
    low_speed_time_s: float = 60.0
    api_deadline_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> TransferLimits:
        return cls(max_download_bytes=settings.max_download_mb * MB,
                   max_api_response_bytes=settings.max_api_response_mb * MB,
                   low_speed_limit_bps=settings.low_speed_limit_bps,
                   low_speed_time_s=settings.low_speed_time_s,
                   api_deadline_s=settings.api_deadline_s)

    def download_too_large(self, subject: str, size: int | None = None) -> TooLarge:
        limit = self.max_download_bytes
        what = f"is {_mb(size)}" if size is not None else "goes on"
        return TooLarge(f"{subject} {what}, over the download limit of {_mb(limit)}: raise "
                        "ALEJANDRIA_MAX_DOWNLOAD_MB to fetch it")

    def answer_too_large(self, site: str, where: str) -> TooLarge:
        return TooLarge(f"{site} sent more than {_mb(self.max_api_response_bytes)} (decoded) "
                        f"for {where}: raise ALEJANDRIA_MAX_API_RESPONSE_MB if that is expected")

    def speed_guard(self, what: str, *, clock: Callable[[], float] = time.monotonic,
                    deadline: bool = False) -> SpeedGuard:
        return SpeedGuard(what, min_bps=self.low_speed_limit_bps,
                          window_s=self.low_speed_time_s, clock=clock,
                          deadline_s=self.api_deadline_s if deadline else None)


def _mb(size: int) -> str:
    if size < MB:
        return f"{size:,} bytes"
    return f"{size / MB:,.1f} MB" if size < 10 * MB else f"{size // MB:,} MB"


class SpeedGuard:
    """Told of every piece received (``received``), raises ``SourceError`` when the transfer
    averaged less than ``min_bps`` over a window of ``window_s`` seconds (0: no floor), or
    when ``deadline_s`` has passed since it started. Reads return within the read timeout, so
    the check after each one catches a trickle and a stall alike."""

    def __init__(self, what: str, *, min_bps: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic,
                 deadline_s: float | None = None) -> None:
        self._what = what
        self._min_bps = min_bps
        self._window_s = window_s
        self._deadline_s = deadline_s
        self._clock = clock
        self._started = clock()
        self.restart()

    def restart(self) -> None:
        """A new window from now (after a pause that is not the server's: a resume)."""
        self._window_start = self._clock()
        self._window_bytes = 0

    def received(self, size: int) -> None:
        now = self._clock()
        self._window_bytes += size
        if self._deadline_s is not None and now - self._started > self._deadline_s:
            raise SourceError(f"{self._what}: not complete after {self._deadline_s:.0f} s "
                              "(ALEJANDRIA_API_DEADLINE_S); the server is too slow")
        elapsed = now - self._window_start
        if not self._min_bps or elapsed < self._window_s:
            return
        if self._window_bytes < self._min_bps * elapsed:
            raise SourceError(
                f"{self._what}: slower than {self._min_bps} bytes/s for {elapsed:.0f} s "
                f"({self._window_bytes} bytes), abandoned; see ALEJANDRIA_LOW_SPEED_LIMIT_BPS "
                "and ALEJANDRIA_LOW_SPEED_TIME_S")
        self.restart()

"""HTTP to Patreon: the session cookie, a polite request rate, retries, and readable errors.

Every response status Patreon uses to say something is turned into an error a user can act on
(see the package README): 401 and locked content mean "log in again", 403 with a Cloudflare
challenge and 426 (outdated app) say what to change, 429 waits out ``Retry-After``, 5xx and
dropped connections are retried with exponential backoff and jitter. The cookie is only ever
sent to the Patreon host and never appears in a message or a log line.
"""

from __future__ import annotations

import contextlib
import io
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import httpx

from alejandria.errors import ItemRejected, RateLimited, SourceAuthError, SourceError
from alejandria.models import JsonDict
from alejandria_source_patreon.config import PatreonConfig

log = logging.getLogger(__name__)

LOG_IN_AGAIN = ("Patreon no longer accepts the saved session (expired or logged out): log in "
                "to patreon.com in a browser, copy the session_id cookie and run "
                "'alejandria credentials set patreon'")
NO_SESSION = ("no Patreon session: run 'alejandria credentials set patreon' (or set "
              "ALEJANDRIA_PATREON_SESSION_ID) with the session_id cookie of a logged-in browser")
CLOUDFLARE = ("Patreon answered with a Cloudflare challenge (HTTP 403): it takes these requests "
              "for a bot. Wait an hour and sync again with fewer requests "
              "(-o requests_per_second=0.5); if it persists, copy the whole Cookie header "
              "(with cf_clearance) from the browser into 'alejandria credentials set patreon' "
              "and its User-Agent into -o user_agent=...")
OUTDATED = ("Patreon refuses this client as outdated (HTTP 426 Upgrade Required): update "
            "alejandria-source-patreon, or pass the current Patreon app's User-Agent with "
            "-o user_agent='Patreon/<version> (Android; ...)'")
MAX_BACKOFF_S = 120.0


class ExpiredLink(SourceError):
    """A time-limited URL (a listing's next page, a signed media URL) no longer works."""


class RateLimiter:
    """At most ``per_second`` calls of ``wait`` per second, across threads (0: no limit)."""

    def __init__(self, per_second: float, sleep: Callable[[float], None],
                 clock: Callable[[], float]) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


class PatreonClient:
    """One HTTP client per sync; safe to use from the fetch and the writer threads."""

    def __init__(self, config: PatreonConfig, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._host = urlsplit(config.base_url).netloc
        self._sleep = sleep
        self._limiter = RateLimiter(config.requests_per_second, sleep, clock)
        self._http = httpx.Client(timeout=config.timeout_s, follow_redirects=True,
                                  headers={"User-Agent": config.user_agent})

    def close(self) -> None:
        self._http.close()

    # -- requests --------------------------------------------------------------------------

    def api(self, path: str, params: Mapping[str, str] | None = None,
            *, subject: str | None = None) -> JsonDict:
        """GET ``/api/<path>`` and return its JSON:API document."""
        url = f"{self.config.base_url}/api/{path.lstrip('/')}"
        return self._json(url, params, subject or f"/api/{path}")

    def follow(self, url: str, *, subject: str) -> JsonDict:
        """GET a ``links.next`` URL; ``ExpiredLink`` when Patreon no longer accepts it."""
        return self._json(url, None, subject, expiring=True)

    def page(self, path: str) -> str | None:
        """The HTML of a page on the Patreon site (a creator page), None when it is missing."""
        url = f"{self.config.base_url}/{path.lstrip('/')}"
        response = self._send(url, None, api=True)
        try:
            if response.status_code == 404:
                return None
            self._check(response, f"/{path}", expiring=False)
            return response.text
        finally:
            response.close()

    @contextlib.contextmanager
    def open(self, url: str, *, subject: str) -> Iterator[BinaryIO]:
        """Stream a media file. ``ExpiredLink`` when its signed URL is refused (403/410)."""
        response = self._send(url, None, api=False, stream=True)
        try:
            self._check(response, subject, expiring=True)
            yield _ResponseReader(response, subject)  # type: ignore[misc]
        finally:
            response.close()

    def _json(self, url: str, params: Mapping[str, str] | None, subject: str,
              *, expiring: bool = False) -> JsonDict:
        response = self._send(url, params, api=True)
        try:
            self._check(response, subject, expiring=expiring)
            try:
                payload = response.json()
            except ValueError:
                raise SourceError(f"Patreon sent something that is not JSON for {subject} "
                                  "(did its API change?)") from None
        finally:
            response.close()
        if not isinstance(payload, dict):
            raise SourceError(f"Patreon sent unexpected JSON for {subject} (did its API change?)")
        return payload

    def _send(self, url: str, params: Mapping[str, str] | None, *, api: bool,
              stream: bool = False) -> httpx.Response:
        """One GET with retries for 429, 5xx and network failures; other statuses returned."""
        retries = self.config.max_retries
        shown = _without_query(url)
        for attempt in range(retries + 1):
            if api:
                self._limiter.wait()
            headers = {}
            if self.config.cookie and urlsplit(url).netloc == self._host:
                headers["Cookie"] = self.config.cookie
            try:
                request = self._http.build_request("GET", url, params=params, headers=headers)
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if attempt == retries:
                    raise SourceError(f"cannot reach {urlsplit(url).netloc}: "
                                      f"{type(exc).__name__} after {retries + 1} tries") from None
                self._pause(self._backoff(attempt), f"{type(exc).__name__} on {shown}")
                continue
            status = response.status_code
            if status == 429:
                response.close()
                wait = retry_after(response.headers.get("Retry-After"))
                delay = self._backoff(attempt) if wait is None else wait
                if attempt == retries or delay > self.config.max_wait_s:
                    raise RateLimited(
                        f"Patreon is rate limiting us (HTTP 429); try again in "
                        f"{delay:.0f} s or lower -o requests_per_second", retry_after=delay)
                self._pause(delay, f"429 on {shown}")
                continue
            if status >= 500:
                response.close()
                if attempt == retries:
                    raise SourceError(f"Patreon keeps failing (HTTP {status}) for {shown} after "
                                      f"{retries + 1} tries; try again later")
                self._pause(self._backoff(attempt), f"HTTP {status} on {shown}")
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _check(self, response: httpx.Response, subject: str, *, expiring: bool) -> None:
        status = response.status_code
        if status < 400:
            return
        with contextlib.suppress(httpx.StreamError):
            response.read()  # a streamed error body, so that its detail can be read
        detail = _error_detail(response)
        if status == 401:
            raise SourceAuthError(LOG_IN_AGAIN if self.config.cookie else NO_SESSION)
        if status == 403 and _is_cloudflare(response):
            raise SourceError(CLOUDFLARE)
        if status == 426:
            raise SourceError(OUTDATED)
        if expiring and status in (400, 403, 410):
            raise ExpiredLink(f"{subject}: link expired (HTTP {status})")
        if status == 404:
            raise ItemRejected(subject, "not found on Patreon (HTTP 404)")
        raise SourceError(f"Patreon refused {subject} (HTTP {status})"
                          + (f": {detail}" if detail else ""))

    def _backoff(self, attempt: int) -> float:
        base: float = min(MAX_BACKOFF_S, self.config.backoff_s * 2.0 ** attempt)
        return base * random.uniform(0.5, 1.5)

    def _pause(self, seconds: float, why: str) -> None:
        log.info("patreon: %s; waiting %.1f s", why, seconds)
        self._sleep(seconds)


class _ResponseReader(io.RawIOBase):
    """A streamed response body as a raw binary file. ``read`` hands over the body's chunks
    as they arrive, uncopied (a raw file may return fewer bytes than asked for)."""

    def __init__(self, response: httpx.Response, subject: str) -> None:
        self._chunks = response.iter_bytes()
        self._pending = b""
        self._subject = subject

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if not self._pending and not self._next():
            return b""
        if size is None or size < 0 or size >= len(self._pending):
            chunk, self._pending = self._pending, b""
        else:
            chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk

    def readall(self) -> bytes:
        return b"".join(iter(self.read, b""))

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def _next(self) -> bool:
        """Take the next chunk of the body; False at its end."""
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return False
            except httpx.TransportError as exc:
                raise SourceError(f"{self._subject}: the download broke off "
                                  f"({type(exc).__name__}); the next sync fetches it again") \
                    from None
        return True


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), None when absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _is_cloudflare(response: httpx.Response) -> bool:
    if response.headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    body = response.text[:4000].lower() if "html" in response.headers.get(
        "content-type", "") else ""
    return "just a moment" in body or "cf-chl" in body or "challenge-platform" in body


def _error_detail(response: httpx.Response) -> str:
    """The first error a JSON:API error document gives, if any (never headers or cookies)."""
    try:
        payload = response.json()
    except ValueError:
        return ""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return str(first.get("detail") or first.get("title") or first.get("code_name") or "")
    return ""


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"

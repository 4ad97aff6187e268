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
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO
from urllib.parse import urlencode, urlsplit

from urllib3.exceptions import HTTPError, LocationValueError

from alejandria.errors import ItemRejected, RateLimited, SourceAuthError, SourceError
from alejandria.models import JsonDict
from alejandria_source_patreon.config import PatreonConfig
from alejandria_source_patreon.transport import Response, Transport, finish

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
CHUNK_SIZE = 1024 * 1024


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
        self._http = Transport(timeout_s=config.timeout_s, user_agent=config.user_agent,
                               pool_size=max(4, config.media_workers + 2))

    def close(self) -> None:
        self._http.close()

    # -- requests --------------------------------------------------------------------------

    def api(self, path: str, params: Mapping[str, str] | None = None,
            *, subject: str | None = None) -> JsonDict:
        """GET ``/api/<path>`` and return its JSON:API document."""
        url = f"{self.config.base_url}/api/{path.lstrip('/')}"
        if params:
            url = f"{url}?{urlencode(params)}"
        return self._json(url, subject or f"/api/{path}")

    def follow(self, url: str, *, subject: str) -> JsonDict:
        """GET a ``links.next`` URL; ``ExpiredLink`` when Patreon no longer accepts it."""
        return self._json(url, subject, expiring=True)

    def page(self, path: str) -> str | None:
        """The HTML of a page on the Patreon site (a creator page), None when it is missing."""
        response = self._send(f"{self.config.base_url}/{path.lstrip('/')}", api=True)
        try:
            if response.status == 404:
                return None
            self._check(response, f"/{path}", expiring=False)
            return response.data.decode(_charset(response), "replace")
        finally:
            finish(response, complete=True)

    @contextlib.contextmanager
    def open(self, url: str, *, subject: str) -> Iterator[BinaryIO]:
        """Stream a media file. ``ExpiredLink`` when its signed URL is refused (403/410)."""
        reader = _ResponseReader(self, url, self._stream(url, subject), subject)
        try:
            yield reader  # type: ignore[misc]
        finally:
            reader.close()

    def _stream(self, url: str, subject: str,
                headers: Mapping[str, str] | None = None) -> Response:
        """A file's response, its body not read yet (errors raised as ``_check`` says)."""
        response = self._send(url, api=False, stream=True, headers=headers)
        try:
            self._check(response, subject, expiring=True)
        except BaseException:
            finish(response, complete=False)
            raise
        return response

    def _json(self, url: str, subject: str, *, expiring: bool = False) -> JsonDict:
        response = self._send(url, api=True)
        try:
            self._check(response, subject, expiring=expiring)
            try:
                payload = json.loads(response.data)
            except ValueError:
                raise SourceError(f"Patreon sent something that is not JSON for {subject} "
                                  "(did its API change?)") from None
        finally:
            finish(response, complete=True)
        if not isinstance(payload, dict):
            raise SourceError(f"Patreon sent unexpected JSON for {subject} (did its API change?)")
        return payload

    def _send(self, url: str, *, api: bool, stream: bool = False,
              headers: Mapping[str, str] | None = None) -> Response:
        """One GET with retries for 429, 5xx and network failures; other statuses returned.
        Unless ``stream``, the body is read too (a body that breaks off is retried)."""
        retries = self.config.max_retries
        parts = urlsplit(url)
        shown = f"{parts.netloc}{parts.path}"
        sent = dict(headers or {})
        if api:
            sent["Accept-Encoding"] = "gzip, deflate"
        if self.config.cookie and parts.netloc == self._host:
            sent["Cookie"] = self.config.cookie
        for attempt in range(retries + 1):
            if api:
                self._limiter.wait()
            try:
                response = self._http.get(url, sent, preload=not stream)
            except LocationValueError:
                raise SourceError(f"Patreon gave a link that is not a URL: {shown}") from None
            except HTTPError as exc:
                if attempt == retries:
                    raise SourceError(f"cannot reach {parts.netloc}: "
                                      f"{failure(exc)} after {retries + 1} tries") from None
                self._back_off(attempt, f"{failure(exc)} on {shown}")
                continue
            status = response.status
            if status == 429:
                finish(response, complete=False)
                wait = retry_after(response.headers.get("Retry-After"))
                delay = self._backoff(attempt) if wait is None else wait
                if attempt == retries or delay > self.config.max_wait_s:
                    raise RateLimited(
                        f"Patreon is rate limiting us (HTTP 429); try again in "
                        f"{delay:.0f} s or lower -o requests_per_second", retry_after=delay)
                self._pause(delay, f"429 on {shown}")
                continue
            if status >= 500:
                finish(response, complete=False)
                if attempt == retries:
                    raise SourceError(f"Patreon keeps failing (HTTP {status}) for {shown} after "
                                      f"{retries + 1} tries; try again later")
                self._back_off(attempt, f"HTTP {status} on {shown}")
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _check(self, response: Response, subject: str, *, expiring: bool) -> None:
        status = response.status
        if status < 400:
            return
        try:
            body = response.data[:65536]  # a streamed error body, so that its detail is read
        except HTTPError:
            body = b""
        if status == 401:
            raise SourceAuthError(LOG_IN_AGAIN if self.config.cookie else NO_SESSION)
        if status == 403 and _is_cloudflare(response, body):
            raise SourceError(CLOUDFLARE)
        if status == 426:
            raise SourceError(OUTDATED)
        if expiring and status in (400, 403, 410):
            raise ExpiredLink(f"{subject}: link expired (HTTP {status})")
        if status == 404:
            raise ItemRejected(subject, "not found on Patreon (HTTP 404)")
        detail = _error_detail(body)
        raise SourceError(f"Patreon refused {subject} (HTTP {status})"
                          + (f": {detail}" if detail else ""))

    def _backoff(self, attempt: int) -> float:
        base: float = min(MAX_BACKOFF_S, self.config.backoff_s * 2.0 ** attempt)
        return base * random.uniform(0.5, 1.5)

    def _back_off(self, attempt: int, why: str) -> None:
        """Wait before try ``attempt + 2``: exponential backoff with jitter."""
        self._pause(self._backoff(attempt), why)

    def _pause(self, seconds: float, why: str) -> None:
        log.info("patreon: %s; waiting %.1f s", why, seconds)
        self._sleep(seconds)


class _ResponseReader(io.RawIOBase):
    """A streamed media body as a raw binary file (``read`` may return fewer bytes than
    asked for). When the connection breaks off midway, the rest is asked for again with
    ``Range`` from the first missing byte, up to the client's ``max_retries`` times; a server
    that ignores ``Range`` sends the whole file again and the bytes already read are skipped."""

    def __init__(self, client: PatreonClient, url: str, response: Response,
                 subject: str) -> None:
        self._client = client
        self._url = url
        self._response = response
        self._subject = subject
        self._delivered = 0  #: bytes handed to the reader so far
        self._skip = 0  #: bytes of the current response already delivered from an earlier one
        self._breaks = 0
        self._complete = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if size == 0:
            return b""
        while True:
            try:
                chunk = self._response.read1(size)
            except HTTPError as exc:
                self._resume(exc)
                continue
            if not chunk:
                if self._skip:
                    raise SourceError(f"{self._subject}: the file changed while it was "
                                      "downloaded; the next sync fetches it again")
                self._complete = True
                return b""
            if self._skip:
                if len(chunk) <= self._skip:
                    self._skip -= len(chunk)
                    continue
                chunk, self._skip = chunk[self._skip:], 0
            self._delivered += len(chunk)
            return chunk

    def readall(self) -> bytes:
        return b"".join(iter(lambda: self.read(CHUNK_SIZE), b""))

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            finish(self._response, complete=self._complete)
        super().close()

    def _resume(self, exc: HTTPError) -> None:
        """Ask for the rest of the body after it broke off (or give up with the reason)."""
        finish(self._response, complete=False)
        self._breaks += 1
        if self._breaks > self._client.config.max_retries:
            raise SourceError(f"{self._subject}: the download broke off ({failure(exc)}) "
                              f"{self._breaks} times; the next sync fetches it again") from None
        if self._response.headers.get("Content-Encoding", "identity") != "identity":
            raise SourceError(f"{self._subject}: the download broke off ({failure(exc)}) and "
                              "a compressed download cannot be resumed; the next sync fetches "
                              "it again") from None
        self._client._back_off(self._breaks - 1, f"the download of {_without_query(self._url)} "
                               f"broke off at byte {self._delivered}")
        response = self._client._stream(self._url, self._subject,
                                        {"Range": f"bytes={self._delivered}-"})
        resumed = response.status == 206 and response.headers.get(
            "Content-Range", "").startswith(f"bytes {self._delivered}-")
        if response.status != 206 or resumed:
            self._skip = 0 if resumed else self._delivered
            self._response = response
            return
        finish(response, complete=False)
        raise SourceError(f"{self._subject}: the server resumed the download at the wrong "
                          "place; the next sync fetches it again")


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


def failure(exc: HTTPError) -> str:
    """What went wrong on the network, in a word (the cause a retry gave up on)."""
    reason = getattr(exc, "reason", None)
    return type(reason if isinstance(reason, Exception) else exc).__name__


def _charset(response: Response) -> str:
    content_type = response.headers.get("Content-Type", "")
    _, _, charset = content_type.partition("charset=")
    return charset.split(";")[0].strip() or "utf-8"


def _is_cloudflare(response: Response, body: bytes) -> bool:
    if response.headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    text = body[:4000].decode("utf-8", "replace").lower() if "html" in response.headers.get(
        "Content-Type", "") else ""
    return "just a moment" in text or "cf-chl" in text or "challenge-platform" in text


def _error_detail(body: bytes) -> str:
    """The first error a JSON:API error document gives, if any (never headers or cookies)."""
    try:
        payload = json.loads(body)
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

"""HTTP to Patreon: what Patreon's answers mean, on core's ``HttpClient``.

The shared client (``alejandria.net.client``) paces API requests, retries 429 (waiting out
``Retry-After``), 5xx and dropped connections with backoff and jitter, sends the session
cookie to the Patreon host only and resumes broken downloads. Here every other status Patreon
uses to say something becomes an error a user can act on (see the package README): 401 and
locked content mean "log in again", 403 with a Cloudflare challenge and 426 (outdated app) say
what to change, 404 rejects the one item, and a signed link that ran out is ``ExpiredLink``.
The cookie never appears in a message or a log line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import BinaryIO, cast
from urllib.parse import urlencode

from urllib3.exceptions import HTTPError

from alejandria.errors import ItemRejected, SourceAuthError, SourceError
from alejandria.models import JsonDict
from alejandria.net.client import HttpClient, RetryPolicy
from alejandria.net.transport import Response, host_of, text_of
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
#: How much of a file's error answer is read for its detail.
ERROR_BODY_BYTES = 65536


class ExpiredLink(SourceError):
    """A time-limited URL (a listing's next page, a signed media URL) no longer works."""


class PatreonClient:
    """One HTTP client per sync; safe to use from the fetch and the writer threads."""

    def __init__(self, config: PatreonConfig, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        cookies = {host_of(config.base_url): config.cookie} if config.cookie else {}
        self._http = HttpClient(
            site="Patreon", user_agent=config.user_agent, timeout_s=config.timeout_s,
            retry=RetryPolicy(max_retries=config.max_retries, backoff_s=config.backoff_s,
                              max_backoff_s=MAX_BACKOFF_S, max_wait_s=config.max_wait_s),
            requests_per_second=config.requests_per_second,
            pool_size=max(4, config.media_workers + 2), cookies=cookies,
            allowed_hosts=config.allowed_hosts, limits=config.limits,
            sleep=sleep, clock=clock)

    def close(self) -> None:
        self._http.close()

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
        response = self._http.request(f"{self.config.base_url}/{path.lstrip('/')}")
        if response.status == 404:
            return None
        self._check(response, f"/{path}", expiring=False)
        return text_of(response)

    def open(self, url: str, *, subject: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """Stream a media file (CDN downloads are not paced), resumed with ``Range`` when the
        connection breaks off. ``ExpiredLink`` when its signed URL is refused (403/410)."""
        stream = self._http.open(url, subject=subject,
                                 check=lambda response: self._check(response, subject,
                                                                    expiring=True,
                                                                    streamed=True))
        return cast("contextlib.AbstractContextManager[BinaryIO]", stream)

    def _json(self, url: str, subject: str, *, expiring: bool = False) -> JsonDict:
        response = self._http.request(url)
        self._check(response, subject, expiring=expiring)
        try:
            payload = json.loads(response.data)
        except ValueError:
            raise SourceError(f"Patreon sent something that is not JSON for {subject} "
                              "(did its API change?)") from None
        if not isinstance(payload, dict):
            raise SourceError(f"Patreon sent unexpected JSON for {subject} (did its API change?)")
        return payload

    def _check(self, response: Response, subject: str, *, expiring: bool,
               streamed: bool = False) -> None:
        status = response.status
        if status < 400:
            return
        try:  # a streamed error body: what has come of its start, however long it goes on
            body = (response.read1(ERROR_BODY_BYTES) or b"") if streamed else response.data
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

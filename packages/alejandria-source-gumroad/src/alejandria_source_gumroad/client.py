"""HTTP to Gumroad: what Gumroad's answers mean, on core's ``HttpClient``.

The shared client (``alejandria.net.client``) paces page requests, retries 429 (waiting out
``Retry-After``), 5xx and dropped connections with backoff and jitter, follows redirects one
checked hop at a time and sends the session cookie to Gumroad's host only: a file link's
redirect to its signed URL on another host goes there without it. Here Gumroad's own ways of
saying something become errors a user can act on: a redirect to ``/login`` (or 401) means
"log in again", 404 rejects the one item, and an HTML page where a file was expected (a
stamped PDF not ready yet) is refused rather than stored. The cookie never appears in a
message or a log line.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from typing import BinaryIO, cast
from urllib.parse import urljoin, urlsplit

from alejandria.errors import ItemRejected, SourceAuthError, SourceError
from alejandria.net.client import HttpClient, RetryPolicy
from alejandria.net.transport import Response, host_of, text_of
from alejandria_source_gumroad.config import GumroadConfig

LOG_IN_AGAIN = ("Gumroad no longer accepts the saved session (expired or logged out): log in "
                "to gumroad.com in a browser, copy the _gumroad_app_session cookie and run "
                "'alejandria credentials set gumroad'")
NO_SESSION = ("no Gumroad session: run 'alejandria credentials set gumroad' (or set "
              "ALEJANDRIA_GUMROAD_APP_SESSION) with the _gumroad_app_session cookie of a "
              "logged-in browser")
MAX_BACKOFF_S = 120.0


class GumroadClient:
    """One HTTP client per sync; safe to use from the fetch and the writer threads."""

    def __init__(self, config: GumroadConfig, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        cookies = {host_of(config.base_url): config.cookie} if config.cookie else {}
        self._http = HttpClient(
            site="Gumroad", user_agent=config.user_agent, timeout_s=config.timeout_s,
            retry=RetryPolicy(max_retries=config.max_retries, backoff_s=config.backoff_s,
                              max_backoff_s=MAX_BACKOFF_S, max_wait_s=config.max_wait_s),
            requests_per_second=config.requests_per_second,
            pool_size=max(4, config.media_workers + 2), cookies=cookies,
            allowed_hosts=config.allowed_hosts, limits=config.limits, sleep=sleep)

    def close(self) -> None:
        self._http.close()

    def absolute(self, url: str) -> str:
        """``url`` resolved against Gumroad's base URL (pages give paths like ``/d/...``)."""
        return urljoin(self.config.base_url + "/", url)

    def page(self, url: str, *, subject: str,
             headers: Mapping[str, str] | None = None) -> Response:
        """GET a Gumroad page (its body read); ``SourceAuthError`` when Gumroad sends us to
        log in, ``ItemRejected`` for a 404, ``SourceError`` for any other refusal."""
        response = self._http.request(self.absolute(url), headers=headers)
        if _at_login(response) or response.status == 401:
            raise SourceAuthError(LOG_IN_AGAIN if self.config.cookie else NO_SESSION)
        if response.status == 404:
            raise ItemRejected(subject, "not found on Gumroad (HTTP 404)")
        if response.status >= 400:
            raise SourceError(f"Gumroad refused {subject} (HTTP {response.status})")
        return response

    def text(self, url: str, *, subject: str) -> str:
        return text_of(self.page(url, subject=subject))

    def open(self, url: str, *, subject: str,
             expect_html: bool = False) -> contextlib.AbstractContextManager[BinaryIO]:
        """Stream a file through its ``/r/`` link and the redirect to its signed URL,
        resumed with ``Range`` when the connection breaks off."""

        def check(response: Response) -> None:
            if _at_login(response) or response.status == 401:
                raise SourceAuthError(LOG_IN_AGAIN)
            if response.status == 404:
                raise ItemRejected(subject, "the file is gone from Gumroad (HTTP 404)")
            kind = response.headers.get("Content-Type", "").lower()
            if response.status < 300 and "text/html" in kind and not expect_html:
                raise SourceError(f"Gumroad sent a web page instead of {subject} (a stamped "
                                  "PDF still being prepared?): nothing stored; sync again "
                                  "later")

        stream = self._http.open(self.absolute(url), subject=subject, check=check)
        return cast("contextlib.AbstractContextManager[BinaryIO]", stream)


def _at_login(response: Response) -> bool:
    """Whether a request ended on Gumroad's login page (a redirect to ``/login``)."""
    try:
        path = urlsplit(response.url or "").path
    except ValueError:
        return False
    return path.rstrip("/") in ("/login", "/users/sign_in")

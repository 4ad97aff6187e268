"""HTTP to Gumroad: what Gumroad's answers mean, on core's ``HttpClient``.

The shared client (``alejandria.net.client``) paces page requests, retries 429 (waiting out
``Retry-After``), 5xx and dropped connections with backoff and jitter, follows redirects one
checked hop at a time and sends the session cookie to Gumroad's host only: a file link's
redirect to its signed URL on another host goes there without it. Here Gumroad's own ways of
saying something become errors a user can act on: a redirect to ``/login`` (or 401) means
"log in again", 404 rejects the one item, a redirect to ``/confirm`` says the buyer's e-mail
must be confirmed first, and an HTML page where a file was expected is never stored: a
stamped PDF Gumroad is still preparing (its link redirects back to the download page) is
asked for again with a growing wait, then left for the next sync. What arrives is checked
against what the page said: a file whose size is not the listed one (stamped PDFs aside) is
refused before it reaches the store. The cookie never appears in a message or a log line.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
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


class ConfirmationRequired(ItemRejected):
    """Gumroad wants the buyer's e-mail address confirmed before it shows this purchase."""


class StampNotReady(SourceError):
    """A stamped PDF Gumroad is still preparing: its link led back to the download page."""


class GumroadClient:
    """One HTTP client per sync; safe to use from the fetch and the writer threads."""

    def __init__(self, config: GumroadConfig, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._sleep = sleep
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

    def absolute(self, url: str, base: str | None = None) -> str:
        """``url`` resolved against the page it was on (``base``; a seller's subdomain may
        serve a download page) or Gumroad's base URL (pages give paths like ``/d/...``)."""
        return urljoin(base or self.config.base_url + "/", url)

    def page(self, url: str, *, subject: str,
             headers: Mapping[str, str] | None = None) -> Response:
        """GET a Gumroad page (its body read); ``SourceAuthError`` when Gumroad sends us to
        log in, ``ItemRejected`` for a 404, ``SourceError`` for any other refusal."""
        response = self._http.request(self.absolute(url), headers=headers)
        if _at_login(response) or response.status == 401:
            raise SourceAuthError(LOG_IN_AGAIN if self.config.cookie else NO_SESSION)
        if _path(response) == "/confirm":
            raise ConfirmationRequired(
                subject, "Gumroad asks to confirm the buyer's e-mail address before it shows "
                         "this purchase: open its download page in a browser logged in to "
                         "Gumroad, confirm, then sync again (the other purchases were "
                         "archived)")
        if response.status == 404:
            raise ItemRejected(subject, "not found on Gumroad (HTTP 404)")
        if response.status >= 400:
            raise SourceError(f"Gumroad refused {subject} (HTTP {response.status})")
        return response

    def text(self, url: str, *, subject: str) -> str:
        return text_of(self.page(url, subject=subject))

    def open(self, url: str, *, subject: str, size: int | None = None,
             stamped: bool = False,
             expect_html: bool = False) -> contextlib.AbstractContextManager[BinaryIO]:
        """Stream a file through its ``/r/`` link and the redirect to its signed URL,
        resumed with ``Range`` when the connection breaks off. A stamped PDF not ready yet is
        asked for again ``stamp_retries`` times, waiting ``stamp_wait_s`` and then twice as
        long each time; ``size`` (the listed one) is checked at the end unless ``stamped``."""
        return self._open(url, subject=subject, size=None if stamped else size,
                          expect_html=expect_html)

    @contextlib.contextmanager
    def _open(self, url: str, *, subject: str, size: int | None,
              expect_html: bool) -> Iterator[BinaryIO]:
        wait = self.config.stamp_wait_s
        for attempt in range(self.config.stamp_retries + 1):
            try:
                with self._stream(url, subject=subject, expect_html=expect_html) as stream:
                    yield (cast("BinaryIO", SizeChecked(stream, size, subject))
                           if size is not None else stream)
                    return
            except StampNotReady:
                if attempt >= self.config.stamp_retries:
                    raise ItemRejected(subject, "Gumroad is still preparing this stamped PDF "
                                                f"(asked {attempt + 1} times): nothing stored; "
                                                "the next sync gets it") from None
                self._sleep(wait)
                wait *= 2

    def _stream(self, url: str, *, subject: str,
                expect_html: bool) -> contextlib.AbstractContextManager[BinaryIO]:
        def check(response: Response) -> None:
            if _at_login(response) or response.status == 401:
                raise SourceAuthError(LOG_IN_AGAIN)
            if response.status == 404:
                raise ItemRejected(subject, "the file is gone from Gumroad (HTTP 404)")
            kind = response.headers.get("Content-Type", "").lower()
            if response.status < 300 and "text/html" in kind and not expect_html:
                if _path(response).startswith("/d/"):
                    raise StampNotReady(subject)
                raise SourceError(f"Gumroad sent a web page instead of {subject}: nothing "
                                  "stored; sync again later")

        stream = self._http.open(self.absolute(url), subject=subject, check=check)
        return cast("contextlib.AbstractContextManager[BinaryIO]", stream)


class SizeChecked:
    """A file stream that refuses, at its end, a file that is not the size the page listed
    (a body cut short or padded, an error document): raised before the store keeps it."""

    def __init__(self, stream: BinaryIO, size: int, subject: str) -> None:
        self._stream = stream
        self._size = size
        self._subject = subject
        self._read = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self._stream.read(n)
        self._read += len(chunk)
        if self._read > self._size or (not chunk and self._read != self._size):
            raise ItemRejected(self._subject, f"Gumroad sent {'more than ' if chunk else ''}"
                                              f"{self._read} bytes where the download page "
                                              f"lists {self._size}: nothing stored; sync "
                                              "again later")
        return chunk


def _path(response: Response) -> str:
    try:
        return urlsplit(response.url or "").path.rstrip("/")
    except ValueError:
        return ""


def _at_login(response: Response) -> bool:
    """Whether a request ended on Gumroad's login page (a redirect to ``/login``)."""
    return _path(response) in ("/login", "/users/sign_in")

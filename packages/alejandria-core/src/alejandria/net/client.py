"""The HTTP client a source talks to its site with.

One per sync, shared by the fetch and the writer threads: pooled connections, a polite rate per
host, the site's cookies sent to their own host only, and the failures every site has handled
the same way: 429 waits out ``Retry-After`` (up to ``max_wait_s``, else ``RateLimited``), 5xx
and dropped connections are retried with exponential backoff and jitter, and what cannot be
fixed by waiting ends in one readable line that names the site. What a status means for one
site (a login that expired, a bot check, a signed link that ran out) is the source's to say:
every other response is returned to it. No message or log line holds a cookie, a token or the
query of a URL (signed URLs carry their signature there).

What a site links to is not trusted: only http(s) URLs to public addresses are fetched (or
hosts the user allows), every redirect hop is checked the same way, and a URL refused for any
of these reasons is ``URLRefused`` at once, never retried. Sizes and speeds are bounded
(``limits``): a file's size, an API answer's decoded size, a transfer that crawls.

    http = HttpClient(site="Gumroad", user_agent=..., cookies={"app.gumroad.com": cookie})
    page = http.request("https://app.gumroad.com/library")   # body read, connection back
    with http.open(file_url, subject="book.pdf") as stream:   # resumable, for MediaStore
        ...
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from urllib3.exceptions import HTTPError, LocationValueError, NameResolutionError

from alejandria.errors import ConfigurationError, RateLimited, SourceError, URLRefused
from alejandria.net.address_guard import AddressRefused
from alejandria.net.addresses import AllowList
from alejandria.net.backoff import backoff, retry_after
from alejandria.net.download import ResumableStream
from alejandria.net.limits import TransferLimits
from alejandria.net.rate_limit import HostRateLimiter
from alejandria.net.redirects import REDIRECT_STATUSES, Hops, hop_headers
from alejandria.net.transport import (
    Response,
    Transport,
    failure,
    finish,
    host_of,
    preloaded,
    shown,
)
from alejandria.net.urls import split
from alejandria.redaction import remember_secret

log = logging.getLogger(__name__)

#: Inspects a file's first response before its body is read: raise to refuse it (the client
#: then closes the response). The site's own statuses (401, 403, an expired link) go here.
Check = Callable[[Response], None]
#: What an API answer is read in: decoded pieces of at most this size.
READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries: ``max_retries`` after the first try, waiting ``backoff_s``
    doubled each time (at most ``max_backoff_s``, ±50 % jitter); a ``Retry-After`` is waited
    out when it is at most ``max_wait_s``."""

    max_retries: int = 5
    backoff_s: float = 2.0
    max_backoff_s: float = 120.0
    max_wait_s: float = 900.0

    def delay(self, attempt: int) -> float:
        return backoff(attempt, base=self.backoff_s, cap=self.max_backoff_s)


class HttpClient:
    """Thread-safe HTTP for one site (``site`` names it in messages: "Patreon").

    ``cookies`` maps a host (``www.patreon.com``, with ``:port`` when not the default) to the
    ``Cookie`` header sent to that host and to no other; a redirect to another host, or from
    https down to http, drops it. The values are registered with ``redaction``, so no message
    that goes through ``redact`` shows them.
    ``requests_per_second`` paces each host on its own (0: no limit); ``paced=False`` on a
    request skips it (a CDN's files). ``sleep``/``clock`` are for tests.

    Only public addresses are reached (``addresses``): ``allowed_hosts`` names the private
    ones that may be (a site's own base URL on the LAN, ``ALEJANDRIA_ALLOW_PRIVATE_HOSTS``);
    a URL that may not be fetched raises ``URLRefused`` at once, never retried. ``limits``
    bounds sizes and speeds (``TransferLimits``; its defaults are the settings' defaults);
    ``ca_certs`` is a CA bundle to trust instead of certifi's (a private CA on the LAN).
    """

    def __init__(self, *, site: str, user_agent: str, timeout_s: float = 60.0,
                 retry: RetryPolicy | None = None, requests_per_second: float = 0.0,
                 pool_size: int = 10, cookies: Mapping[str, str] | None = None,
                 proxies: Mapping[str, str] | None = None,
                 allowed_hosts: Iterable[str] = (), limits: TransferLimits | None = None,
                 ca_certs: str | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.site = site
        self.retry = retry or RetryPolicy()
        self.limits = limits or TransferLimits()
        self._cookies = {host.lower(): value for host, value in (cookies or {}).items()}
        for value in self._cookies.values():
            remember_secret(value)
        try:
            allow = AllowList.parse(allowed_hosts)
        except ValueError as exc:
            raise ConfigurationError(f"allowed private host {exc}") from None
        self._sleep = sleep
        self._clock = clock
        self._limiter = HostRateLimiter(requests_per_second, sleep=sleep, clock=clock)
        self._transport = Transport(timeout_s=timeout_s, user_agent=user_agent,
                                    pool_size=pool_size, proxies=proxies, allow=allow,
                                    ca_certs=ca_certs)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, url: str, *, method: str = "GET", headers: Mapping[str, str] | None = None,
                body: bytes | None = None, stream: bool = False, paced: bool = True) -> Response:
        """One request, its redirects followed (each hop checked), retried on 429, 5xx and
        network failures; any other response is returned, its status for the caller to check.
        ``URLRefused`` (not retried) for a URL, a hop or an address that may not be fetched,
        a redirect loop or too many redirects.

        Unless ``stream``, the body is read (a body that breaks off is retried too), asked for
        compressed and decoded with a cap on its decoded size (``TooLarge``), and the
        connection is back in the pool. With ``stream`` the body is asked for and left as
        served (``Accept-Encoding: identity``, no decoding): the caller reads it and calls
        ``transport.finish`` (or uses ``open``).
        """
        retries = self.retry.max_retries
        split(url)  # URLRefused for what is not a URL at all, before anything else
        host = host_of(url)
        where = shown(url)
        sent = dict(headers) if headers else {}
        sent.setdefault("Accept-Encoding", "identity" if stream else "gzip, deflate")
        for attempt in range(retries + 1):
            if paced:
                self._limiter.wait(host)
            try:
                response = self._follow(method, url, sent, body=body, stream=stream)
                if not stream:
                    response = self._read_answer(response, where)
            except LocationValueError:
                raise URLRefused(f"refused {where}: not a valid URL") from None
            except HTTPError as exc:
                if _unresolved(exc):
                    # offline, or a misspelt host: retrying for a minute only hides it (a
                    # queued job is retried later by the runner anyway)
                    raise SourceError(f"cannot reach {self.site}: the name {host} does not "
                                      "resolve; check the network connection (and DNS) and "
                                      "try again") from None
                if attempt == retries:
                    raise SourceError(f"cannot reach {self.site} at {host}: {failure(exc)} "
                                      f"after {retries + 1} tries; check the network or try "
                                      "again later") from None
                self._back_off(attempt, f"{failure(exc)} on {where}")
                continue
            status = response.status
            if status == 429:
                finish(response, complete=False)
                wait = retry_after(response.headers.get("Retry-After"))
                delay = self.retry.delay(attempt) if wait is None else wait
                if attempt == retries or delay > self.retry.max_wait_s:
                    raise RateLimited(
                        f"{self.site} is rate limiting us (HTTP 429); try again in "
                        f"{delay:.0f} s or lower -o requests_per_second", retry_after=delay)
                self._pause(delay, f"429 on {where}")
                continue
            if status >= 500:
                finish(response, complete=False)
                if attempt == retries:
                    raise SourceError(f"{self.site} keeps failing (HTTP {status}) for {where} "
                                      f"after {retries + 1} tries; try again later")
                self._back_off(attempt, f"HTTP {status} on {where}")
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _follow(self, method: str, url: str, headers: Mapping[str, str], *,
                body: bytes | None, stream: bool) -> Response:
        """Send the request and follow its redirects, one checked hop at a time."""
        hops = Hops(url, method)
        current = url
        while True:
            credentials = hops.allow_credentials(current)
            sent = hop_headers(headers, credentials)
            cookie = self._cookies.get(host_of(current)) if credentials else None
            if cookie:
                sent["Cookie"] = cookie
            try:
                response = self._transport.request(hops.method, current, sent, preload=False,
                                                   body=body, decode=not stream)
            except AddressRefused as exc:
                raise URLRefused(f"refused {shown(current)}: {exc.reason}"
                                 + self._from(hops)) from None
            except URLRefused as exc:
                raise URLRefused(f"{exc}{self._from(hops)}") from None
            location = response.headers.get("Location")
            if response.status not in REDIRECT_STATUSES or not location:
                # the whole address of the last hop (urllib3 keeps only its path): a source
                # tells where a redirect led (a login page) and resolves the page's links
                response.url = current
                return response
            _discard(response)
            current = hops.next(current, response.status, location)
            if hops.method == "GET":
                body = None

    @staticmethod
    def _from(hops: Hops) -> str:
        return f" (a redirect from {shown(hops.first)})" if hops.redirected else ""

    def _read_answer(self, response: Response, where: str) -> Response:
        """The whole body, decoded a bounded piece at a time with a running count: an answer
        over ``max_api_response_bytes`` decoded is ``TooLarge`` before it fills memory (a
        gzip bomb never inflates whole); too slow or past the deadline, ``SourceError``."""
        limit = self.limits.max_api_response_bytes
        guard = self.limits.speed_guard(f"{self.site} answering {where}", clock=self._clock,
                                        deadline=True)
        pieces: list[bytes] = []
        size = 0
        try:
            while piece := response.read1(READ_SIZE):  # what came, not a full READ_SIZE
                size += len(piece)
                if size > limit:
                    raise self.limits.answer_too_large(self.site, where)
                pieces.append(piece)
                guard.received(len(piece))
        except BaseException:
            finish(response, complete=False)
            raise
        finish(response, complete=True)
        return preloaded(response, b"".join(pieces))

    def open(self, url: str, *, subject: str, check: Check | None = None,
             headers: Mapping[str, str] | None = None, paced: bool = False) -> ResumableStream:
        """Stream a file: a raw binary stream (and context manager) that resumes with
        ``Range`` when the connection breaks off. ``check`` sees the first response and every
        resumed one; a status of 400 or more it lets through is refused here. A file over
        ``max_download_bytes`` is ``TooLarge``: by its ``Content-Length`` before its body is
        read, else as its bytes come."""
        limits = self.limits

        def get(extra: Mapping[str, str] | None) -> Response:
            response = self.request(url, headers={**(headers or {}), **(extra or {})},
                                    stream=True, paced=paced)
            try:
                if check is not None:
                    check(response)
                if response.status >= 400:
                    raise SourceError(f"{self.site} refused {subject} "
                                      f"(HTTP {response.status})")
                length = response.headers.get("Content-Length", "")
                if response.status == 200 and length.isdigit() and \
                        int(length) > limits.max_download_bytes:
                    raise limits.download_too_large(subject, int(length))
            except BaseException:
                finish(response, complete=False)
                raise
            return response

        first = get(None)
        return ResumableStream(first, lambda offset: get({"Range": f"bytes={offset}-"}),
                               subject=subject, max_retries=self.retry.max_retries,
                               back_off=self._back_off, limits=limits,
                               guard=limits.speed_guard(subject, clock=self._clock))

    def _back_off(self, attempt: int, why: str) -> None:
        """Wait before try ``attempt + 2``: exponential backoff with jitter."""
        self._pause(self.retry.delay(attempt), why)

    def _pause(self, seconds: float, why: str) -> None:
        log.info("%s: %s; waiting %.1f s", self.site, why, seconds)
        self._sleep(seconds)


def _discard(response: Response) -> None:
    """Done with a redirect: a small body is read so that its connection is reused (a legacy
    link redirects on every file), any other is closed unread."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) <= READ_SIZE:
        try:
            response.read(decode_content=False)
        except HTTPError:
            finish(response, complete=False)
            return
        finish(response, complete=True)
        return
    finish(response, complete=False)


def _unresolved(exc: HTTPError) -> bool:
    """Whether the host's name did not resolve (urllib3 wraps it in a retry error's reason)."""
    reason = getattr(exc, "reason", None)
    return isinstance(exc, NameResolutionError) or isinstance(reason, NameResolutionError)

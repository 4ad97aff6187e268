"""The HTTP client a source talks to its site with.

One per sync, shared by the fetch and the writer threads: pooled connections, a polite rate per
host, the site's cookies sent to their own host only, and the failures every site has handled
the same way: 429 waits out ``Retry-After`` (up to ``max_wait_s``, else ``RateLimited``), 5xx
and dropped connections are retried with exponential backoff and jitter, and what cannot be
fixed by waiting ends in one readable line that names the site. What a status means for one
site (a login that expired, a bot check, a signed link that ran out) is the source's to say:
every other response is returned to it. No message or log line holds a cookie, a token or the
query of a URL (signed URLs carry their signature there).

    http = HttpClient(site="Gumroad", user_agent=..., cookies={"app.gumroad.com": cookie})
    page = http.request("https://app.gumroad.com/library")   # body read, connection back
    with http.open(file_url, subject="book.pdf") as stream:   # resumable, for MediaStore
        ...
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from urllib3.exceptions import HTTPError, LocationValueError

from alejandria.errors import RateLimited, SourceError
from alejandria.net.backoff import backoff, retry_after
from alejandria.net.download import ResumableStream
from alejandria.net.rate_limit import HostRateLimiter
from alejandria.net.transport import Response, Transport, failure, finish, host_of, shown

log = logging.getLogger(__name__)

#: Inspects a file's first response before its body is read: raise to refuse it (the client
#: then closes the response). The site's own statuses (401, 403, an expired link) go here.
Check = Callable[[Response], None]


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
    ``Cookie`` header sent to that host and to no other; a redirect to another host drops it.
    ``requests_per_second`` paces each host on its own (0: no limit); ``paced=False`` on a
    request skips it (a CDN's files). ``sleep``/``clock`` are for tests.
    """

    def __init__(self, *, site: str, user_agent: str, timeout_s: float = 60.0,
                 retry: RetryPolicy | None = None, requests_per_second: float = 0.0,
                 pool_size: int = 10, cookies: Mapping[str, str] | None = None,
                 proxies: Mapping[str, str] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.site = site
        self.retry = retry or RetryPolicy()
        self._cookies = {host.lower(): value for host, value in (cookies or {}).items()}
        self._sleep = sleep
        self._limiter = HostRateLimiter(requests_per_second, sleep=sleep, clock=clock)
        self._transport = Transport(timeout_s=timeout_s, user_agent=user_agent,
                                    pool_size=pool_size, proxies=proxies)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, url: str, *, method: str = "GET", headers: Mapping[str, str] | None = None,
                body: bytes | None = None, stream: bool = False, paced: bool = True) -> Response:
        """One request, retried on 429, 5xx and network failures; any other response is
        returned, its status for the caller to check.

        Unless ``stream``, the body is read (a body that breaks off is retried too), asked for
        compressed, and the connection is back in the pool. With ``stream`` the caller reads
        the body and calls ``transport.finish`` (or uses ``open``).
        """
        retries = self.retry.max_retries
        host = host_of(url)
        where = shown(url)
        sent = dict(headers) if headers else {}
        if not stream:
            sent.setdefault("Accept-Encoding", "gzip, deflate")
        cookie = self._cookies.get(host)
        if cookie:
            sent["Cookie"] = cookie
        for attempt in range(retries + 1):
            if paced:
                self._limiter.wait(host)
            try:
                response = self._transport.request(method, url, sent, body=body,
                                                   preload=not stream)
            except LocationValueError:
                raise SourceError(f"{self.site} gave a link that is not a URL: {where}") from None
            except HTTPError as exc:
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

    def open(self, url: str, *, subject: str, check: Check | None = None,
             headers: Mapping[str, str] | None = None, paced: bool = False) -> ResumableStream:
        """Stream a file: a raw binary stream (and context manager) that resumes with
        ``Range`` when the connection breaks off. ``check`` sees the first response and every
        resumed one; a status of 400 or more it lets through is refused here."""
        def get(extra: Mapping[str, str] | None) -> Response:
            response = self.request(url, headers={**(headers or {}), **(extra or {})},
                                    stream=True, paced=paced)
            try:
                if check is not None:
                    check(response)
                if response.status >= 400:
                    raise SourceError(f"{self.site} refused {subject} "
                                      f"(HTTP {response.status})")
            except BaseException:
                finish(response, complete=False)
                raise
            return response

        return ResumableStream(get(None), lambda offset: get({"Range": f"bytes={offset}-"}),
                               subject=subject, max_retries=self.retry.max_retries,
                               back_off=self._back_off)

    def _back_off(self, attempt: int, why: str) -> None:
        """Wait before try ``attempt + 2``: exponential backoff with jitter."""
        self._pause(self.retry.delay(attempt), why)

    def _pause(self, seconds: float, why: str) -> None:
        log.info("%s: %s; waiting %.1f s", self.site, why, seconds)
        self._sleep(seconds)

"""Redirects, followed by the client itself rather than urllib3, so that every hop is checked
like the first URL (scheme, host, address: ``urls.vet_url`` and ``address_guard``), a loop or
an endless chain ends at once with ``URLRefused``, and credentials follow the rules below.

Credentials (the ``Cookie`` the client holds for a host, a caller's ``Cookie`` or
``Authorization``) go to a hop only when it is on the host the request started on (host and
port) and no hop went from https down to http: a cookie sent over TLS must not then travel in
the clear, even to the same host.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urljoin

from alejandria.errors import URLRefused
from alejandria.net.urls import host_of, shown, split

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Headers that carry credentials: dropped on a hop to another host or down to http.
CREDENTIALS = frozenset({"cookie", "authorization", "proxy-authorization"})


class Hops:
    """The hops of one request: ``allow_credentials(url)`` for the one about to be sent,
    ``next(url, status, location)`` for the one a redirect leads to."""

    def __init__(self, url: str, method: str) -> None:
        self.first = url
        self.method = method
        self.seen = [url]
        self._host = host_of(url)
        self._secure = split(url).scheme.lower() == "https"
        self._downgraded = False

    @property
    def redirected(self) -> bool:
        return len(self.seen) > 1

    def allow_credentials(self, url: str) -> bool:
        return not self._downgraded and host_of(url) == self._host

    def next(self, current: str, status: int, location: str) -> str:
        """The URL a redirect leads to (relative to ``current``), or ``URLRefused`` for a
        loop or one hop too many. 303, and 301/302 after a POST, go on as a GET."""
        target = urljoin(current, location.strip())
        if target in self.seen:
            raise URLRefused(f"refused {shown(self.first)}: a redirect loop "
                             f"({shown(target)} again)")
        if len(self.seen) > MAX_REDIRECTS:
            raise URLRefused(f"refused {shown(self.first)}: more than {MAX_REDIRECTS} "
                             "redirects")
        self.seen.append(target)
        scheme = split(target).scheme.lower()
        if self._secure and scheme == "http":
            self._downgraded = True
        self._secure = self._secure or scheme == "https"
        if status == 303 or (status in (301, 302) and self.method == "POST"):
            self.method = "GET"
        return target


def hop_headers(headers: Mapping[str, str], credentials: bool) -> dict[str, str]:
    """``headers`` for a hop, without the credentials when it may not have them."""
    if credentials:
        return dict(headers)
    return {name: value for name, value in headers.items() if name.lower() not in CREDENTIALS}

"""HTTP over urllib3 pools: redirects followed, the environment's proxies, certifi's CAs.

Why urllib3 and not httpx (the project's usual client): a sync downloads thousands of files,
and per file httpx spent about twice the client CPU of urllib3 on the same downloads (900
files of 256 KB over loopback: 0.9 vs 0.47 s, ``bench/patreon_bench.py`` prints both loops).
On a small home server that CPU is the limit of a first sync. urllib3 keeps what a source
needs from httpx: connection pools shared by threads, TLS with certifi's CA bundle (so an
image without system certificates still works), redirects that drop the cookie when they
leave the host, ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY`` from the environment, and a
body shorter than its ``Content-Length`` raised as an error instead of stored.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3
from urllib3.exceptions import HTTPError
from urllib3.util import Retry

from alejandria.errors import SourceError

#: No retries here (the client's loop retries with backoff and says why), up to 5 redirects.
#: A redirect to another host drops ``Cookie`` and ``Authorization`` (urllib3's default
#: ``remove_headers_on_redirect``), so a site's session never reaches a host it links to.
_REDIRECTS_ONLY = Retry(total=None, connect=0, read=0, redirect=5, status=0, other=0,
                        raise_on_redirect=True, raise_on_status=False)

Response = urllib3.BaseHTTPResponse


class Transport:
    """Thread-safe requests; ``urllib3.exceptions.HTTPError`` when the server cannot be
    reached (``LocationValueError`` for what is not a URL)."""

    def __init__(self, *, timeout_s: float, user_agent: str, pool_size: int,
                 proxies: Mapping[str, str] | None = None) -> None:
        options: dict[str, Any] = {
            "num_pools": 16, "maxsize": pool_size, "block": False,
            "ca_certs": certifi.where(),
            "timeout": urllib3.Timeout(connect=timeout_s, read=timeout_s),
            "headers": {"User-Agent": user_agent},
        }
        self._direct = urllib3.PoolManager(**options)
        found = urllib.request.getproxies() if proxies is None else dict(proxies)
        self._proxied: dict[str, urllib3.PoolManager] = {}
        for scheme in ("http", "https"):
            proxy = found.get(scheme) or found.get("all")
            if proxy:
                self._proxied[scheme] = _proxy_manager(proxy, options)

    def request(self, method: str, url: str, headers: Mapping[str, str], *, preload: bool,
                body: bytes | None = None) -> Response:
        """Send one request; with ``preload`` the body is read here (its failures raised
        here), else the caller reads it and ``finish``es the response."""
        manager = self._direct
        if self._proxied:
            parts = urlsplit(url)
            proxied = self._proxied.get(parts.scheme)
            if proxied is not None and not urllib.request.proxy_bypass(parts.hostname or ""):
                manager = proxied
        return manager.request(method, url, headers=dict(headers), body=body,
                               preload_content=preload, retries=_REDIRECTS_ONLY)

    def close(self) -> None:
        self._direct.clear()
        for manager in self._proxied.values():
            manager.clear()


def finish(response: Response, *, complete: bool) -> None:
    """Give the connection back: reusable when its body was read to the end, closed when
    not (unread bytes would be taken for the next response)."""
    if not complete:
        response.close()
    response.release_conn()


def failure(exc: HTTPError) -> str:
    """What went wrong on the network, in a word (the cause a retry gave up on): never the
    exception's text, which can hold the URL with its signed query."""
    reason = getattr(exc, "reason", None)
    return type(reason if isinstance(reason, Exception) else exc).__name__


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, lowercased, without the user and password it may carry."""
    return urlsplit(url).netloc.rpartition("@")[2].lower()


def shown(url: str) -> str:
    """A URL as messages and logs show it: host and path, never the query (signatures,
    tokens) or a password."""
    parts = urlsplit(url)
    return f"{parts.netloc.rpartition('@')[2]}{parts.path}"


def text_of(response: Response) -> str:
    """A preloaded body as text, in the charset its ``Content-Type`` names (UTF-8 if none)."""
    _, _, charset = response.headers.get("Content-Type", "").partition("charset=")
    encoding = charset.split(";")[0].strip().strip('"') or "utf-8"
    try:
        return response.data.decode(encoding, "replace")
    except LookupError:  # a charset Python does not know
        return response.data.decode("utf-8", "replace")


def _proxy_manager(proxy: str, options: dict[str, Any]) -> urllib3.PoolManager:
    if proxy.startswith("socks"):
        try:
            from urllib3.contrib.socks import SOCKSProxyManager
        except ImportError:  # PySocks is not installed
            raise SourceError(f"the proxy {host_of(proxy)} is a SOCKS proxy: "
                              "pip install 'urllib3[socks]' to use it") from None
        return SOCKSProxyManager(proxy, **options)
    return urllib3.ProxyManager(proxy, **options)

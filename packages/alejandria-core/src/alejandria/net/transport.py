"""HTTP over urllib3 pools: one hop at a time, the environment's proxies, certifi's CAs, and
no connection to an address a site must not make us reach.

Why urllib3 and not httpx (the project's usual client): a sync downloads thousands of files,
and per file httpx spent about twice the client CPU of urllib3 on the same downloads (900
files of 256 KB over loopback: 0.9 vs 0.47 s, ``bench/patreon_bench.py`` prints both loops).
On a small home server that CPU is the limit of a first sync. urllib3 keeps what a source
needs from httpx: connection pools shared by threads, TLS with certifi's CA bundle (so an
image without system certificates still works), ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY``
from the environment, and a body shorter than its ``Content-Length`` raised as an error
instead of stored. Redirects are not followed here: the client follows them hop by hop
(``redirects``), each hop sent through ``request`` and so checked like the first.

The address check (``addresses``): every URL is vetted before anything is sent
(``urls.vet_url``: http(s) only, a host, no private IP literal or ``localhost``). Direct
connections then resolve the host name once and connect only to public or allowed addresses
(``address_guard``), so DNS rebinding cannot slip a private address in. Through a proxy the
proxy resolves the name, not us: only the up-front check applies (literal addresses and
``localhost``), and a name is not resolved here, which keeps ``socks5h``'s remote DNS remote
and works where only the proxy can resolve names. A proxy that must not reach the user's
network has to refuse private addresses itself.
"""

from __future__ import annotations

import io
import urllib.request
from collections.abc import Mapping
from typing import Any

import certifi
import urllib3
from urllib3.exceptions import HTTPError
from urllib3.util import Retry

from alejandria.errors import SourceError
from alejandria.net.address_guard import pool_classes
from alejandria.net.addresses import AllowList
from alejandria.net.urls import host_of, shown, vet_url

__all__ = ["Response", "Transport", "failure", "finish", "host_of", "preloaded", "shown",
           "text_of"]

#: No retries here (the client's loop retries with backoff and says why) and no redirects
#: (the client follows them, each hop checked).
_ONE_TRY = Retry(total=None, connect=0, read=0, redirect=0, status=0, other=0,
                 raise_on_redirect=False, raise_on_status=False)

Response = urllib3.BaseHTTPResponse


class Transport:
    """Thread-safe requests; ``urllib3.exceptions.HTTPError`` when the server cannot be
    reached, ``URLRefused`` for a URL that must not be fetched (``allow``: the private hosts
    that may be reached anyway). ``ca_certs``: a CA bundle instead of certifi's."""

    def __init__(self, *, timeout_s: float, user_agent: str, pool_size: int,
                 proxies: Mapping[str, str] | None = None, allow: AllowList | None = None,
                 ca_certs: str | None = None) -> None:
        self.allow = allow or AllowList()
        options: dict[str, Any] = {
            "num_pools": 16, "maxsize": pool_size, "block": False,
            "ca_certs": ca_certs or certifi.where(),
            "timeout": urllib3.Timeout(connect=timeout_s, read=timeout_s),
        }
        # Sent with every request: urllib3 drops a pool's default headers whenever a request
        # brings headers of its own (ours always do), so they cannot live on the pool.
        self._user_agent = user_agent
        self._direct = urllib3.PoolManager(**options)
        self._direct.pool_classes_by_scheme = pool_classes(self.allow)
        found = urllib.request.getproxies() if proxies is None else dict(proxies)
        self._proxied: dict[str, urllib3.PoolManager] = {}
        for scheme in ("http", "https"):
            proxy = found.get(scheme) or found.get("all")
            if proxy:
                self._proxied[scheme] = _proxy_manager(proxy, options)

    def request(self, method: str, url: str, headers: Mapping[str, str], *, preload: bool,
                body: bytes | None = None, decode: bool = True) -> Response:
        """Send one request (a redirect is returned, not followed). With ``preload`` the
        body is read here (its failures raised here), else the caller reads it and
        ``finish``es the response; ``decode=False`` reads it as served (no gunzip)."""
        target = vet_url(url, self.allow)
        manager = self._direct
        if self._proxied:
            proxied = self._proxied.get(target.scheme)
            if proxied is not None and not urllib.request.proxy_bypass(target.host):
                manager = proxied
        sent = {"User-Agent": self._user_agent, **headers}
        return manager.request(method, url, headers=sent, body=body,
                               preload_content=preload, decode_content=decode,
                               redirect=False, retries=_ONE_TRY)

    def close(self) -> None:
        self._direct.clear()
        for manager in self._proxied.values():
            manager.clear()


def preloaded(response: Response, body: bytes) -> Response:
    """A response holding ``body`` (read and decoded already) as its ``data``, with the
    status and headers of ``response``; nothing left to release."""
    headers = urllib3.HTTPHeaderDict(response.headers)
    headers.discard("Content-Encoding")
    headers["Content-Length"] = str(len(body))
    return urllib3.HTTPResponse(body=io.BytesIO(body), headers=headers, status=response.status,
                                version=response.version, reason=response.reason,
                                preload_content=True, decode_content=False,
                                enforce_content_length=False, request_url=response.url)


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

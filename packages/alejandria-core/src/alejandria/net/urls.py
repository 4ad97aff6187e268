"""URLs as the network layer takes and shows them: what may be fetched at all (checked before
any connection) and how a URL appears in a message (host and path, never the query)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from alejandria.errors import URLRefused
from alejandria.net.addresses import AllowList, literal_address, refusal

#: The longest URL text a message shows.
SHOWN_LENGTH = 120
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    """Where a URL leads: its scheme, host (no brackets) and port."""

    scheme: str
    host: str
    port: int


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, lowercased, without the user and password it may carry
    (empty for what is not a URL)."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return ""
    return netloc.rpartition("@")[2].lower()


def own_host(base_url: str) -> str | None:
    """``host:port`` of a source's configured base URL, as ``allow_private_hosts`` lists
    hosts (an IPv6 host in brackets, the scheme's port when none is given): the host a
    source may reach even on a private address (a local mirror, a test fixture). None
    when the URL names no host."""
    try:
        parts = urlsplit(base_url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return None
    if not host:
        return None
    port = port or DEFAULT_PORTS.get(parts.scheme, 80)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def shown(url: str) -> str:
    """A URL as messages and logs show it: host and path, never the query (signatures,
    tokens), a fragment or a password; other schemes keep their name (``file:///etc/passwd``),
    a ``data:`` URL only its media type."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _cut(url.partition("?")[0].partition("#")[0])
    scheme = parts.scheme.lower()
    if scheme == "data":
        media_type = parts.path.partition(",")[0].partition(";")[0]
        return f"data:{media_type}"
    netloc = parts.netloc.rpartition("@")[2]
    if scheme in DEFAULT_PORTS or (not scheme and netloc):
        return _cut(f"{netloc}{parts.path}")
    if scheme:
        return _cut(f"{scheme}://{netloc}{parts.path}" if netloc or url[len(scheme) + 1:]
                    .startswith("//") else f"{scheme}:{parts.path}")
    return _cut(parts.path)


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH - 1] + "…"


def split(url: str) -> SplitResult:
    """``urlsplit``, with a URL that cannot be parsed refused (``http://[::1``)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise URLRefused(f"refused {shown(url)}: not a valid URL") from None
    return parts


def vet_url(url: str, allow: AllowList) -> Target:
    """The target of a URL we may fetch, or ``URLRefused`` before any connection: only
    http(s) URLs with a host, and no host that is a non-public address by itself (an IP
    literal, ``localhost``) unless allowed. Names are checked again on the addresses they
    resolve to, when connecting (``address_guard``)."""
    parts = split(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        what = f"{scheme}: links" if scheme else "relative links (no host)"
        raise URLRefused(f"refused {shown(url)}: only http and https links are fetched, not "
                         f"{what}")
    host = parts.hostname
    if not host:
        raise URLRefused(f"refused {shown(url)}: the link names no host")
    port = parts.port or DEFAULT_PORTS[scheme]
    address = literal_address(host)
    if address is not None and not allow.permits(host, port, address):
        raise URLRefused(f"refused {shown(url)}: {refusal(host, port, address)}")
    return Target(scheme, host, port)

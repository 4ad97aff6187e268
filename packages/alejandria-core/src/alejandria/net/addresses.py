"""Which network addresses a source may reach: public ones, plus what the user allows.

A site's content is not ours to trust: an inline ``<img src>``, a media URL or a redirect can
point at ``127.0.0.1:6379``, the router's admin page or a cloud's metadata service
(``169.254.169.254``), and whatever answers would be archived for the user to read. So every
address a request connects to must be *public*: not loopback, private (RFC 1918, ULA
``fc00::/7``), link-local, multicast, unspecified, shared (CGNAT) or otherwise reserved. An
IPv6 address that embeds an IPv4 one (``::ffff:10.0.0.1``, 6to4) is judged by the IPv4 one.

``AllowList`` holds the exceptions: ``ALEJANDRIA_ALLOW_PRIVATE_HOSTS`` (people who archive a
server on their own network) and a site's own configured base URL. An entry is a host name,
an IP address or a CIDR network, each optionally with ``:port`` (IPv6 in brackets:
``[fd00::1]:8080``). A name entry allows whatever that name resolves to; an address or
network entry allows any name that resolves into it.

Standard library only: the settings validate entries with it, and importing the settings
must not import urllib3.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Where the user allows private hosts (named in every refusal).
ALLOW_SETTING = "ALEJANDRIA_ALLOW_PRIVATE_HOSTS"


def parse_address(text: str) -> Address | None:
    """``text`` as an IP address (brackets and an IPv6 zone dropped), None when it is not."""
    text = text.strip().strip("[]").partition("%")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def literal_address(host: str) -> Address | None:
    """The address a URL's host stands for without a DNS lookup: an IP literal, a legacy IPv4
    form that resolvers accept (``127.1``, ``0x7f.0.0.1``, ``2130706433``) or a ``localhost``
    name (RFC 6761: always loopback). None for other names."""
    address = parse_address(host)
    if address is not None:
        return address
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return ipaddress.IPv4Address("127.0.0.1")
    if name and all(ch in "0123456789abcdefx." for ch in name):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


def _embedded(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, 6to4), else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def kind_of(address: Address) -> str | None:
    """Why ``address`` is not public ("loopback", "private", ...), None when it is public."""
    address = _embedded(address)
    checks = (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
              ("link-local", address.is_link_local), ("multicast", address.is_multicast),
              ("private", address.is_private))
    for kind, hit in checks:
        if hit:
            return kind
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


def is_public(address: Address) -> bool:
    return kind_of(address) is None


@dataclass(frozen=True)
class AllowRule:
    """One allow-list entry: a host name or a network, and a port (None: any port)."""

    name: str | None = None
    network: Network | None = None
    port: int | None = None

    @classmethod
    def parse(cls, entry: str) -> AllowRule:
        """``ValueError`` naming the entry when it is none of the forms above."""
        text = entry.strip()
        host, port = _split_port(text)
        if not host:
            raise ValueError(f"{entry!r} names no host")
        network: Network | None = None
        try:
            network = ipaddress.ip_network(host, strict=False)
        except ValueError:
            if "/" in host or ":" in host or any(ch.isspace() for ch in host):
                raise ValueError(f"{entry!r} is not a host name, IP address or network, each "
                                 "optionally with :port") from None
        if network is not None:
            return cls(network=network, port=port)
        return cls(name=host.lower().rstrip("."), port=port)

    def allows(self, host: str, port: int, address: Address | None) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.name is not None:
            return host.lower().rstrip(".") == self.name
        assert self.network is not None
        if address is None:
            return False
        candidates = {address, _embedded(address)}
        return any(candidate.version == self.network.version and candidate in self.network
                   for candidate in candidates)


def _split_port(text: str) -> tuple[str, int | None]:
    """``host[:port]``; IPv6 with a port in brackets (``[::1]:8080``), bare IPv6 without."""
    if text.startswith("["):
        inside, bracket, rest = text[1:].partition("]")
        if not bracket:
            raise ValueError(f"{text!r} opens a bracket it does not close")
        return inside, _port(rest.removeprefix(":"), text) if rest else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(port, text)
    return text, None


def _port(value: str, entry: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{entry!r} has no valid port after ':'")
    return int(value)


@dataclass(frozen=True)
class AllowList:
    """The private hosts a client may reach anyway (see the module docstring)."""

    rules: tuple[AllowRule, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        return cls(tuple(AllowRule.parse(entry) for entry in entries if entry.strip()))

    def allows(self, host: str, port: int, address: Address | None) -> bool:
        """Whether a connection to ``host:port`` (at ``address``) is allowed although the
        address is not public."""
        return any(rule.allows(host, port, address) for rule in self.rules)

    def permits(self, host: str, port: int, address: Address) -> bool:
        """Whether ``host:port`` may be reached at ``address``: public, or allowed."""
        return is_public(address) or self.allows(host, port, address)


def refusal(host: str, port: int, address: Address) -> str:
    """Why a connection to ``host:port`` at ``address`` is refused, and how to allow it."""
    shown_host = f"[{host}]" if ":" in host else host
    kind = kind_of(address) or "non-public"
    where = f"is {kind}" if parse_address(host) == address else f"resolves to {kind} {address}"
    return (f"{shown_host} {where}, which a site must not make us fetch; to archive from your "
            f"own network, add {shown_host}:{port} to {ALLOW_SETTING}")

"""The address check where it cannot be tricked: on the socket's own connect.

urllib3 connections that resolve their host once, keep the addresses ``AllowList.permits``
(public ones, or allowed), and connect only to those. Checking a name first and letting the
connection resolve it again would let DNS rebinding through (a public answer to the check, a
private one to the connect); here the address checked is the address connected to. TLS is
untouched: SNI and certificate verification still use the URL's host name.

``pool_classes(allow)`` gives the pool classes a ``PoolManager`` installs. Connections to a
proxy are not guarded: the proxy is the user's own choice and reaches the network for us (see
``transport`` for what is checked then).
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import ClassVar

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

from alejandria.errors import URLRefused
from alejandria.net.addresses import AllowList, refusal


class AddressRefused(URLRefused):
    """The host resolves only to addresses a site must not make us reach. The client adds
    the URL to ``reason`` in what it raises (this connection does not know it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def guarded_socket(conn: HTTPConnection, allow: AllowList) -> socket.socket:
    """What ``HTTPConnection._new_conn`` does, connecting only to vetted addresses."""
    host, port = conn._dns_host, conn.port  # urllib3 resolves this name (no trailing dot)
    try:
        found = socket.getaddrinfo(host, port, connection.allowed_gai_family(),
                                   socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    vetted: list[str] = []
    refused: str | None = None
    for *_, sockaddr in found:
        text = str(sockaddr[0])
        address = ipaddress.ip_address(text.partition("%")[0])
        if allow.permits(conn.host, port, address):
            if text not in vetted:
                vetted.append(text)
        elif refused is None:
            refused = refusal(conn.host, port, address)
    if not vetted:
        raise AddressRefused(refused or f"{conn.host} has no address")
    failure: Exception | None = None
    for text in vetted:  # the numeric address: create_connection resolves nothing more
        try:
            sock = connection.create_connection((text, port), conn.timeout,
                                                source_address=conn.source_address,
                                                socket_options=conn.socket_options)
        except TimeoutError as exc:
            failure = ConnectTimeoutError(conn, f"Connection to {conn.host} timed out. "
                                                f"(connect timeout={conn.timeout})")
            failure.__cause__ = exc
        except OSError as exc:
            failure = NewConnectionError(conn, f"Failed to establish a new connection: {exc}")
            failure.__cause__ = exc
        else:
            sys.audit("http.client.connect", conn, conn.host, port)
            return sock
    assert failure is not None
    raise failure


class GuardedHTTPConnection(HTTPConnection):
    allow: ClassVar[AllowList] = AllowList()

    def _new_conn(self) -> socket.socket:
        return guarded_socket(self, self.allow)


class GuardedHTTPSConnection(HTTPSConnection):
    allow: ClassVar[AllowList] = AllowList()

    def _new_conn(self) -> socket.socket:
        return guarded_socket(self, self.allow)


def pool_classes(allow: AllowList) -> dict[str, type[HTTPConnectionPool]]:
    """``PoolManager.pool_classes_by_scheme`` whose connections check against ``allow``."""
    http = type("GuardedHTTPConnection", (GuardedHTTPConnection,), {"allow": allow})
    https = type("GuardedHTTPSConnection", (GuardedHTTPSConnection,), {"allow": allow})
    return {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,),
                     {"ConnectionCls": http}),
        "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,),
                      {"ConnectionCls": https}),
    }

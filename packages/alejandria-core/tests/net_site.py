"""A local HTTP site for the tests of ``alejandria.net``: scripted replies, downloads that
break off, redirects, gzip; and the fixtures that give a test a site and a client of it
(registered in ``conftest.py``)."""

from __future__ import annotations

import gzip
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from alejandria.net.client import HttpClient, RetryPolicy

SECRET = "session_id=s3cr3t-cookie"


@dataclass
class Reply:
    """One scripted answer; ``cut_at``: send that many bytes of the body, then hang up.
    ``pieces``: a body sent piece by piece instead (endless, trickling), each flushed, with
    ``length`` as its ``Content-Length`` (None: none, the body ends when the connection
    closes); the server stops when the client hangs up."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    cut_at: int | None = None
    pieces: Callable[[], Iterator[bytes]] | None = None
    length: int | None = None


@dataclass
class Seen:
    host: str
    target: str  #: the request target as sent (an absolute URI through a proxy)
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.target).path


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-body (a test of limits) is expected; anything else is
        printed as usual."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Site:
    """A local HTTP/1.1 server: scripted one-off replies per path, then files (with ``Range``
    unless ``honor_range`` is off, cut off halfway ``cut_offs[path]`` times, gzip-encoded for
    the paths in ``gzipped``), else ``200 ok``. Every request is recorded."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Reply]] = {}
        self.files: dict[str, bytes] = {}
        self.cut_offs: dict[str, int] = {}
        self.gzipped: set[str] = set()
        self.honor_range = True
        self.wrong_range = False
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site._handle(self)

        self._server = _Server(("127.0.0.1", 0), Handler)
        # a short poll: each test's stop waits for it (the default is half a second)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_port

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self.scripts.setdefault(path, []).extend(replies)

    def hits(self, path: str) -> int:
        return sum(1 for seen in self.requests if seen.path == path)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        seen = Seen(handler.headers.get("Host", ""), handler.path, dict(handler.headers.items()))
        with self._lock:
            self.requests.append(seen)
            queue = self.scripts.get(seen.path)
            reply = queue.pop(0) if queue else None
            if reply is None and seen.path in self.files:
                reply = self._file(seen.path, handler.headers.get("Range"))
        _send(handler, reply or Reply())

    def _file(self, path: str, asked: str | None) -> Reply:
        body, headers, status = self.files[path], {}, 200
        if path in self.gzipped:
            body, headers["Content-Encoding"] = gzip.compress(body, mtime=0), "gzip"
        start = int(asked[len("bytes="):-1]) if asked and self.honor_range else 0
        if start:
            first = 0 if self.wrong_range else start
            headers["Content-Range"] = f"bytes {first}-{len(body) - 1}/{len(body)}"
            status, body = 206, body[first:]
        cut = None
        if self.cut_offs.get(path, 0) > 0:
            self.cut_offs[path] -= 1
            cut = len(body) // 2
        return Reply(status, body, headers, cut)


def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    handler.send_response(reply.status)
    for name, value in reply.headers.items():
        handler.send_header(name, value)
    if reply.pieces is not None:
        return _send_pieces(handler, reply, reply.pieces)
    handler.send_header("Content-Length", str(len(reply.body)))
    handler.end_headers()
    if reply.cut_at is None:
        handler.wfile.write(reply.body)
        return
    handler.wfile.write(reply.body[:reply.cut_at])
    handler.wfile.flush()
    handler.close_connection = True


def _send_pieces(handler: BaseHTTPRequestHandler, reply: Reply,
                 pieces: Callable[[], Iterator[bytes]]) -> None:
    if reply.length is not None:
        handler.send_header("Content-Length", str(reply.length))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True
    try:
        for piece in pieces():
            handler.wfile.write(piece)
            handler.wfile.flush()
    except OSError:  # the client hung up: what the tests of limits expect
        pass


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site()
    yield server
    server.stop()


@pytest.fixture
def sleeps() -> list[float]:
    """The waits a client asked for (its ``sleep``): tests check them instead of waiting."""
    return []


def new_client(site: Site, sleeps: list[float], **options: Any) -> HttpClient:
    """A client of ``site`` ("Testsite") with its cookie, that records its waits in
    ``sleeps`` instead of waiting: backoff 1 s doubling up to 8 s, 3 retries by default. The
    site's own ``127.0.0.1:<port>`` is allowed (a loopback address is refused otherwise)."""
    retry = RetryPolicy(max_retries=options.pop("max_retries", 3), backoff_s=1.0,
                        max_backoff_s=8.0, max_wait_s=options.pop("max_wait_s", 900.0))
    options.setdefault("cookies", {f"127.0.0.1:{site.port}": SECRET})
    options.setdefault("allowed_hosts", [f"127.0.0.1:{site.port}"])
    return HttpClient(site="Testsite", user_agent="alejandria-tests", timeout_s=5, retry=retry,
                      proxies={}, sleep=sleeps.append, **options)


@pytest.fixture
def make_client(site: Site, sleeps: list[float]) -> Iterator[Callable[..., HttpClient]]:
    made: list[HttpClient] = []

    def make(**options: Any) -> HttpClient:
        made.append(new_client(site, sleeps, **options))
        return made[-1]

    yield make
    for client in made:
        client.close()


# -- backoff and Retry-After ----------------------------------------------------------------

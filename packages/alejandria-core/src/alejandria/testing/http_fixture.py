"""A local HTTP server for the tests of a source that reads a site: JSON (or bytes) by path.

The ``alejandria_http_server`` fixture starts one per test on ``127.0.0.1`` and a free port,
serving from a thread, and stops it afterwards::

    def test_a_feed_is_archived(archive, alejandria_http_server):
        alejandria_http_server.routes["/feed.json"] = {"items": [...]}
        report = archive.sync("feed", alejandria_http_server.url("/feed.json"))

``routes`` maps a path to what a GET (or HEAD) of it answers: a JSON value (served as
``application/json``), ``bytes`` (``application/octet-stream``) or a ``Reply`` (any status,
body and headers). A route with a query (``/feed.json?page=2``) matches only that query; one
without matches the path whatever its query. Anything else is a 404. ``requests`` records every
request, so a test can check what a second sync asked for (or did not).

``alejandria.net`` never connects to a loopback address unless the settings allow it, so a
test suite using the server allows it (only it, by its port) in its ``conftest.py``::

    @pytest.fixture
    def alejandria_settings_overrides(alejandria_http_server) -> dict[str, object]:
        return {"allow_private_hosts": [alejandria_http_server.host]}

``http.server`` is imported when a server starts, so loading the pytest plugin stays cheap.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

JSON = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    """An answer that is not a plain ``200`` JSON document: a status (401, 404, 500, ...),
    a body (``json``: a value to serialise; else ``body``, bytes) and headers."""

    status: int = 200
    json: Any = None
    body: bytes = b""
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        """The body and its ``Content-Type``."""
        if self.json is not None:
            return json.dumps(self.json).encode(), self.content_type or JSON
        return self.body, self.content_type or "application/octet-stream"


@dataclass(frozen=True)
class Request:
    """One request the server answered: method, target (path and query) and headers."""

    method: str
    target: str
    headers: Mapping[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.target).path


class HttpFixture:
    """A local HTTP/1.1 server on ``127.0.0.1``; ``start()``/``close()``, or ``with``."""

    def __init__(self, routes: Mapping[str, Any] | None = None) -> None:
        self.routes: dict[str, Any] = dict(routes or {})
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the HTTP fixture server is not started")
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: what ``allow_private_hosts`` takes to let sources reach it."""
        return f"127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        """The full URL of ``path`` on this server."""
        return f"http://{self.host}/{path.lstrip('/')}"

    def requested(self, path: str) -> list[Request]:
        """The requests of ``path`` (any query) so far."""
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def answer(self, method: str, target: str, headers: Mapping[str, str]) -> Reply:
        """What the server sends for a request (recorded first)."""
        with self._lock:
            self.requests.append(Request(method, target, dict(headers)))
        found = self.routes.get(target, self.routes.get(urlsplit(target).path, _MISSING))
        if found is _MISSING:
            return Reply(404, json={"error": f"no route for {urlsplit(target).path}"})
        if isinstance(found, Reply):
            return found
        if isinstance(found, bytes):
            return Reply(body=found)
        return Reply(json=found)

    def start(self) -> HttpFixture:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        fixture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._send(with_body=True)

            def do_HEAD(self) -> None:
                self._send(with_body=False)

            def _send(self, *, with_body: bool) -> None:
                reply = fixture.answer(self.command, self.path, dict(self.headers.items()))
                body, content_type = reply.encoded()
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # a test's output is not the place for an access log

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        # a short poll: close() waits for the serving loop to see the shutdown
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                                        name="alejandria-http-fixture", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> HttpFixture:
        return self.start() if self._server is None else self

    def __exit__(self, *_exc: object) -> None:
        self.close()


_MISSING = object()


@pytest.fixture
def alejandria_http_server() -> Iterator[HttpFixture]:
    """A local HTTP server for this test: set its ``routes``, point the source at ``url()``,
    and allow its ``host`` in ``allow_private_hosts``. Stopped after the test."""
    with HttpFixture() as server:
        yield server

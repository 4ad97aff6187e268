"""The local Patreon's HTTP server: the state it serves, the faults it injects on demand, the
requests it counts, and the routing of each request to the API, the CDN or a creator page
(what it speaks: see the package docstring)."""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from alejandria_source_patreon.testing.api import Api
from alejandria_source_patreon.testing.cdn import Cdn
from alejandria_source_patreon.testing.fakes import FakeCampaign, FakePost, Fault, find_post
from alejandria_source_patreon.testing.pages import creator_page, find_campaign_page
from alejandria_source_patreon.testing.wire import Response, errors_body, range_start, send

__all__ = ["PatreonFixture", "creator_page"]

#: How often the server loop checks for ``stop``: each test that stops a fixture waits for it
#: (``serve_forever``'s default, 0.5 s, was half a second per test).
POLL_INTERVAL_S = 0.02


class PatreonFixture:
    """The server and the state it serves; use as a context manager."""

    def __init__(self, *, page_size: int = 5, session_id: str | None = None) -> None:
        self.page_size = page_size
        self.session_id = session_id or "fx-" + secrets.token_hex(12)
        self.session_valid = True
        #: Patreon's logged-out view while current_user still answers: every post locked.
        self.lock_everything = False
        #: Seconds each CDN response waits (a slow link, for interrupting a sync midway).
        self.media_delay_s = 0.0
        self.campaigns: dict[str, FakeCampaign] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.faults: list[Fault] = []
        #: Path prefix -> how many more file downloads under it stop halfway (``cut_off``).
        self.cut_offs: dict[str, int] = {}
        #: Whether the CDN answers ``Range: bytes=N-`` with the rest of the file (206).
        self.honor_range = True
        self.cdn = Cdn(self)
        self.api = Api(self)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> PatreonFixture:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            #: Headers and body go out in separate writes: with Nagle a small body waited
            #: for the client's delayed ACK (40 ms per small response, measured).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fixture._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": POLL_INTERVAL_S}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fixture first"
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- state ---------------------------------------------------------------------------

    def add_campaign(self, campaign: FakeCampaign) -> FakeCampaign:
        with self._lock:
            self.campaigns[campaign.id] = campaign
        return campaign

    def find_post(self, post_id: str) -> tuple[FakeCampaign, FakePost]:
        """The post with ``post_id`` and its campaign (``KeyError`` when there is none)."""
        return find_post(self.campaigns, post_id)

    def fail(self, path: str, status: int, *, times: int = 1,
             headers: dict[str, str] | None = None, body: bytes = b"",
             content_type: str = "application/json") -> None:
        """The next ``times`` requests whose path starts with ``path`` get ``status``."""
        with self._lock:
            self.faults.append(Fault(path, status, times, headers or {}, body, content_type))

    def cut_off(self, path: str, *, times: int = 1) -> None:
        """The next ``times`` files under ``path`` stop halfway: the whole Content-Length is
        announced, half the bytes sent, and the connection closed (a dropped download)."""
        with self._lock:
            self.cut_offs[path] = self.cut_offs.get(path, 0) + times

    def cloudflare(self, path: str = "/api/", times: int = 100) -> None:
        body = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                b"<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page'></script>"
                b"</body></html>")
        self.fail(path, 403, times=times, headers={"cf-mitigated": "challenge",
                                                   "Server": "cloudflare"},
                  body=body, content_type="text/html; charset=UTF-8")

    def outdated_client(self, times: int = 100) -> None:
        body = json.dumps({"errors": [{"code": 426, "code_name": "UpgradeRequired",
                                       "detail": "Please update your app.",
                                       "status": "426"}]}).encode()
        self.fail("/api/", 426, times=times, body=body)

    def expire_session(self) -> None:
        """The cookie stops working: 401 from current_user, locked posts elsewhere."""
        self.session_valid = False

    def expire_cursors_after(self, pages: int) -> None:
        """After ``pages`` more listing pages, every issued next-page link stops working."""
        self.api.expire_cursors_after(pages)

    def expire_signatures(self) -> None:
        """Every media URL handed out so far is refused (403), as when its token times out."""
        self.cdn.expire_signatures()

    @property
    def media_requests(self) -> int:
        return sum(n for path, n in self.hits.items() if path.startswith(("/cdn/", "/file")))

    @property
    def api_requests(self) -> int:
        return sum(n for path, n in self.hits.items() if path.startswith("/api/"))

    def reset_counts(self) -> None:
        with self._lock:
            self.hits.clear()
            self.requests.clear()

    # -- request handling ----------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.hits[path] += 1
            self.requests.append((path, dict(handler.headers.items())))
            fault = next((f for f in self.faults if f.remaining > 0 and path.startswith(f.path)),
                         None)
            if fault is not None:
                fault.remaining -= 1
        if fault is not None:
            headers = {"Content-Type": fault.content_type, **fault.headers}
            return send(handler, fault.status, fault.body, headers)
        logged_in = self.session_valid and self.session_id in (handler.headers.get("Cookie")
                                                               or "")
        try:
            status, body, headers = self._route(path, query, logged_in)
        except (KeyError, StopIteration):
            status, body, headers = 404, errors_body(404, "NotFound", "not found"), {}
        headers.setdefault("Content-Type", "application/vnd.api+json")
        if status == 200 and path.startswith("/cdn/"):
            return self._send_file(handler, path, body, headers)
        send(handler, status, body, headers)

    def _route(self, path: str, query: dict[str, str], logged_in: bool) -> Response:
        if path.startswith("/api/"):
            return self.api.route(path, query, logged_in)
        if path == "/file":
            return self.cdn.legacy_file(query)
        if path.startswith("/cdn/"):
            return self.cdn.serve(path, query)
        return 200, find_campaign_page(self.campaigns, path).encode(), {
            "Content-Type": "text/html"}

    def _send_file(self, handler: BaseHTTPRequestHandler, path: str, body: bytes,
                   headers: dict[str, str]) -> None:
        """A CDN file: from ``Range: bytes=N-`` on (206) when asked and ``honor_range``;
        only its first half, then the connection closed, when ``cut_off`` says so."""
        status = 200
        start = range_start(handler.headers.get("Range")) if self.honor_range else None
        if start is not None and 0 < start < len(body):
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            status, body = 206, body[start:]
        with self._lock:
            cut = next((prefix for prefix, left in self.cut_offs.items()
                        if left > 0 and path.startswith(prefix)), None)
            if cut is not None:
                self.cut_offs[cut] -= 1
        if cut is None:
            return send(handler, status, body, headers)
        send(handler, status, body, headers, send=len(body) // 2)
        handler.close_connection = True

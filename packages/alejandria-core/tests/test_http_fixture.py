"""The kit's local HTTP server (``alejandria_http_server``), as a source's tests use it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from alejandria.errors import URLRefused
from alejandria.net.client import HttpClient
from alejandria.testing import HttpFixture, Reply


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_routes_serve_json_bytes_and_replies(alejandria_http_server: HttpFixture) -> None:
    server = alejandria_http_server
    server.routes.update({
        "/feed.json": {"items": [1, 2]},
        "/feed.json?page=2": {"items": [3]},
        "/file.bin": b"\x00\x01",
        "/private.json": Reply(401, json={"error": "log in"}, headers={"X-Why": "token"}),
    })

    assert get(server.url("/feed.json")) == (200, "application/json; charset=utf-8",
                                             b'{"items": [1, 2]}')
    assert json.loads(get(server.url("/feed.json?page=2"))[2]) == {"items": [3]}
    assert json.loads(get(server.url("/feed.json?page=3"))[2]) == {"items": [1, 2]}
    assert get(server.url("/file.bin"))[::2] == (200, b"\x00\x01")
    assert get(server.url("/private.json"))[0] == 401
    status, _, body = get(server.url("/nothing"))
    assert (status, json.loads(body)) == (404, {"error": "no route for /nothing"})


def test_requests_are_recorded_with_their_headers(alejandria_http_server: HttpFixture) -> None:
    server = alejandria_http_server
    server.routes["/a"] = {}

    get(server.url("/a?x=1"), {"Authorization": "Bearer t"})
    get(server.url("/b"))

    (request,) = server.requested("/a")
    assert (request.method, request.target) == ("GET", "/a?x=1")
    assert request.headers["Authorization"] == "Bearer t"
    assert [seen.path for seen in server.requests] == ["/a", "/b"]


def test_core_s_client_reaches_it_only_when_allowed(alejandria_http_server: HttpFixture) -> None:
    server = alejandria_http_server
    server.routes["/a"] = {"ok": True}

    with pytest.raises(URLRefused), HttpClient(site="Test", user_agent="t") as refused:
        refused.request(server.url("/a"))
    with HttpClient(site="Test", user_agent="t", allowed_hosts=[server.host]) as allowed:
        assert json.loads(allowed.request(server.url("/a")).data) == {"ok": True}


def test_a_server_can_be_used_without_the_fixture() -> None:
    with HttpFixture({"/": "hello"}) as server:
        assert get(server.url())[2] == b'"hello"'
    with pytest.raises(RuntimeError, match="not started"):
        server.url()

"""``alejandria_web.media.responses``: a real Litestar app serving a 3 MiB file of random bytes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import pytest
from litestar import Litestar, Request, Response, route
from litestar.testing import TestClient
from litestar.types import HTTPDisconnectEvent, HTTPRequestEvent, Message

from alejandria_web.media.responses import (
    CHUNK_SIZE,
    CSP_ATTACHMENT,
    CSP_MEDIA,
    CSP_PDF,
    file_response,
    is_inline_type,
    parse_range,
)

from .conftest import run_async

SIZE = 3 * 1024 * 1024


@pytest.fixture(scope="module")
def data() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture(scope="module")
def etag(data: bytes) -> str:
    return f'"{hashlib.sha256(data).hexdigest()}"'


@pytest.fixture
def client(tmp_path: Path, data: bytes) -> Iterator[TestClient[Litestar]]:
    path = tmp_path / "blob"
    path.write_bytes(data)
    (tmp_path / "empty").write_bytes(b"")
    sha = hashlib.sha256(data).hexdigest()

    @route("/file", http_method=["GET", "HEAD"])
    async def serve(request: Request[Any, Any, Any]) -> Response[Any]:
        query = request.query_params
        if "empty" in query:
            return file_response(request, tmp_path / "empty", media_type="video/mp4",
                                 etag=hashlib.sha256(b"").hexdigest(), size=0)
        return file_response(request, path, media_type=query.get("mime", "video/mp4"),
                             etag=sha, filename=query.get("name"),
                             size=None if "unknown_size" in query else SIZE,
                             attachment="download" in query)

    @route("/wrong-size", http_method=["GET"])
    async def wrong_size(request: Request[Any, Any, Any]) -> Response[Any]:
        return file_response(request, path, media_type="video/mp4", etag=sha, size=SIZE + 1)

    @route("/missing", http_method=["GET"])
    async def missing(request: Request[Any, Any, Any]) -> Response[Any]:
        return file_response(request, tmp_path / "nope", media_type="video/mp4", etag=sha)

    @route("/untyped", http_method=["GET"])
    async def untyped(request: Request[Any, Any, Any]) -> Response[Any]:
        return file_response(request, path, media_type=None, etag=sha, size=SIZE)

    with TestClient(Litestar([serve, wrong_size, missing, untyped])) as c:
        yield c


def _size_param(known_size: bool) -> dict[str, str]:
    """The query that makes the route pass no ``size`` (file_response stats the file)."""
    return {} if known_size else {"unknown_size": "1"}


# -- full responses ----------------------------------------------------------------------


@pytest.mark.parametrize("known_size", [True, False])
def test_full_get(client: TestClient[Litestar], etag: str, data: bytes, known_size: bool) -> None:
    r = client.get("/file", params=_size_param(known_size))
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["content-length"] == str(SIZE)
    assert r.headers["etag"] == etag
    assert r.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"] == "video/mp4"
    assert r.headers["content-disposition"] == "inline"
    assert r.headers["content-security-policy"] == CSP_MEDIA
    assert "content-range" not in r.headers


def test_small_file_and_empty_file(client: TestClient[Litestar]) -> None:
    r = client.get("/file", params={"empty": "1"})
    assert (r.status_code, r.content, r.headers["content-length"]) == (200, b"", "0")
    r = client.get("/file", params={"empty": "1"}, headers={"range": "bytes=0-"})
    assert (r.status_code, r.content) == (200, b"")


def test_head_has_headers_and_no_body(client: TestClient[Litestar], etag: str) -> None:
    for known_size in (True, False):
        r = client.head("/file", params=_size_param(known_size))
        assert r.status_code == 200
        assert r.content == b""
        assert r.headers["content-length"] == str(SIZE)
        assert r.headers["etag"] == etag
        assert r.headers["content-type"] == "video/mp4"
    # Range is defined for GET only (RFC 9110 14.2): HEAD describes the whole file.
    r = client.head("/file", headers={"range": "bytes=0-99"})
    assert (r.status_code, r.headers["content-length"]) == (200, str(SIZE))


def test_text_type_keeps_its_charset_or_none(client: TestClient[Litestar]) -> None:
    r = client.get("/file", params={"mime": "text/plain"}, headers={"range": "bytes=0-0"})
    assert r.headers["content-type"] == "text/plain"  # no "; charset=utf-8" added
    r = client.get("/file", params={"mime": "text/plain; charset=latin-1"},
                   headers={"range": "bytes=0-0"})
    assert r.headers["content-type"] == "text/plain; charset=latin-1"


# -- ranges --------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "first", "last"), [
    ("bytes=0-99", 0, 99),
    ("bytes=1000-1999", 1000, 1999),
    ("bytes=100-", 100, SIZE - 1),
    ("bytes=-500", SIZE - 500, SIZE - 1),
    (f"bytes={SIZE - 10}-{SIZE + 1000}", SIZE - 10, SIZE - 1),  # clipped
    (f"bytes=0-{CHUNK_SIZE - 1}", 0, CHUNK_SIZE - 1),  # exactly one chunk
    (f"bytes={CHUNK_SIZE}-{CHUNK_SIZE * 2}", CHUNK_SIZE, CHUNK_SIZE * 2),  # one byte more
    ("bytes=1000-2500000", 1000, 2500000),  # three chunks, none aligned
    ("bytes=-99999999", 0, SIZE - 1),  # a suffix longer than the file
    ("BYTES = 5-9", 5, 9),
])
@pytest.mark.parametrize("known_size", [True, False])
def test_range(client: TestClient[Litestar], etag: str, data: bytes, header: str, first: int,
               last: int, known_size: bool) -> None:
    r = client.get("/file", params=_size_param(known_size), headers={"range": header})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert r.headers["content-length"] == str(last - first + 1)
    assert r.content == data[first:last + 1]
    assert r.headers["etag"] == etag
    assert r.headers["content-type"] == "video/mp4"


@pytest.mark.parametrize("header", [
    "bytes=5000000-", f"bytes={SIZE}-", "bytes=abc", "bytes=", "bytes=5-1", "bytes=-0",
    "bytes=0-99,abc", "bytes=5000000-,6000000-", "bytes=1.5-2", "bytes=--1", "0-99",
])
@pytest.mark.parametrize("known_size", [True, False])
def test_unsatisfiable_or_malformed_range_is_416(client: TestClient[Litestar], header: str,
                                                 known_size: bool) -> None:
    r = client.get("/file", params=_size_param(known_size), headers={"range": header})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{SIZE}"
    assert r.content == b""
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("header", ["bytes=0-99,200-299", "bytes=0-99, 5000000-",
                                    "items=0-5", "bytes=0-0,-1"])
def test_multi_range_and_other_units_give_the_whole_file(client: TestClient[Litestar],
                                                         data: bytes, header: str) -> None:
    r = client.get("/file", headers={"range": header})
    assert r.status_code == 200
    assert r.content == data
    assert "content-range" not in r.headers


def test_if_range(client: TestClient[Litestar], etag: str, data: bytes) -> None:
    r = client.get("/file", headers={"range": "bytes=0-99", "if-range": etag})
    assert (r.status_code, r.content) == (206, data[:100])
    for other in ('"0000"', f"W/{etag}", "Wed, 21 Oct 2015 07:28:00 GMT"):
        r = client.get("/file", headers={"range": "bytes=0-99", "if-range": other})
        assert r.status_code == 200, other
        assert r.content == data
        assert r.headers["content-length"] == str(SIZE)


# -- validators ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    "{etag}", "*", "W/{etag}", '"aaa", {etag}', '"aaa",W/{etag} , "bbb"',
])
def test_if_none_match_gives_304(client: TestClient[Litestar], etag: str, value: str) -> None:
    r = client.get("/file", headers={"if-none-match": value.format(etag=etag),
                                     "range": "bytes=0-99"})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    assert r.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert "content-length" not in r.headers
    r = client.head("/file", headers={"if-none-match": value.format(etag=etag)})
    assert (r.status_code, r.content) == (304, b"")


def test_if_none_match_other_tag_gives_200(client: TestClient[Litestar], data: bytes) -> None:
    r = client.get("/file", headers={"if-none-match": '"0123", W/"abcd"'})
    assert (r.status_code, r.content) == (200, data)


# -- safety --------------------------------------------------------------------------------


@pytest.mark.parametrize("mime", [
    "text/html", "text/html; charset=utf-8", "application/xhtml+xml", "image/svg+xml",
    "text/xml", "application/xml", "application/rss+xml", "application/javascript",
    "text/javascript", "application/ecmascript", "text/css", "application/x-shockwave-flash",
    "multipart/x-mixed-replace", "application/zip", "TEXT/HTML",
])
def test_active_types_are_sandboxed_attachments(client: TestClient[Litestar], mime: str) -> None:
    r = client.get("/file", params={"mime": mime, "name": "page.html"},
                   headers={"range": "bytes=0-9"})
    assert r.status_code == 206
    assert r.headers["content-type"] == mime
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"page.html\"; filename*=UTF-8''page.html")
    assert r.headers["content-security-policy"] == CSP_ATTACHMENT
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(("mime", "csp"), [
    ("image/png", CSP_MEDIA), ("image/jpeg", CSP_MEDIA), ("audio/mpeg", CSP_MEDIA),
    ("video/webm", CSP_MEDIA), ("text/plain; charset=utf-8", CSP_MEDIA),
    ("application/pdf", CSP_PDF),
])
def test_passive_types_are_inline(client: TestClient[Litestar], mime: str, csp: str) -> None:
    r = client.get("/file", params={"mime": mime}, headers={"range": "bytes=0-9"})
    assert r.headers["content-disposition"] == "inline"
    assert r.headers["content-security-policy"] == csp
    assert r.headers["x-content-type-options"] == "nosniff"


def test_download_makes_an_inline_type_an_attachment(client: TestClient[Litestar]) -> None:
    r = client.get("/file", params={"mime": "image/png", "name": "a.png", "download": "1"},
                   headers={"range": "bytes=0-9"})
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"a.png\"; filename*=UTF-8''a.png")
    assert r.headers["content-security-policy"] == CSP_ATTACHMENT


def test_pdf_is_not_sandboxed() -> None:
    # Chrome's PDF viewer refuses to run in a sandboxed document.
    assert "sandbox" not in CSP_PDF
    assert "sandbox" in CSP_MEDIA
    assert "sandbox" in CSP_ATTACHMENT


@pytest.mark.parametrize("mime", ["text/html\r\nSet-Cookie: x=1", "nonsense", "a/b/c", "/x"])
def test_malformed_or_missing_type_is_an_octet_stream_attachment(
        client: TestClient[Litestar], mime: str) -> None:
    r = client.get("/file", params={"mime": mime}, headers={"range": "bytes=0-9"})
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"] == "attachment"
    assert "set-cookie" not in r.headers
    r = client.get("/untyped", headers={"range": "bytes=0-9"})
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"] == "attachment"
    assert r.headers["content-security-policy"] == CSP_ATTACHMENT


def test_filename_cannot_inject_headers(client: TestClient[Litestar]) -> None:
    name = 'evil"\r\nSet-Cookie: x=1\r\nX-Injected: 1\\.png'
    r = client.get("/file", params={"mime": "image/png", "name": name},
                   headers={"range": "bytes=0-9"})
    assert r.status_code == 206
    assert "set-cookie" not in r.headers
    assert "x-injected" not in r.headers
    assert not r.cookies
    disposition = r.headers["content-disposition"]
    assert "\r" not in disposition
    assert "\n" not in disposition
    assert disposition == (
        'inline; filename="evilSet-Cookie: x=1X-Injected: 1.png"; '
        "filename*=UTF-8''evil%22Set-Cookie%3A%20x%3D1X-Injected%3A%201%5C.png")


def test_unicode_filename(client: TestClient[Litestar]) -> None:
    name = "Mañana — 日本語 ü.pdf"
    r = client.get("/file", params={"mime": "application/pdf", "name": name},
                   headers={"range": "bytes=0-9"})
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('inline; filename="Manana _ ___ u.pdf"; ')
    assert disposition.endswith("filename*=UTF-8''" + quote(name, safe=""))
    assert disposition.isascii()


def test_bidi_override_is_dropped_from_filename(client: TestClient[Litestar]) -> None:
    r = client.get("/file", params={"name": "photo\u202egpj.exe", "mime": "image/jpeg"},
                   headers={"range": "bytes=0-9"})
    assert r.headers["content-disposition"] == (
        "inline; filename=\"photogpj.exe\"; filename*=UTF-8''photogpj.exe")


def test_a_disconnect_stops_the_stream(tmp_path: Path, data: bytes) -> None:
    """After the client goes away no more of the file is read or sent."""
    path = tmp_path / "blob"
    path.write_bytes(data)

    @route("/file", http_method=["GET"])
    async def serve(request: Request[Any, Any, Any]) -> Response[Any]:
        return file_response(request, path, media_type="video/mp4", etag="ab", size=SIZE)

    app = Litestar([serve])
    messages: list[Message] = []

    async def go() -> None:
        first_body = anyio.Event()
        requested = False

        async def receive() -> HTTPRequestEvent | HTTPDisconnectEvent:
            nonlocal requested
            if not requested:
                requested = True
                return HTTPRequestEvent(type="http.request", body=b"", more_body=False)
            await first_body.wait()
            return HTTPDisconnectEvent(type="http.disconnect")

        async def send(message: Message) -> None:
            messages.append(message)
            if message["type"] == "http.response.body":
                first_body.set()
                await anyio.sleep(0.05)  # the disconnect arrives while this chunk is on its way

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "GET", "scheme": "http", "path": "/file", "raw_path": b"/file",
                 "query_string": b"", "root_path": "", "headers": [(b"host", b"t")],
                 "client": ("127.0.0.1", 1), "server": ("t", 80), "state": {}}
        await app(scope, receive, send)  # type: ignore[arg-type]

    run_async(go)
    assert messages[0]["type"] == "http.response.start"
    assert messages[0]["status"] == 200
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    assert SIZE // CHUNK_SIZE >= 3
    assert len(bodies) == 1
    assert bodies[0]["more_body"]


def test_bad_arguments_are_refused() -> None:
    request: Any = None
    with pytest.raises(ValueError, match="entity tag"):
        file_response(request, Path("x"), media_type=None, etag='a"b')
    with pytest.raises(ValueError, match="header value"):
        file_response(request, Path("x"), media_type=None, etag="ab", cache="x\r\ny: 1")


def test_store_inconsistencies_are_server_errors(client: TestClient[Litestar]) -> None:
    assert client.get("/wrong-size").status_code == 500
    assert client.get("/missing").status_code == 500


# -- pure functions ------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "size", "expected"), [
    ("bytes=0-99", 1000, (0, 99)),
    ("bytes=0-0", 1, (0, 0)),
    ("bytes=100-", 1000, (100, 999)),
    ("bytes=-500", 1000, (500, 999)),
    ("bytes=-5000", 1000, (0, 999)),
    ("bytes=900-2000", 1000, (900, 999)),
    ("bytes=999-", 1000, (999, 999)),
    ("Bytes=1-2", 1000, (1, 2)),
    (" bytes = 1-2 ", 1000, (1, 2)),
    ("bytes=, 1-2,", 1000, (1, 2)),  # empty list elements are tolerated (RFC 9110 5.6.1.2)
    ("bytes=1000-", 1000, "unsatisfiable"),
    ("bytes=5000-6000", 1000, "unsatisfiable"),
    ("bytes=5-4", 1000, "unsatisfiable"),
    ("bytes=-0", 1000, "unsatisfiable"),
    ("bytes=abc", 1000, "unsatisfiable"),
    ("bytes=", 1000, "unsatisfiable"),
    ("bytes=1-2-3", 1000, "unsatisfiable"),
    ("bytes=+1-2", 1000, "unsatisfiable"),
    ("bytes=١-٢", 1000, "unsatisfiable"),  # non-ASCII digits are not digits here
    ("bytes", 1000, "unsatisfiable"),
    ("bytes=0-1,5000-", 1000, None),  # several ranges: the whole file
    ("bytes=0-1,2-3", 1000, None),
    ("bytes=5000-,6000-", 1000, "unsatisfiable"),
    ("bytes=0-1,x", 1000, "unsatisfiable"),
    ("items=0-5", 1000, None),  # another unit: ignored
    ("bytes=0-", 0, None),  # an empty file: always the whole (empty) file
    ("bytes=-5", 0, None),
    ("bytes=abc", 0, "unsatisfiable"),
])
def test_parse_range(header: str, size: int, expected: object) -> None:
    assert parse_range(header, size) == expected


def test_is_inline_type() -> None:
    assert is_inline_type("image/png")
    assert is_inline_type("Video/MP4")
    assert is_inline_type("application/pdf")
    assert not is_inline_type("image/svg+xml")
    assert not is_inline_type("text/html")
    assert not is_inline_type("text/css")
    assert not is_inline_type("application/octet-stream")

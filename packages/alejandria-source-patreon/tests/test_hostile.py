"""A hostile post on the local Patreon: links to files it must not make us fetch (another
machine's private address, ``file:``, redirect loops, what is not a URL), ``data:`` and
relative images, a body shorter than it says. The good files are archived, each bad link is a
notice naming the post and the link, the private server is never reached, and nothing waits
out a backoff for a link that cannot be fetched."""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alejandria.api import Archive
from alejandria.testing import reads
from alejandria_source_patreon import inline_data
from alejandria_source_patreon.testing import (
    EPOCH,
    FakeFile,
    FakePost,
    PatreonFixture,
    image_bytes,
)

TITLE = "Entrada hostil"


class PrivateServer:
    """Stands for a machine on the user's network (its own loopback address, 127.0.0.2, not
    the Patreon fixture's host:port): records every request it gets."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.paths.append(self.path)
                body = b"the router's admin page"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.2:{self._server.server_port}{path}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def private() -> Iterator[PrivateServer]:
    server = PrivateServer()
    yield server
    server.stop()


def _data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_a_hostile_post_keeps_its_good_files_and_notes_each_bad_link(
        archive: Archive, site: PatreonFixture, private: PrivateServer,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="alejandria")
    monkeypatch.setattr(inline_data, "MAX_INLINE_DATA_BYTES", 64 * 1024)
    small, huge = image_bytes(1, "PNG", 8), image_bytes(2, "PNG", 256)  # huge: over 64 KB
    assert len(huge) > 64 * 1024
    good = FakeFile("buena.png", image_bytes(3, "PNG"), "image/png")
    linked = FakeFile("relativa.png", image_bytes(4, "PNG"), "image/png")
    short = FakeFile("corta.png", image_bytes(5, "PNG"), "image/png")
    content = "".join([
        "<p>Contenido hostil.</p>",
        f'<img src="{_data_url(small)}" alt="pequeña">',
        f'<img src="{_data_url(huge)}" alt="enorme">',
        f'<img src="/cdn/p/post/9200/{linked.hash}/eyJ3Ijo2MjB9/1.png">',  # relative to the post
        '<img src="file:///etc/passwd">',
        '<img src="http://[::1">',
        f'<img src="{private.url("/secreto.png?token=SIGNED")}">',
    ])
    site.campaigns["5001"].posts.append(FakePost(
        "9200", TITLE, EPOCH + timedelta(days=60), content=content, images=[good, short],
        unlisted_files=[linked],
        linked_media=[("bucle.png", f"{site.base_url}/bucle"),
                      ("redirigida.png", f"{site.base_url}/a-la-red-local")]))
    site.fail("/bucle", 302, times=100, headers={"Location": f"{site.base_url}/bucle"})
    site.fail("/a-la-red-local", 302, times=100,
              headers={"Location": private.url("/redirigido.png")})
    site.cut_off(f"/cdn/p/post/9200/{short.hash}/", times=1000)  # never the whole body
    start = time.monotonic()

    report = archive.sync("patreon", "artista")

    elapsed = time.monotonic() - start
    assert report.errors == [], report.errors
    assert private.paths == []  # the machine on the private address was never reached
    stored = {item.sha256 for item in reads.media_files(archive)}
    assert {hashlib.sha256(data).hexdigest() for data in (good.data, linked.data, small)} \
        <= stored
    assert not {hashlib.sha256(data).hexdigest() for data in (huge, short.data)} & stored
    assert "9200" in {post.external_id for post in reads.posts(archive)}
    notes = [f"{note.subject}: {note.message}" for note in report.notices
             if note.subject.startswith(TITLE)]
    port = private.url("").rsplit(":", 1)[1]
    expected = {
        "file:///etc/passwd": "only http and https links are fetched",
        f"127.0.0.2:{port}/secreto.png": "ALEJANDRIA_ALLOW_PRIVATE_HOSTS",
        f"127.0.0.2:{port}/redirigido.png": "a redirect from 127.0.0.1",
        "bucle.png": "redirect loop",
        "corta.png": "broke off",
        "data:image/png": "over the 64 KB stored",
        "http://[::1": "not a valid URL",
    }
    for link, why in expected.items():
        assert any(link in note and why in note for note in notes), (link, "\n".join(notes))
    assert len(notes) == len(expected), notes
    assert not any("SIGNED" in note for note in notes)  # a URL's query is never shown
    # a link that cannot be fetched is refused at once: the only waits are the short body's
    waits = [record.getMessage() for record in caplog.records if "waiting" in
             record.getMessage()]
    assert waits and all("corta.png" in wait for wait in waits), waits
    assert elapsed < 5, elapsed  # the whole creator, 0.5 s here

"""The web app serving media from an S3 store (a real S3-protocol server): images, audio and
video by a redirect to a short-lived presigned URL that the pages' CSP allows, everything
else proxied with Range, ETag and the attachment rule; thumbnails from the local cache."""

from __future__ import annotations

import hashlib
import urllib.request
from typing import Any

import pytest

from alejandria.models import CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.testing import S3Bucket
from alejandria.testing.memory import memory_plugin

from .conftest import png_bytes

HTML_FILE = b"<html><script>alert(document.cookie)</script></html>"
BIG = bytes(range(256)) * 12_000  # ~3 MB: more than one chunk


@pytest.fixture(params=[300, 0], ids=["presign", "proxy"])
def alejandria_settings_overrides(request: pytest.FixtureRequest,
                                  alejandria_s3: S3Bucket) -> dict[str, Any]:
    return {**alejandria_s3.settings, "media_presign_ttl_s": request.param,
            "process_media": True}


@pytest.fixture
def stored(archive: Any, register_plugin: Any) -> dict[str, int]:
    items = [CreatorIn(external_id="ana", name="Ana"),
             PostIn(external_id="p", creator_external_id="ana", title="Files",
                    media=(MediaIn(key="img", filename="1.png", mime_type="image/png",
                                   kind=MediaKind.IMAGE),
                           MediaIn(key="page", filename="x.html", mime_type="text/html",
                                   kind=MediaKind.DOCUMENT),
                           MediaIn(key="big", filename="big.bin", mime_type="video/mp4",
                                   kind=MediaKind.VIDEO)))]
    register_plugin(memory_plugin("s3src", items, {"img": png_bytes(), "page": HTML_FILE,
                                                   "big": BIG}), name="s3-src")
    archive.sync("s3src", "all", remember=False)
    post = archive.library.posts(limit=1).items[0]
    return {media.filename or "": media.media_id
            for media in archive.library.post(post.id).media}


def test_an_image_is_redirected_or_proxied(archive: Any, stored: dict[str, int],
                                           signed_in: Any) -> None:
    alice = signed_in("user")
    url = f"/api/v1/media/{stored['1.png']}/content"
    answer = alice.get(url, follow_redirects=False)
    if archive.settings.media_presign_ttl_s:
        assert answer.status_code == 307
        location = answer.headers["location"]
        origin = archive.media.origin()
        assert location.startswith(origin)
        with urllib.request.urlopen(location, timeout=10) as direct:
            assert direct.read() == png_bytes()
            assert direct.headers["Content-Type"] == "image/png"
        page = alice.get(f"/posts/{archive.library.posts(limit=1).items[0].id}")
        csp = page.headers["content-security-policy"]
        assert f"img-src 'self' data: {origin};" in csp and f"media-src 'self' {origin};" in csp
    else:
        assert answer.status_code == 200 and answer.content == png_bytes()
        assert answer.headers["content-type"] == "image/png"
    etag = f'"{hashlib.sha256(png_bytes()).hexdigest()}"'
    assert alice.get(url, headers={"If-None-Match": etag},
                     follow_redirects=False).status_code == 304


def test_html_is_proxied_as_an_attachment(stored: dict[str, int], signed_in: Any) -> None:
    answer = signed_in("user").get(f"/api/v1/media/{stored['x.html']}/content",
                                   follow_redirects=False)
    assert answer.status_code == 200 and answer.content == HTML_FILE
    assert answer.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in answer.headers["content-security-policy"]


def test_ranges_and_downloads_are_proxied(stored: dict[str, int], signed_in: Any) -> None:
    alice = signed_in("user")
    url = f"/api/v1/media/{stored['big.bin']}/content?download=true"
    whole = alice.get(url, follow_redirects=False)
    assert whole.status_code == 200 and whole.content == BIG
    part = alice.get(url, headers={"Range": "bytes=1048570-1048585"})
    assert part.status_code == 206 and part.content == BIG[1048570:1048586]
    assert part.headers["content-range"] == f"bytes 1048570-1048585/{len(BIG)}"
    assert alice.get(url, headers={"Range": f"bytes={len(BIG)}-"}).status_code == 416
    head = alice.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(BIG))


def test_thumbnails_come_from_the_store(archive: Any, stored: dict[str, int],
                                        signed_in: Any) -> None:
    answer = signed_in("user").get(f"/api/v1/media/{stored['1.png']}/thumbnail/150")
    assert answer.status_code == 200 and answer.content.startswith(b"RIFF")
    assert answer.headers["content-type"] == "image/webp"

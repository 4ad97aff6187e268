"""A picture in a post's HTML that the source archived points at the archive's copy: the
page shows it under the CSP (images from our origin only), without the creator's CDN, and
after the CDN forgets it. One the source did not store keeps its address."""

from __future__ import annotations

from typing import Any

from alejandria.models import CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.testing.memory import memory_plugin
from alejandria.text.html import archived_images, sanitize_html, url_identity

from .conftest import png_bytes

HTML = ('<p>Look:</p><img src="https://c10.patreonusercontent.com/4/p/abc/eyJ/1.png?token-hash=X" '
        'alt="the sketch"><img src="https://elsewhere.example/not-archived.png" alt="gone">')


def test_the_archived_picture_is_served_by_the_archive(archive: Any, register_plugin: Any,
                                                       signed_in: Any) -> None:
    items = [CreatorIn(external_id="ana", name="Ana"),
             PostIn(external_id="p", creator_external_id="ana", title="Sketch", html=HTML,
                    text="Look:",
                    media=(MediaIn(key="img", filename="1.png", mime_type="image/png",
                                   kind=MediaKind.IMAGE, role="inline",
                                   url="https://c10.patreonusercontent.com/4/p/abc/eyJ/1.png"
                                       "?token-time=1&token-hash=Y"),))]
    register_plugin(memory_plugin("inline", items, {"img": png_bytes()}), name="inline-src")
    archive.sync("inline", "all", remember=False)
    post = archive.library.posts(limit=1).items[0]
    media_id = archive.library.post(post.id).media[0].media_id
    alice = signed_in("user")

    detail = alice.get(f"/api/v1/posts/{post.id}").json()
    assert f'src="/api/v1/media/{media_id}/content"' in detail["content_html"]
    assert 'src="https://elsewhere.example/not-archived.png"' in detail["content_html"]
    assert "patreonusercontent" not in detail["content_html"]
    page = alice.get(f"/posts/{post.id}").text
    assert f'src="/api/v1/media/{media_id}/content"' in page
    assert alice.get(f"/api/v1/media/{media_id}/content").content == png_bytes()
    # core without a link (the CLI, scripts) keeps the source's address
    assert "patreonusercontent" in (archive.library.post(post.id).content_html or "")


def test_only_the_post_own_pictures_are_rewritten() -> None:
    rewrite = archived_images({"https://cdn.example/a/1.png?sig=1": 7}, lambda i: f"/m/{i}")
    html = sanitize_html('<img src="https://CDN.example/a/1.png?sig=2">'
                         '<img src="https://cdn.example/a/2.png">'
                         '<a href="https://cdn.example/a/1.png">link</a>'
                         '<img src="javascript:alert(1)">', image_src=rewrite)
    assert '<img src="/m/7">' in html
    assert '<img src="https://cdn.example/a/2.png">' in html
    assert 'href="https://cdn.example/a/1.png"' in html  # links are not pictures
    assert "javascript" not in html
    assert url_identity("not a url") is None and url_identity("/relative.png") is None

"""Post bodies: HTML and TipTap JSON into safe HTML and clean text; file identities."""

from __future__ import annotations

import json

import pytest

from alejandria.models import EMBED_ROLE
from alejandria.testing import PluginManager, Settings, source_context
from alejandria_source_patreon.config import PatreonConfig, session_cookie
from alejandria_source_patreon.content import html_to_text, read_body, sanitize, tiptap_to_html
from alejandria_source_patreon.media import file_key, video_key
from alejandria_source_patreon.testing import tiptap

CDN = "https://c10.patreonusercontent.com/4/patreon-media/p/post/123/{hash}/{size}/1.png"
HASH = "0123456789abcdef0123456789abcdef"


def test_tiptap_becomes_html_and_text() -> None:
    html = tiptap_to_html(json.dumps(tiptap("Primer párrafo.", "Segundo <párrafo>.")))
    body = read_body(None, json.dumps(tiptap("Primer párrafo.")))

    assert html.startswith("<h2>Notas de la semana</h2><p>Primer párrafo.</p>")
    assert "Segundo &lt;párrafo&gt;." in html
    assert '<a href="https://example.org/x">un enlace</a>' in html
    assert body.text == ("Notas de la semana\n\nPrimer párrafo.\n\nnegrita y un enlace\n\n"
                         "primer punto")


def test_empty_html_falls_back_to_tiptap_and_broken_json_to_nothing() -> None:
    assert read_body("  ", json.dumps(tiptap())).text.startswith("Notas de la semana")
    assert read_body(None, "{not json").text == ""
    assert read_body(None, None).html == ""


def test_sanitising_removes_scripts_handlers_and_bad_urls() -> None:
    dirty = ('<p onclick="x()">Hi<script>alert(1)</script> <a href="javascript:alert(1)">a</a>'
             '<img src="https://x/y.png" onerror="e()"><iframe src="https://evil"></iframe></p>')
    clean = sanitize(dirty)
    for bad in ("script", "onclick", "onerror", "javascript:", "iframe", "alert"):
        assert bad not in clean
    assert '<img src="https://x/y.png">' in clean


def test_text_keeps_paragraphs_and_line_breaks() -> None:
    text = html_to_text("<p>Uno<br>dos</p><ul><li>tres</li><li>cuatro</li></ul>\n<p>  cinco "
                        "&amp; seis </p>")
    assert text == "Uno\ndos\n\ntres\n\ncuatro\n\ncinco & seis"


def test_inline_images_are_found_and_their_signatures_dropped_from_the_html() -> None:
    src = CDN.format(hash=HASH, size="eyJ3Ijo2MjB9") + "?token-time=1&token-hash=abc"
    body = read_body(f'<p>x</p><img data-media-id="55" src="{src}">', None)

    assert body.images[0].src == src and body.images[0].media_id == "55"
    assert "token" not in body.html and CDN.format(hash=HASH, size="eyJ3Ijo2MjB9") in body.html


def test_a_file_is_identified_by_its_path_hash_not_its_signature_or_size() -> None:
    one = CDN.format(hash=HASH, size="eyJ3IjoxMDgwfQ%3D%3D") + "?token-time=1&token-hash=a"
    two = CDN.format(hash=HASH, size="eyJ3Ijo2MjB9") + "?token-time=2&token-hash=b"
    assert file_key(one) == file_key(two) == f"patreon:{HASH}"
    assert file_key("https://www.patreon.com/file?h=123&i=456") == "patreon:file:123:456"
    assert file_key("https://example.org/a.png?x=1") == "url:example.org/a.png"


@pytest.mark.parametrize(("url", "key"), [
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=3", "youtube:dQw4w9WgXcQ"),
    ("https://youtu.be/dQw4w9WgXcQ", "youtube:dQw4w9WgXcQ"),
    ("https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ", "youtube:dQw4w9WgXcQ"),
    ("https://vimeo.com/123456789", "vimeo:123456789"),
    ("https://player.vimeo.com/video/123456789?h=ab", "vimeo:123456789"),
    ("https://example.org/page", None),
])
def test_video_embeds_are_recognised(url: str, key: str | None) -> None:
    assert video_key(url) == key
    assert EMBED_ROLE == "embed"


@pytest.mark.parametrize(("pasted", "header"), [
    ("abc123", "session_id=abc123"),
    ('  "abc123" ', "session_id=abc123"),
    ("session_id=abc123", "session_id=abc123"),
    ("Cookie: a=1; session_id=abc123;  cf_clearance=zz", "a=1; session_id=abc123; cf_clearance=zz"),
])
def test_a_pasted_session_becomes_a_cookie_header(pasted: str, header: str) -> None:
    assert session_cookie(pasted) == header


def test_options_come_before_environment_and_defaults(
        plugin_manager: PluginManager, alejandria_settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"REQUESTS_PER_SECOND": "9", "BASE_URL": "http://x/",
                        "SESSION_ID": "s2"}.items():
        monkeypatch.setenv(f"ALEJANDRIA_PATREON_{name}", value)
    config = PatreonConfig.from_context(source_context(
        plugin_manager, alejandria_settings,
        options={"requests_per_second": 5, "dry_run": "yes", "types": ["image_file"]},
        credentials={"session_id": "s1"}))
    assert config.requests_per_second == 5 and config.dry_run
    assert config.base_url == "http://x" and config.cookie == "session_id=s1"
    assert config.filters.types == frozenset({"image_file"})
    assert "s1" not in repr(config)


def test_a_relative_image_is_resolved_against_the_post_and_what_is_no_url_kept() -> None:
    body = read_body('<img src="/cdn/a.png?token-hash=x"><img src="b.png"><img src="//cdn.x/c.png">'
                     '<img src="http://[::1"><img src="file:///etc/passwd">',
                     None, base="https://www.patreon.com/posts/hola-123")

    assert [image.src for image in body.images] == [
        "https://www.patreon.com/cdn/a.png?token-hash=x", "https://www.patreon.com/posts/b.png",
        "https://cdn.x/c.png", "http://[::1", "file:///etc/passwd"]
    assert 'src="https://www.patreon.com/posts/b.png"' in body.html
    assert "file:" not in body.html  # the sanitiser drops what is not http(s)


def test_data_images_are_stored_from_their_bytes_when_small_and_refused_otherwise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    from alejandria_source_patreon import inline_data
    from alejandria_source_patreon.content import Body, InlineImage
    from alejandria_source_patreon.jsonapi import Document
    from alejandria_source_patreon.media import post_media

    monkeypatch.setattr(inline_data, "MAX_INLINE_DATA_BYTES", 1024)
    png = b"\x89PNG\r\n\x1a\n" + b"p" * 100

    def data(payload: bytes, media_type: str = "image/png") -> InlineImage:
        return InlineImage(src=f"data:{media_type};base64,{base64.b64encode(payload).decode()}")

    body = Body(html="", text="", images=(
        data(png), data(b"q" * 2000), data(b"<svg/>", "text/html"),
        InlineImage(src="data:image/png;base64,%%%"), InlineImage(src="data:image/gif,GIF89a")))
    post = {"id": "7", "type": "post", "attributes": {}}
    media = post_media(Document({"data": post}), post, body, "https://www.patreon.com/")

    small, big, html, broken, plain = media
    assert (small.data, small.url, small.filename, small.mime_type) == (
        png, None, "inline-1.png", "image/png")
    assert small.key == "patreon:data:" + __import__("hashlib").sha256(png).hexdigest()
    assert big.data is None and big.url == "data:image/png"
    assert "over the 1 KB stored" in big.metadata["refused"]
    assert html.metadata["refused"] == "an inline text/html, not an image"
    assert broken.metadata["refused"] == "an inline image that does not decode"
    assert plain.data == b"GIF89a"  # not base64: percent-encoded bytes


def test_the_client_may_reach_its_own_base_url_and_the_allowed_hosts(
        plugin_manager: PluginManager, alejandria_settings: Settings) -> None:
    core = alejandria_settings.model_copy(update={"allow_private_hosts": ["nas.lan"],
                                                  "max_download_mb": 9})
    config = PatreonConfig.from_context(source_context(
        plugin_manager, core, options={"base_url": "http://10.0.0.5:8080"}))
    default = PatreonConfig()

    assert config.allowed_hosts == ("10.0.0.5:8080", "nas.lan")
    assert config.limits.max_download_bytes == 9 * 2**20
    assert default.allowed_hosts == ("www.patreon.com:443",)

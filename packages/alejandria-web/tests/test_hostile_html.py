"""A creator's hostile HTML, stored as the source gave it, reaches a client sanitised: in a
post, in an earlier version of it, and never as markup in the plain-text fields."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

#: Tags a post's HTML may show: plain formatting, links, images, tables.
SAFE_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "del", "div", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "mark", "ol",
    "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
})
SAFE_ATTRIBUTES = frozenset({"href", "title", "src", "alt", "width", "height", "rel", "start",
                             "colspan", "rowspan", "data-media-id"})
#: Attributes that hold a URL, in any tag.
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "background",
                            "poster", "srcset", "data", "codebase", "cite", "lowsrc", "dynsrc"})
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
TAG_LIKE = re.compile(r"<\s*[a-zA-Z!/?]")
#: Not one of these may appear anywhere in what is shown.
FORBIDDEN = ("<script", "onerror", "onload", "onclick", "javascript:", "data:text/html",
             "<svg", "<style", "<iframe", "<form", "<input", "style=", "<math", "alert(",
             "vbscript:", "<object", "<embed", "<base", "<meta", "<link", "<template",
             "<noscript", "srcset", "xlink", "<!--")

#: An edit of the post brings other tricks: encodings, case, relative URLs, mXSS.
HOSTILE_EDIT = """
<p>Edited for the <i>reader</i>: <a href="mailto:ana@example.com">write</a></p>
<a href="JaVaScRiPt:alert('case')">case</a>
<a href="&#106;avascript:alert('entity')">entity</a>
<a href=" javascript:alert('space')">space</a>
<a href="java&#x09;script:alert('tab')">tab</a>
<a href="vbscript:msgbox('vb')">vb</a>
<a href="/api/v1/admin/users">relative</a>
<img src="//evil.example/pixel.png" alt="scheme-less">
<img srcset="javascript:alert('srcset') 1x" src="https://example.com/ok.png">
<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x">
<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil">
<link rel="stylesheet" href="https://evil.example/x.css">
<noscript><p title="</noscript><img src=x onerror=alert('noscript')>"></p></noscript>
<template><script>alert('template')</script></template>
<table background="javascript:alert('table')"><tr><td>cell</td></tr></table>
<!--<img src=x onerror=alert('comment')>-->
<svg><a xlink:href="javascript:alert('xlink')"><text>x</text></a></svg>
<p onmouseover="alert('hover')" STYLE="color:red">shout</p>
<textarea><img src=x onerror=alert('textarea')></textarea>
"""


def assert_sanitised(html: str) -> None:
    lowered = html.lower()
    for needle in FORBIDDEN:
        assert needle not in lowered, (needle, html)
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(True):
        assert tag.name in SAFE_TAGS, (tag.name, html)
        for name, value in tag.attrs.items():
            assert not name.lower().startswith("on"), (tag.name, name)
            assert name.lower() in SAFE_ATTRIBUTES, (tag.name, name)
            if name.lower() in URL_ATTRIBUTES:
                url = value if isinstance(value, str) else " ".join(value)
                scheme = urlsplit(url.strip()).scheme.lower()
                assert scheme in SAFE_SCHEMES, (tag.name, name, url)
        if tag.name == "a" and tag.get("href"):
            assert {"noopener", "noreferrer"} <= set(tag.get("rel") or ()), str(tag)
    # the parser saw every tag there is: no text would become a tag if pasted back unescaped
    assert not TAG_LIKE.search("".join(soup.find_all(string=True))), html


def assert_plain(text: str) -> None:
    assert BeautifulSoup(text, "html.parser").find() is None, text
    assert "<" not in text and ">" not in text, text


@pytest.fixture
def user(signed_in: Any) -> Any:
    return signed_in("user")


def test_post_html_keeps_the_harmless_parts_only(user: Any, catalogue: Any,
                                                 archive: Any) -> None:
    from sqlalchemy import text

    with archive.engine.connect() as conn:
        stored = conn.execute(text("SELECT content_html FROM posts WHERE id = :i"),
                              {"i": catalogue.post_id}).scalar_one()
    assert "<script>" in stored and "onerror" in stored  # stored as given: read time cleans

    answer = user.get(f"/api/v1/posts/{catalogue.post_id}")

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    post = answer.json()
    html = post["content_html"]
    assert_sanitised(html)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("b").get_text() == "reader"
    links = [a for a in soup.find_all("a") if a.get("href")]
    assert [a["href"] for a in links] == ["https://example.com/ok"]
    assert set(links[0]["rel"]) == {"noopener", "noreferrer", "nofollow"}
    assert links[0].get_text() == "a fine link"
    assert "styled" in soup.get_text()  # the div's text stays, its style and onclick go
    assert_plain(post["content_text"])
    assert_plain(post["excerpt"])
    assert_plain(post["title"])

    page = user.get("/api/v1/posts")
    assert page.status_code == 200
    assert page.headers["content-type"] == "application/json"
    assert len(page.json()["items"]) == 2
    for item in page.json()["items"]:
        assert "content_html" not in item
        assert_plain(item["excerpt"])
        assert_plain(item["title"])


def test_an_earlier_version_is_sanitised_too(user: Any, catalogue: Any, archive: Any) -> None:
    from alejandria.models import CreatorIn, PostIn

    source = archive.plugins.source("webtest").factory
    original = list(source.items)
    source.items = [CreatorIn(external_id="ana", name="Ana Astróloga"),
                    PostIn(external_id="p1", creator_external_id="ana", title="Carta natal (2)",
                           text="La carta natal, corregida.", html=HOSTILE_EDIT)]
    try:
        archive.sync("webtest", "all", remember=False)
    finally:
        source.items = original

    answer = user.get(f"/api/v1/posts/{catalogue.post_id}")
    assert answer.status_code == 200, answer.text
    post = answer.json()
    assert post["title"] == "Carta natal (2)" and post["has_versions"] is True
    current = post["content_html"]
    assert_sanitised(current)
    soup = BeautifulSoup(current, "html.parser")
    hrefs = [a["href"] for a in soup.find_all("a") if a.get("href")]
    assert hrefs == ["mailto:ana@example.com"]  # every other link lost its href
    assert [img.get("src") for img in soup.find_all("img") if img.get("src")] == [
        "https://example.com/ok.png"]
    assert "cell" in soup.get_text() and "shout" in soup.get_text()

    assert len(post["versions"]) == 1
    version_id = post["versions"][0]["id"]
    answer = user.get(f"/api/v1/posts/{catalogue.post_id}/versions/{version_id}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    version = answer.json()
    assert version["title"] == "Carta natal"
    assert_sanitised(version["content_html"])
    assert "reader" in version["content_html"]
    assert 'href="https://example.com/ok"' in version["content_html"]
    assert_plain(version["content_text"])

    missing = user.get(f"/api/v1/posts/{catalogue.post_id}/versions/{version_id + 1000}")
    assert missing.status_code == 404
    other = user.get(f"/api/v1/posts/{catalogue.other_post_id}/versions/{version_id}")
    assert other.status_code == 404  # a version is found through its own post only

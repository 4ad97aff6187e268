"""Post bodies: Patreon's HTML ``content`` or its TipTap JSON ``content_json_string``, turned
into safe HTML for display (nh3, an allow-list sanitiser) and clean text for search
(BeautifulSoup), plus the images and video frames the body embeds inline. The sanitising,
the text and the TipTap rendering are core's (``alejandria.richtext``), shared with the other
sources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup

from alejandria.richtext import html_to_text, sanitize, soup_text, tiptap_to_html


@dataclass(frozen=True)
class InlineImage:
    src: str
    media_id: str | None = None
    alt: str | None = None


@dataclass(frozen=True)
class Body:
    """A post body: sanitised HTML, its text, and what it embeds inline."""

    html: str
    text: str
    images: tuple[InlineImage, ...] = ()
    frames: tuple[str, ...] = ()


def read_body(content: str | None, content_json: str | None, *, base: str | None = None) -> Body:
    """The body from ``content`` HTML, or from TipTap JSON when the HTML is null or empty.
    An image's relative ``src`` is resolved against ``base`` (the post's URL), as a browser
    showing the post would: it names a file on the site, not one on this machine."""
    raw = content or ""
    if not raw.strip() and content_json:
        raw = tiptap_to_html(content_json)
    if not raw.strip():
        return Body(html="", text="")
    soup = BeautifulSoup(raw, "html.parser")
    tags = soup.find_all(True)  # one walk over the tree serves everything below
    images: list[InlineImage] = []
    frames: list[str] = []
    for tag in tags:
        src = tag.get("src")
        if not src:
            continue
        if tag.name == "img":
            src = _absolute(str(src), base)
            images.append(InlineImage(src=src, media_id=_attr(tag, "data-media-id"),
                                      alt=_attr(tag, "alt")))
            tag["src"] = unsigned(src)
        elif tag.name == "iframe":
            frames.append(str(src))
    safe = sanitize(str(soup))
    return Body(html=safe, text=soup_text(soup, tags), images=tuple(images),
                frames=tuple(frames))


def _absolute(src: str, base: str | None) -> str:
    """``src`` resolved against ``base`` when it is relative (no scheme: ``a.png``,
    ``/cdn/a.png``, ``//cdn.example/a.png``); anything else as it is."""
    try:
        relative = not urlsplit(src).scheme
    except ValueError:  # not a URL at all: the client refuses it with a message
        return src
    return urljoin(base, src) if base and relative else src


def unsigned(url: str) -> str:
    """A CDN URL without its signature (``token-time``, ``token-hash``), which changes on every
    fetch: the stored HTML stays the same from sync to sync."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL (``http://[::1``): the sanitiser drops it
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.startswith("token")]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _attr(tag: Any, name: str) -> str | None:
    value = tag.get(name)
    return str(value) if value else None


__all__ = ["Body", "InlineImage", "html_to_text", "read_body", "sanitize", "tiptap_to_html",
           "unsigned"]

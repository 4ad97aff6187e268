"""Post bodies: Patreon's HTML ``content`` or its TipTap JSON ``content_json_string``, turned
into safe HTML for display (nh3, an allow-list sanitiser) and clean text for search
(BeautifulSoup), plus the images and video frames the body embeds inline."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import nh3
from bs4 import BeautifulSoup, Tag

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "u", "ul", "div",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height", "data-media-id"},
}
BLOCKS = frozenset(("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
                    "figure", "figcaption", "ul", "ol", "hr"))
#: Elements whose content is not text a reader sees.
_DROPPED = frozenset({"script", "style", "iframe", "noscript"})
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*(\n\s*)*")


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
    return Body(html=safe, text=_soup_text(soup, tags), images=tuple(images),
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


def sanitize(markup: str) -> str:
    """HTML safe to display: allow-listed tags and attributes, safe URL schemes only."""
    return nh3.clean(markup, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


def html_to_text(markup: str) -> str:
    """Readable plain text: paragraphs separated by blank lines, line breaks kept."""
    return _soup_text(BeautifulSoup(markup, "html.parser"))


def _soup_text(soup: BeautifulSoup, tags: list[Tag] | None = None) -> str:
    """The text of parsed HTML (changes the soup: read everything else from it first).
    ``tags``: the soup's tags in document order, when the caller has them already."""
    for tag in soup.find_all(True) if tags is None else tags:
        if tag.decomposed:  # inside a script or style removed before
            continue
        if tag.name in _DROPPED:
            tag.decompose()
        elif tag.name == "br":
            tag.replace_with("\n")
        elif tag.name in BLOCKS:
            tag.insert_before("\n\n")
            tag.insert_after("\n\n")
    text = soup.get_text()
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# --- TipTap (ProseMirror) JSON -------------------------------------------------------------

_NODE_TAGS = {
    "paragraph": "p", "blockquote": "blockquote", "bulletList": "ul", "orderedList": "ol",
    "listItem": "li", "codeBlock": "pre", "figure": "figure", "figcaption": "figcaption",
}
_MARK_TAGS = {"bold": "strong", "italic": "em", "underline": "u", "strike": "s",
              "code": "code", "superscript": "sup", "subscript": "sub"}


def tiptap_to_html(document: str) -> str:
    """HTML for a TipTap document (``content_json_string``); unknown nodes keep their text."""
    try:
        root = json.loads(document)
    except (TypeError, ValueError):
        return ""
    return _node(root) if isinstance(root, dict) else ""


def _node(node: dict[str, Any]) -> str:
    kind = node.get("type")
    attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
    assert isinstance(attrs, dict)
    children = "".join(_node(child) for child in node.get("content") or []
                       if isinstance(child, dict))
    if kind == "text":
        return _marked(html.escape(str(node.get("text", ""))), node.get("marks") or [])
    if kind == "hardBreak":
        return "<br>"
    if kind == "horizontalRule":
        return "<hr>"
    if kind == "heading":
        level = attrs.get("level")
        level = level if isinstance(level, int) and 1 <= level <= 6 else 2
        return f"<h{level}>{children}</h{level}>"
    if kind == "image" or kind == "imageBlock":
        src = attrs.get("src") or attrs.get("url")
        if not src:
            return ""
        media_id = attrs.get("media_id") or attrs.get("mediaId") or attrs.get("id")
        media = f' data-media-id="{html.escape(str(media_id))}"' if media_id else ""
        alt = html.escape(str(attrs.get("alt") or ""))
        return f'<img src="{html.escape(str(src))}" alt="{alt}"{media}>'
    if kind in ("iframe", "video", "embed", "youtube"):
        src = attrs.get("src") or attrs.get("url")
        return f'<iframe src="{html.escape(str(src))}"></iframe>' if src else ""
    tag = _NODE_TAGS.get(str(kind))
    if tag:
        return f"<{tag}>{children}</{tag}>"
    return children  # "doc" and nodes we do not know: keep what is inside


def _marked(text: str, marks: list[Any]) -> str:
    for mark in marks:
        if not isinstance(mark, dict):
            continue
        kind = mark.get("type")
        if kind == "link":
            attrs = mark.get("attrs") if isinstance(mark.get("attrs"), dict) else {}
            href = html.escape(str((attrs or {}).get("href") or ""))
            text = f'<a href="{href}">{text}</a>'
        elif kind in _MARK_TAGS:
            tag = _MARK_TAGS[str(kind)]
            text = f"<{tag}>{text}</{tag}>"
    return text


def _attr(tag: Any, name: str) -> str | None:
    value = tag.get(name)
    return str(value) if value else None

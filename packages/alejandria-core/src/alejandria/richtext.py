"""Rich text as sources find it, made storable: HTML sanitised for display (nh3, an allow-list),
clean text for search (BeautifulSoup), and TipTap/ProseMirror JSON turned into HTML.

A public module for source plugins (Patreon post bodies, Gumroad descriptions, content pages
and update posts all pass through it), so that every source stores the same safe subset and
the same kind of text. The web app sanitises again when it shows a post
(``alejandria.text.html``): this is what a source stores, that is what a reader gets.

The output of ``sanitize`` is part of what a post's content hash covers: changing the allow
list makes every post of every source a new version on its next sync. Extend it only with that
in mind.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import nh3
from bs4 import BeautifulSoup, Tag

ALLOWED_TAGS = frozenset({
    "a", "b", "blockquote", "br", "code", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "u", "ul", "div",
})
ALLOWED_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height", "data-media-id"}),
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
#: Elements that end a line of text (a blank line before and after them in the text).
BLOCKS = frozenset(("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
                    "figure", "figcaption", "ul", "ol", "hr"))
#: Elements whose content is not text a reader sees.
DROPPED = frozenset({"script", "style", "iframe", "noscript"})
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*(\n\s*)*")


def sanitize(markup: str) -> str:
    """HTML safe to store and display: allow-listed tags and attributes, safe URL schemes."""
    return nh3.clean(markup, tags=set(ALLOWED_TAGS),
                     attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer")


def html_to_text(markup: str) -> str:
    """Readable plain text: paragraphs separated by blank lines, line breaks kept."""
    return soup_text(BeautifulSoup(markup, "html.parser"))


def soup_text(soup: BeautifulSoup, tags: list[Tag] | None = None) -> str:
    """The text of parsed HTML (changes the soup: read everything else from it first).
    ``tags``: the soup's tags in document order, when the caller has them already."""
    for tag in soup.find_all(True) if tags is None else tags:
        if tag.decomposed:  # inside a script or style removed before
            continue
        if tag.name in DROPPED:
            tag.decompose()
        elif tag.name == "br":
            tag.replace_with("\n")
        elif tag.name in BLOCKS:
            tag.insert_before("\n\n")
            tag.insert_after("\n\n")
    lines = [_SPACES.sub(" ", line).strip() for line in soup.get_text().split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def url_identity(url: str) -> str | None:
    """A URL without its scheme, query and fragment (``cdn.example/p/a.jpg``): a picture's
    address in a post's HTML and the one the source downloaded it from differ in their
    signed query (``?token-time=…``), not in host and path."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if not parts.netloc or not parts.path:
        return None
    return parts.netloc.lower() + parts.path


# --- TipTap (ProseMirror) JSON -------------------------------------------------------------

#: Renders a node this module does not know (a site's own: Gumroad's ``fileEmbed``): its HTML,
#: or None to keep what is inside it. Receives the node and its children's HTML.
NodeRenderer = Callable[[Mapping[str, Any], str], str | None]

_NODE_TAGS = {
    "paragraph": "p", "blockquote": "blockquote", "bulletList": "ul", "orderedList": "ol",
    "listItem": "li", "codeBlock": "pre", "figure": "figure", "figcaption": "figcaption",
}
_MARK_TAGS = {"bold": "strong", "italic": "em", "underline": "u", "strike": "s",
              "code": "code", "superscript": "sup", "subscript": "sub"}
_LINK_MARKS = frozenset({"link", "tiptap-link"})
#: How deep a document may nest before the rest is dropped (hostile JSON must not recurse
#: without end).
MAX_DEPTH = 64


def tiptap_to_html(document: str | Mapping[str, Any] | list[Any],
                   render: NodeRenderer | None = None) -> str:
    """HTML for a TipTap document: a JSON string (Patreon's ``content_json_string``), a
    ``{"type": "doc", ...}`` object, or a list of top-level nodes. Nodes nobody knows keep
    their text. The result still goes through ``sanitize`` before it is stored."""
    root: Any = document
    if isinstance(document, str):
        try:
            root = json.loads(document)
        except (ValueError, RecursionError):  # not JSON, or nested past any real document
            return ""
    if isinstance(root, list):
        root = {"type": "doc", "content": root}
    return _node(root, render, 0) if isinstance(root, Mapping) else ""


def _node(node: Mapping[str, Any], render: NodeRenderer | None, depth: int) -> str:
    if depth > MAX_DEPTH:
        return ""
    kind = node.get("type")
    raw_attrs = node.get("attrs")
    attrs: Mapping[str, Any] = raw_attrs if isinstance(raw_attrs, Mapping) else {}
    content = node.get("content")
    children = "".join(_node(child, render, depth + 1)
                       for child in (content if isinstance(content, list) else [])
                       if isinstance(child, Mapping))
    if kind == "text":
        marks = node.get("marks")
        return _marked(html.escape(str(node.get("text", ""))),
                       marks if isinstance(marks, list) else [])
    if render is not None:
        custom = render(node, children)
        if custom is not None:
            return custom
    if kind == "hardBreak":
        return "<br>"
    if kind == "horizontalRule":
        return "<hr>"
    if kind == "heading":
        level = attrs.get("level")
        level = level if isinstance(level, int) and 1 <= level <= 6 else 2
        return f"<h{level}>{children}</h{level}>"
    if kind in ("image", "imageBlock"):
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
        if not isinstance(mark, Mapping):
            continue
        kind = mark.get("type")
        if kind in _LINK_MARKS:
            attrs = mark.get("attrs") if isinstance(mark.get("attrs"), Mapping) else {}
            href = html.escape(str((attrs or {}).get("href") or ""))
            text = f'<a href="{href}">{text}</a>'
        elif kind in _MARK_TAGS:
            tag = _MARK_TAGS[str(kind)]
            text = f"<{tag}>{text}</{tag}>"
    return text

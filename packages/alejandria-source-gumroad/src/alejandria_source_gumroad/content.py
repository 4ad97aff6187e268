"""Product descriptions: Gumroad's HTML made safe to store (nh3, an allow-list sanitiser)
and turned into clean text for search (BeautifulSoup)."""

from __future__ import annotations

import re

import nh3
from bs4 import BeautifulSoup

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "u", "ul", "div",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"}}
BLOCKS = frozenset(("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
                    "figure", "figcaption", "ul", "ol", "hr"))
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*(\n\s*)*")


def sanitize(markup: str) -> str:
    """HTML safe to display: allow-listed tags and attributes, safe URL schemes only."""
    return nh3.clean(markup, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


def html_to_text(markup: str) -> str:
    """Readable plain text: paragraphs separated by blank lines, line breaks kept."""
    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup.find_all(True):
        if tag.decomposed:
            continue
        if tag.name in ("script", "style", "iframe", "noscript"):
            tag.decompose()
        elif tag.name == "br":
            tag.replace_with("\n")
        elif tag.name in BLOCKS:
            tag.insert_before("\n\n")
            tag.insert_after("\n\n")
    lines = [_SPACES.sub(" ", line).strip() for line in soup.get_text().split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()

"""A note's Markdown rendered to HTML that is safe to show: markdown-it (CommonMark, raw HTML
off) and then nh3's allow-list, so neither Markdown links nor raw tags can carry script."""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {"p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote", "ul",
                "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead",
                "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table") \
        .enable("strikethrough")


def render_markdown(source: str) -> str:
    """Sanitised HTML for ``source``."""
    html = _parser().render(source)
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")

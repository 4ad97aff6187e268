"""Loosely typed values as other tools wrote them: dates in several shapes, HTML or plain
text, Patreon ids inside URLs. Each reader returns None for what it cannot read, so the caller
decides what to tell the user; none of them guesses."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: A Patreon CDN file's identity: the 32-hex segment of its path (the same rule as the
#: ``patreon`` source's ``media.file_key``, so a file imported here is a key that source
#: already knows and never downloads again).
_PATREON_HASH = re.compile(r"^[0-9a-f]{32}$")
#: ``/posts/<slug>-<id>`` or ``/posts/<id>``: the id a Patreon post URL ends with.
_PATREON_POST = re.compile(r"/posts/(?:[^/?#]*-)?(\d+)/?(?:[?#]|$)")
#: ``.../p/campaign/<id>/...``: a campaign's id inside its avatar's CDN path.
_PATREON_CAMPAIGN = re.compile(r"/campaign/(\d+)/")
_HTML_TAG = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*)(?:\s[^<>]*)?/?>|</[a-zA-Z][a-zA-Z0-9]*\s*>")
_BLOCKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                     "pre", "figure", "figcaption", "ul", "ol", "hr", "tr", "table"})
_DROPPED = frozenset({"script", "style", "iframe", "noscript", "template"})
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def parse_date(value: Any) -> datetime | None:
    """A datetime from ISO 8601 (``Z`` too), ``"2024-03-01 10:00:00"`` (gallery-dl), a bare
    date, or Unix seconds (or milliseconds); naive values are UTC. None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 100_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    if raw.isdigit():
        return parse_date(int(raw))
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def looks_like_html(text: str) -> bool:
    """Whether ``text`` holds HTML tags (``<p>``, ``<br/>``, ``</em>``), not just ``<3``."""
    return bool(_HTML_TAG.search(text))


def html_to_text(markup: str) -> str:
    """The text a reader sees in ``markup``: blocks on lines of their own, scripts dropped."""
    parser = _TextParser()
    parser.feed(markup)
    parser.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropped = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self._dropped += 1
        elif tag in _BLOCKS:
            self.parts.append("\n" if tag == "br" else "\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self._dropped = max(0, self._dropped - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._dropped:
            self.parts.append(data)


def patreon_file_key(url: Any) -> str | None:
    """The key the ``patreon`` source gives the file at ``url`` (``patreon:<hash>``, or
    ``patreon:file:<post>:<attachment>`` for a legacy ``/file?h=&i=`` link); None when the
    URL names no Patreon file."""
    if not isinstance(url, str) or not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.path.rstrip("/").endswith("/file"):
        query = parse_qs(parts.query)
        if query.get("h") and query.get("i"):
            return f"patreon:file:{query['h'][0]}:{query['i'][0]}"
    for segment in reversed(parts.path.split("/")):
        if _PATREON_HASH.match(segment):
            return f"patreon:{segment}"
    return None


def patreon_hash_key(value: Any) -> str | None:
    """``patreon:<hash>`` for gallery-dl's ``hash`` field (the 32-hex CDN key), else None."""
    return f"patreon:{value}" if isinstance(value, str) and _PATREON_HASH.match(value) else None


def patreon_post_id(url: Any) -> str | None:
    """The post id at the end of a Patreon post URL (``.../posts/some-title-12345``)."""
    if not isinstance(url, str):
        return None
    match = _PATREON_POST.search(url)
    return match.group(1) if match else None


def patreon_campaign_id(url: Any) -> str | None:
    """A campaign id from a URL of the campaign's own files (its avatar), else None."""
    if not isinstance(url, str):
        return None
    match = _PATREON_CAMPAIGN.search(urlsplit(url).path if "://" in url else url)
    return match.group(1) if match else None


def identifier(value: Any) -> str | None:
    """An id as text: strings stripped, integers as digits; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def text_value(value: Any) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value.strip() else None


def tag_list(value: Any) -> tuple[str, ...]:
    """Tags from a list (of strings, or of ``{"name"|"value"|"title": ...}``) or a
    comma-separated string, each once, in order."""
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return ()
    tags: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name") or item.get("value") or item.get("title")
        tag = str(item).strip() if isinstance(item, str | int) else ""
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)

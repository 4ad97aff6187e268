"""Stored HTML made safe to show: nh3's allow-list, applied again whenever a post is read.

Sources sanitise their HTML before storing it; this runs again at read time (defence in
depth: an older source version, a plugin that forgot, a row written by hand). Only plain
formatting tags, links and images survive; no ``style``, ``script``, ``iframe``, ``form``,
``svg`` or ``on*`` attribute does, and the content of script-like elements goes with them.
URLs keep only the ``http``, ``https`` and ``mailto`` schemes, or a ``#fragment`` within the
post; relative and scheme-less ones (``/api/...``, ``//host/x``) are dropped, since they would
point at the site showing the post. Links get ``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import nh3

from alejandria.richtext import url_identity

__all__ = ["ALLOWED_TAGS", "archived_images", "sanitize_html", "url_identity"]

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "del", "div", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "mark", "ol",
    "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height", "data-media-id"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
#: Elements dropped with everything inside them (their text is not for a reader).
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "noscript", "template", "iframe", "frame", "frameset", "object",
    "embed", "applet", "svg", "math", "textarea", "select", "title", "head",
})
_URL_ATTRIBUTES = frozenset({"href", "src"})


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """A URL attribute stays only when it names its scheme (nh3 checks which) or is a
    fragment; relative URLs would reach the server showing the post."""
    if attribute not in _URL_ATTRIBUTES:
        return value
    stripped = value.strip()
    if stripped.startswith("#"):
        return value
    try:
        scheme = urlsplit(stripped).scheme.lower()
    except ValueError:
        return None
    return value if scheme in URL_SCHEMES else None


def sanitize_html(html: str, *, image_src: Callable[[str], str | None] | None = None) -> str:
    """``html`` with only allow-listed tags, attributes and URL schemes left.

    ``image_src`` may give an ``<img>`` another address (the archive's copy of a picture the
    source stored: ``archived_images``); an image it does not know keeps its own, checked
    like any URL."""
    if not html:
        return ""
    keep = _keep_attribute
    if image_src is not None:
        local = image_src

        def keep(tag: str, attribute: str, value: str) -> str | None:
            if tag == "img" and attribute == "src":
                replaced = local(value)
                if replaced is not None:
                    return replaced
            return _keep_attribute(tag, attribute, value)

    return nh3.clean(html, tags=set(ALLOWED_TAGS), clean_content_tags=set(DROPPED_WITH_CONTENT),
                     attributes=ALLOWED_ATTRIBUTES, attribute_filter=keep,
                     url_schemes=set(URL_SCHEMES), link_rel=LINK_REL, strip_comments=True)


def archived_images(originals: dict[str, int],
                    link: Callable[[int], str]) -> Callable[[str], str | None]:
    """``image_src`` for ``sanitize_html``: an ``<img>`` whose URL is one the post's stored
    images were downloaded from (``originals``: original URL to media id) points at the
    archive's copy (``link(media_id)``), so the picture shows without the creator's CDN (and
    after the CDN forgets it); others keep theirs."""
    known = {identity: media_id for url, media_id in originals.items()
             if (identity := url_identity(url)) is not None}

    def image_src(src: str) -> str | None:
        identity = url_identity(src)
        found = known.get(identity) if identity is not None else None
        return None if found is None else link(found)

    return image_src

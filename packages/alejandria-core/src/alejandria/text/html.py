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

from urllib.parse import urlsplit

import nh3

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


def sanitize_html(html: str) -> str:
    """``html`` with only allow-listed tags, attributes and URL schemes left."""
    if not html:
        return ""
    return nh3.clean(html, tags=set(ALLOWED_TAGS), clean_content_tags=set(DROPPED_WITH_CONTENT),
                     attributes=ALLOWED_ATTRIBUTES, attribute_filter=_keep_attribute,
                     url_schemes=set(URL_SCHEMES), link_rel=LINK_REL, strip_comments=True)

"""A rich-content page's TipTap document as stored HTML and text: core's TipTap rendering
(``alejandria.richtext``) with Gumroad's own nodes (``rich_content.rb``):

- ``fileEmbed`` (``attrs.id``: a product file's id) shows the file's name where the seller put
  it; the file itself is archived once, as media of this page's post;
- ``fileEmbedGroup`` (``attrs.name``) a heading over the files it holds;
- ``button`` (``attrs.href``) and ``mediaEmbed`` (``attrs.url``) become links, an ``image`` with
  ``attrs.link`` a linked picture;
- what asks the buyer for something or advertises (``shortAnswer``, ``longAnswer``,
  ``fileUpload``, ``moreLikeThis``, ``upsellCard``, ``reviewCard``), the license key block (the
  key itself is not in the page) and the ``posts`` block (update posts are archived as posts of
  their own) leave nothing.

Everything goes through ``sanitize`` afterwards: a ``javascript:`` link a seller wrote stays out.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alejandria.richtext import html_to_text, sanitize, tiptap_to_html
from alejandria_source_gumroad.download import ProductFile

#: Nodes that leave nothing in the archived page.
SILENT_NODES = frozenset({"licenseKey", "posts", "shortAnswer", "longAnswer", "fileUpload",
                          "moreLikeThis", "upsellCard", "reviewCard"})


@dataclass(frozen=True)
class RenderedPage:
    html: str
    text: str
    #: The product files the page embeds, in the order it shows them.
    file_ids: tuple[str, ...]


def render_page(nodes: tuple[Mapping[str, Any], ...],
                files: Mapping[str, ProductFile]) -> RenderedPage:
    """The page's safe HTML, its text, and the ids of the files it embeds."""
    embedded: list[str] = []

    def render(node: Mapping[str, Any], children: str) -> str | None:
        kind = node.get("type")
        raw = node.get("attrs")
        attrs: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        if kind in SILENT_NODES:
            return ""
        if kind == "fileEmbed":
            file_id = str(attrs.get("id") or "")
            item = files.get(file_id)
            if item is None:
                return ""  # a file deleted since: Gumroad shows nothing either
            if file_id not in embedded:
                embedded.append(file_id)
            return f"<p><strong>{html.escape(item.filename)}</strong></p>"
        if kind == "fileEmbedGroup":
            name = str(attrs.get("name") or "").strip()
            title = f"<h3>{html.escape(name)}</h3>" if name else ""
            return f"{title}{children}"
        if kind == "button":
            return _link(attrs.get("href"), children or str(attrs.get("href") or ""))
        if kind == "mediaEmbed":
            label = html.escape(str(attrs.get("title") or attrs.get("url") or ""))
            return _link(attrs.get("url"), label)
        if kind == "image" and attrs.get("link") and attrs.get("src"):
            picture = (f'<img src="{html.escape(str(attrs["src"]))}" '
                       f'alt="{html.escape(str(attrs.get("alt") or ""))}">')
            return f'<p><a href="{html.escape(str(attrs["link"]))}">{picture}</a></p>'
        return None

    markup = sanitize(tiptap_to_html(list(nodes), render))
    return RenderedPage(html=markup, text=html_to_text(markup), file_ids=tuple(embedded))


def _link(href: Any, label: str) -> str:
    if not href:
        return f"<p>{label}</p>" if label else ""
    return f'<p><a href="{html.escape(str(href))}">{label}</a></p>'

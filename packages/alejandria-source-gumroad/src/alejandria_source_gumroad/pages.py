"""The data a Gumroad page carries, in either format the site has served
(``/work/shared/research/gumroad-pages.md``):

- **React on Rails** (older): ``<script type="application/json"
  class="js-react-on-rails-component" data-component-name="LibraryPage">{props}</script>``,
  the JSON with ``<``, ``>``, ``&`` escaped as ``\\u003c``...;
- **Inertia** (newer): ``<div id="app" data-page="{...}">``, the page object
  ``{component, props, url, version}`` as HTML-escaped JSON in the attribute; the same URL
  answers that object as raw JSON to a request with ``X-Inertia: true``.

``read_page`` says which one it found; a page in neither is ``UnknownFormat``, so that a
change of Gumroad's markup fails loudly instead of reading as an empty library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from bs4 import BeautifulSoup, Tag

from alejandria.errors import SourceError
from alejandria.models import JsonDict

Format = Literal["react", "inertia"]


class UnknownFormat(SourceError):
    """A Gumroad page in a format this version cannot read."""


@dataclass(frozen=True)
class PageData:
    """What a page carries: its format, component name, props and (Inertia) asset version."""

    format: Format
    component: str
    props: JsonDict
    version: str | None = None


def read_page(html: str, *, wanted: tuple[str, ...], subject: str) -> PageData:
    """The props of the first component of ``wanted`` the page holds, in either format."""
    soup = BeautifulSoup(html, "html.parser")
    for script in soup.find_all("script", attrs={"data-component-name": True}):
        name = str(script.get("data-component-name"))
        if name in wanted:
            return PageData("react", name, _json_object(script.string or "", subject))
    app = soup.find(id="app")
    if isinstance(app, Tag) and app.has_attr("data-page"):  # <body id="app"> is not Inertia
        page = _json_object(str(app.get("data-page")), subject)
        return inertia_page(page, wanted=wanted, subject=subject)
    raise UnknownFormat(f"Gumroad's {subject} is in a format this version cannot read (no "
                        f"{' or '.join(wanted)} data in the page): nothing was archived from "
                        "it; update alejandria-source-gumroad")


def inertia_page(page: JsonDict, *, wanted: tuple[str, ...], subject: str) -> PageData:
    """An Inertia page object (from ``data-page`` or an ``X-Inertia`` answer)."""
    component = str(page.get("component") or "")
    props = page.get("props")
    if component not in wanted or not isinstance(props, dict):
        raise UnknownFormat(f"Gumroad's {subject} is an Inertia page of an unexpected kind "
                            f"({component or 'no component'}, not {' or '.join(wanted)}): "
                            "nothing was archived from it; update alejandria-source-gumroad")
    version = page.get("version")
    return PageData("inertia", component, props, str(version) if version else None)


def parse_json(text: str, subject: str) -> JsonDict:
    return _json_object(text, subject)


def _json_object(text: str, subject: str) -> JsonDict:
    try:
        value: Any = json.loads(text)
    except ValueError:
        raise UnknownFormat(f"Gumroad's {subject} holds data that is not JSON (did the site "
                            "change?): update alejandria-source-gumroad") from None
    if not isinstance(value, dict):
        raise UnknownFormat(f"Gumroad's {subject} holds unexpected data (did the site "
                            "change?): update alejandria-source-gumroad")
    return value

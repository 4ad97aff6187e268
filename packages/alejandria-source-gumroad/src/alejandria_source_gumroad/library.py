"""The purchase library (``/library``) in either format (``pages``), read into purchases.

The older React page lists every purchase at once (archived ones flagged); the newer Inertia
page is paginated (15 cards a page, ``pagination.pages``; a page past the end serves the last
one, so pages are counted, never read until one comes back empty) and lists archived purchases
only with ``show_archived_only=true`` (read only when they are wanted). Its cards lack
``creator_id``: a card's seller is found in ``creators[]`` by name, so that both formats
archive the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from alejandria.errors import SourceError
from alejandria.models import JsonDict
from alejandria_source_gumroad.client import GumroadClient
from alejandria_source_gumroad.pages import PageData, inertia_page, parse_json, read_page

LIBRARY_COMPONENTS = ("LibraryPage", "Library/Index")
SUBJECT = "library page"


@dataclass(frozen=True)
class Seller:
    id: str
    name: str
    url: str | None = None
    avatar_url: str | None = None


@dataclass(frozen=True)
class Purchase:
    """One library card: the purchase, its product as the card shows it, its seller."""

    id: str
    product_name: str
    seller: Seller
    download_url: str | None
    is_archived: bool = False
    thumbnail_url: str | None = None
    native_type: str | None = None
    #: When the product last changed (the older page only).
    updated_at: str | None = None


def read_library(client: GumroadClient, *,
                 include_archived: bool = False) -> tuple[str, list[Purchase]]:
    """The library's format and its purchases: those the user archived too when
    ``include_archived`` (the older page lists them anyway, flagged)."""
    page = read_page(client.text("/library", subject=SUBJECT), wanted=LIBRARY_COMPONENTS,
                     subject=SUBJECT)
    if page.format == "react":
        return page.format, list(purchases_of(page.props))
    found = list(_listing(client, page, ""))
    if include_archived:
        archived = _inertia(client, "/library?show_archived_only=true", page)
        found.extend(_listing(client, archived, "show_archived_only=true&",
                              archived=True))
    return page.format, found


def _listing(client: GumroadClient, first: PageData, query: str, *,
             archived: bool = False) -> Iterator[Purchase]:
    """Every card of a paginated Inertia listing whose first page is ``first``."""
    for page in range(1, _pages(first.props) + 1):
        props = first.props if page == 1 else _inertia(
            client, f"/library?{query}page={page}", first).props
        for purchase in purchases_of(props):
            # the archived listing's cards may not say so themselves
            yield replace(purchase, is_archived=True) if archived else purchase


def _inertia(client: GumroadClient, path: str, first: PageData) -> PageData:
    """A later page of an Inertia listing, asked for as JSON (``X-Inertia: true``)."""
    headers = {"X-Inertia": "true", "X-Requested-With": "XMLHttpRequest",
               "Accept": "text/html, application/xhtml+xml"}
    if first.version:
        headers["X-Inertia-Version"] = first.version
    response = client.page(path, subject=SUBJECT, headers=headers)
    return inertia_page(parse_json(response.data.decode("utf-8", "replace"), SUBJECT),
                        wanted=LIBRARY_COMPONENTS, subject=SUBJECT)


def _pages(props: JsonDict) -> int:
    pagination = props.get("pagination")
    pages = pagination.get("pages") if isinstance(pagination, dict) else None
    return pages if isinstance(pages, int) and pages > 0 else 1


def purchases_of(props: JsonDict) -> Iterator[Purchase]:
    """The purchases of one page's props (``results[]`` of ``{product, purchase}``)."""
    results = props.get("results")
    if not isinstance(results, list):
        raise SourceError("Gumroad's library page has no results list (did the site change?):"
                          " nothing was archived; update alejandria-source-gumroad")
    by_name = {str(c.get("name")): str(c.get("id")) for c in props.get("creators") or []
               if isinstance(c, dict) and c.get("id")}
    for entry in results:
        if not isinstance(entry, dict):
            continue
        product = _dict(entry.get("product"))
        purchase = _dict(entry.get("purchase"))
        if not purchase.get("id"):
            continue
        yield Purchase(
            id=str(purchase["id"]),
            product_name=str(product.get("name") or purchase["id"]),
            seller=_seller(product, by_name),
            download_url=_str(purchase.get("download_url")),
            is_archived=bool(purchase.get("is_archived")),
            thumbnail_url=_str(product.get("thumbnail_url")),
            native_type=_str(product.get("native_type")),
            updated_at=_str(product.get("updated_at")),
        )


def _seller(product: JsonDict, by_name: dict[str, str]) -> Seller:
    """The card's seller: ``creator_id`` (older page), else the ``creators[]`` entry of the
    same name, else the profile's subdomain. ``creator`` is null for a seller with no name."""
    creator = _dict(product.get("creator"))
    name = _str(creator.get("name"))
    profile = _str(creator.get("profile_url"))
    seller_id = _str(product.get("creator_id")) or (by_name.get(name) if name else None)
    if not seller_id and profile:
        seller_id = (urlsplit(profile).hostname or "").split(".")[0] or None
    if not seller_id:
        seller_id = "unknown"
    url = profile.split("?")[0] if profile else None
    return Seller(id=seller_id, name=name or seller_id, url=url,
                  avatar_url=_str(creator.get("avatar_url")))


def _dict(value: Any) -> JsonDict:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None

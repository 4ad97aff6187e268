"""The local Gumroad's pages in the shapes the site serves (see
``/work/shared/research/gumroad-pages.md`` and the Rails app's ``library_presenter.rb``,
``url_redirect_presenter.rb``): React-on-Rails script props and Inertia ``data-page``."""

from __future__ import annotations

import html
import json
from typing import Any

from alejandria_source_gumroad.testing.fakes import (
    FakeFile,
    FakePage,
    FakeProduct,
    FakePurchase,
    FakeUpdate,
)

INERTIA_VERSION = "fx-assets-1"


def react_page(component: str, props: dict[str, Any]) -> bytes:
    """A React-on-Rails page: the props as JSON in a script, ``<``, ``>``, ``&`` escaped."""
    blob = (json.dumps(props).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))
    return ("<!DOCTYPE html><html><head><title>Gumroad</title></head><body id=\"app\">"
            f'<script type="application/json" class="js-react-on-rails-component" '
            f'data-component-name="{component}" data-dom-id="{component}-react-component-1">'
            f"{blob}</script><div id=\"{component}-react-component-1\"></div>"
            "</body></html>").encode()


def inertia_object(component: str, props: dict[str, Any], url: str) -> dict[str, Any]:
    return {"component": component, "props": props, "url": url, "version": INERTIA_VERSION,
            "encryptHistory": False, "clearHistory": False}


def inertia_page(component: str, props: dict[str, Any], url: str) -> bytes:
    """An Inertia page: the page object as HTML-escaped JSON in ``data-page``."""
    page = html.escape(json.dumps(inertia_object(component, props, url)), quote=True)
    return ("<!DOCTYPE html><html><head><title>Gumroad</title></head><body>"
            f'<div id="app" data-page="{page}"></div></body></html>').encode()


def login_page() -> bytes:
    return (b"<!DOCTYPE html><html><head><title>Log in - Gumroad</title></head><body>"
            b'<form action="/login" method="post"><input name="user[login_identifier]">'
            b"</form></body></html>")


def card(purchase: FakePurchase, base_url: str, *, full: bool,
         cover_url: str | None = None) -> dict[str, Any]:
    """A library card: product + purchase. The Inertia cards lack ``creator_id``,
    ``updated_at``, ``permalink`` and ``email``."""
    product, seller = purchase.product, purchase.product.seller
    item: dict[str, Any] = {
        "product": {
            "name": product.name,
            "creator": {"name": seller.name,
                        "profile_url": f"https://{seller.username}.gumroad.com?recommended_by"
                                       "=library",
                        "avatar_url": f"https://public-files.gumroad.com/{seller.id}.png"},
            "thumbnail_url": cover_url,
            "native_type": product.native_type,
        },
        "purchase": {"id": purchase.id, "is_archived": purchase.is_archived,
                     "download_url": f"{base_url}/d/{purchase.token}", "variants": None,
                     "bundle_id": None, "is_bundle_purchase": False},
    }
    if full:
        item["product"].update(creator_id=seller.id, updated_at=product.updated_at,
                               permalink=product.permalink, has_third_party_analytics=False)
        item["purchase"]["email"] = "lector@example.com"
    return item


def creators(purchases: list[FakePurchase]) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for purchase in purchases:
        seller = purchase.product.seller
        entry = counts.setdefault(seller.id, {"id": seller.id, "name": seller.name, "count": 0})
        entry["count"] += 1
    return sorted(counts.values(), key=lambda entry: -entry["count"])


def file_item(purchase: FakePurchase, item: FakeFile) -> dict[str, Any]:
    size = item.listed_size if item.listed_size is not None else len(item.data)
    return {"type": "file", "id": item.id, "file_name": item.name, "description": None,
            "extension": item.extension, "file_size": size, "pagelength": None,
            "duration": None,
            "download_url": f"/r/{purchase.token}/product_files?product_file_ids%5B%5D={item.id}",
            "stream_url": None, "pdf_stamp_enabled": item.stamped,
            "processing": item.stamped and item.stamp_pending > 0, "thumbnail_url": None}


def content_items(purchase: FakePurchase) -> list[dict[str, Any]]:
    """Folders first (``{type: folder, id, name, children}``), then the files outside one."""
    folders: dict[str, dict[str, Any]] = {}
    loose: list[dict[str, Any]] = []
    for item in purchase.product.files:
        if item.folder:
            folder = folders.setdefault(item.folder, {
                "type": "folder", "id": f"fld_{len(folders) + 1}", "name": item.folder,
                "children": []})
            folder["children"].append(file_item(purchase, item))
        else:
            loose.append(file_item(purchase, item))
    return [*folders.values(), *loose]


def rich_page(page: FakePage) -> dict[str, Any]:
    """A ``rich_content_pages[]`` entry (``rich_contents.rb``)."""
    return {"id": page.id, "page_id": page.id, "title": page.title, "variant_id": None,
            "description": {"type": "doc", "content": page.nodes},
            "updated_at": page.updated_at}


def post_ref(update: FakeUpdate, purchase: FakePurchase, seller_url: str) -> dict[str, Any]:
    """A ``posts[]`` entry: the update's page is on the seller's subdomain."""
    return {"id": update.id, "name": update.subject, "action_at": update.published_at,
            "view_url": f"{seller_url}/p/{update.slug}?purchase_id={purchase.id}"}


def download_props(purchase: FakePurchase, base_url: str, *, react: bool,
                   seller_url: str = "") -> dict[str, Any]:
    product = purchase.product
    pages = [rich_page(page) for page in product.pages] or None
    props: dict[str, Any] = {
        "content": {"license": None, "content_items": content_items(purchase),
                    "rich_content_pages": pages,
                    "posts": [post_ref(u, purchase, seller_url) for u in product.updates]},
        "token": purchase.token, "redirect_id": f"red_{purchase.id}",
        "purchase": {"id": purchase.id, "email": "lector@example.com",
                     "created_at": "2024-01-05T12:00:00Z", "is_archived": purchase.is_archived,
                     "product_permalink": product.permalink, "product_id": product.id,
                     "product_name": product.name,
                     "product_long_url": f"{base_url}/l/{product.permalink}"},
    }
    if react:  # only the older page names the creator
        props["creator"] = {"name": product.seller.name,
                            "profile_url": f"https://{product.seller.username}.gumroad.com"}
    return props


def product_props(product: FakeProduct) -> dict[str, Any]:
    return {"product": {"id": product.id, "permalink": product.permalink, "name": product.name,
                        "description_html": product.description_html,
                        "seller": {"id": product.seller.id, "name": product.seller.name}}}


def update_props(update: FakeUpdate, product: FakeProduct,
                 purchase: FakePurchase) -> dict[str, Any]:
    """An update post's page (``PostPresenter#post_component_props``)."""
    seller = product.seller
    return {"creator_profile": {"external_id": seller.id, "name": seller.name,
                                "subdomain": f"{seller.username}.gumroad.com"},
            "subject": update.subject, "slug": update.slug, "external_id": update.id,
            "purchase_id": purchase.id, "published_at": update.published_at,
            "message": update.message_html, "call_to_action": None, "download_url": None,
            "has_posts_on_profile": False, "recent_posts": [], "paginated_comments": None,
            "comments_max_allowed_depth": 4}


def confirm_page(token: str) -> bytes:
    """Where a download page sends a browser Gumroad does not take for the buyer."""
    return ("<!DOCTYPE html><html><head><title>Confirm your email address</title></head>"
            f'<body><form action="/confirm" method="post"><input type="hidden" name="id" '
            f'value="{token}"><input name="email"></form></body></html>').encode()

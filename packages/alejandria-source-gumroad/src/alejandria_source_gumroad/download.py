"""A purchase's download page ``/d/<token>`` (React ``DownloadPageWithContent`` or Inertia
``UrlRedirects/DownloadPage``; shapes in ``/work/shared/research/gumroad-pages.md`` and the
Rails app's ``url_redirect_presenter.rb``): the product it is for, its files (each with its
folder, name, extension, size and whether Gumroad stamps it), its rich-content pages (TipTap
documents) and the update posts the seller sent to buyers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from alejandria.models import JsonDict
from alejandria_source_gumroad.pages import read_page

DOWNLOAD_COMPONENTS = ("DownloadPageWithContent", "UrlRedirects/DownloadPage")


@dataclass(frozen=True)
class ProductFile:
    id: str
    #: As the page shows it: no extension; ``extension`` upper case.
    name: str
    extension: str | None
    size: int | None
    download_url: str | None
    #: The folders it is in, outermost first.
    folder: tuple[str, ...] = ()
    #: ``pdf_stamp_enabled``: the buyer's copy carries a stamp, so its size is not the listed
    #: one, and Gumroad may still be preparing it (``processing``).
    stamped: bool = False
    processing: bool = False

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.extension.lower()}" if self.extension else self.name


@dataclass(frozen=True)
class RichPage:
    """A rich-content page: its TipTap document's top-level nodes, as Gumroad stores them."""

    id: str
    title: str
    nodes: tuple[JsonDict, ...]
    updated_at: str | None = None


@dataclass(frozen=True)
class UpdateRef:
    """An update post listed on the page; its text is on its own page, ``view_url``."""

    id: str
    name: str
    published_at: str | None
    view_url: str | None


@dataclass(frozen=True)
class DownloadPage:
    product_id: str | None
    product_name: str | None
    permalink: str | None
    product_url: str | None
    files: tuple[ProductFile, ...]
    pages: tuple[RichPage, ...] = ()
    updates: tuple[UpdateRef, ...] = ()
    #: When it was bought (ISO 8601).
    purchased_at: str | None = None
    #: Where the page was read from (a seller's subdomain, when Gumroad moved it there):
    #: the page's relative links are resolved against it.
    url: str | None = None


def parse_download_page(html: str, *, subject: str, url: str | None = None) -> DownloadPage:
    props = read_page(html, wanted=DOWNLOAD_COMPONENTS, subject=subject).props
    content = props.get("content") if isinstance(props.get("content"), dict) else {}
    purchase = props.get("purchase") if isinstance(props.get("purchase"), dict) else {}
    assert isinstance(content, dict) and isinstance(purchase, dict)
    return DownloadPage(
        product_id=_str(purchase.get("product_id")),
        product_name=_str(purchase.get("product_name")),
        permalink=_str(purchase.get("product_permalink")),
        product_url=_str(purchase.get("product_long_url")),
        files=tuple(_files(content.get("content_items") or [], ())),
        pages=tuple(_pages(content.get("rich_content_pages"))),
        updates=tuple(_updates(content.get("posts"))),
        purchased_at=_str(purchase.get("created_at")),
        url=url,
    )


def _pages(items: Any) -> Iterator[RichPage]:
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not (item.get("id") or item.get("page_id")):
            continue
        description = item.get("description")
        nodes = description.get("content") if isinstance(description, dict) else description
        yield RichPage(id=str(item.get("id") or item.get("page_id")),
                       title=str(item.get("title") or ""),
                       nodes=tuple(n for n in nodes if isinstance(n, dict))
                       if isinstance(nodes, list) else (),
                       updated_at=_str(item.get("updated_at")))


def _updates(items: Any) -> Iterator[UpdateRef]:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("id"):
            yield UpdateRef(id=str(item["id"]), name=str(item.get("name") or item["id"]),
                            published_at=_str(item.get("action_at")),
                            view_url=_str(item.get("view_url")))


def _files(items: Any, folder: tuple[str, ...]) -> Iterator[ProductFile]:
    if not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "folder":
            yield from _files(item.get("children") or [], (*folder, str(item.get("name") or "")))
        elif item.get("type") == "file" and item.get("id"):
            size = item.get("file_size")
            yield ProductFile(
                id=str(item["id"]), name=str(item.get("file_name") or item["id"]),
                extension=_str(item.get("extension")),
                size=size if isinstance(size, int) else None,
                download_url=_str(item.get("download_url")), folder=folder,
                stamped=bool(item.get("pdf_stamp_enabled")),
                processing=bool(item.get("processing")))


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def description_of(html: str, *, subject: str) -> str:
    """A product page's ``description_html`` (``ProductPage`` props, or Inertia's)."""
    props: JsonDict = read_page(html, wanted=("ProductPage", "Products/Show"),
                                subject=subject).props
    product = props.get("product") if isinstance(props.get("product"), dict) else {}
    assert isinstance(product, dict)
    return str(product.get("description_html") or "")

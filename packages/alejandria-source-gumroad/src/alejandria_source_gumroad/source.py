"""The ``gumroad`` source: ``alejandria sync gumroad [library|SELLER...]``.

The library is read once (``library``); each purchase's download page then gives its product
and files, and its product page the description. Mapping: seller → creator, product →
collection, the product's description → a post (id ``<product id>:description``) holding the
product's files as media (name, extension, size and folders in their metadata). Files stream
through ``open_media``: the ``/r/`` link with the session cookie, its redirect to the signed
URL on another host without it. A file already stored (by its Gumroad file id) is never
requested again, so a re-run makes no file requests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from alejandria.errors import ItemRejected, SourceAuthError
from alejandria.models import (
    Checkpoint,
    CollectionIn,
    CollectionRef,
    CreatorIn,
    Expect,
    JsonDict,
    MediaIn,
    Notice,
    PostIn,
    SyncItem,
    SyncTarget,
)
from alejandria.plugin_types import BaseSource, SourceContext
from alejandria_source_gumroad.client import NO_SESSION, GumroadClient
from alejandria_source_gumroad.config import GumroadConfig
from alejandria_source_gumroad.content import html_to_text, sanitize
from alejandria_source_gumroad.download import (
    DownloadPage,
    ProductFile,
    description_of,
    parse_download_page,
)
from alejandria_source_gumroad.library import Purchase, Seller, read_library

LIBRARY_WORDS = frozenset({"library", "all", "purchases", "me"})


class GumroadSource(BaseSource):
    """Options (``-o key=value``, or ``ALEJANDRIA_GUMROAD_<KEY>``): see the package README."""

    def __init__(self, context: SourceContext, *, client: GumroadClient | None = None) -> None:
        self.config = GumroadConfig.from_context(context)
        self._client = client
        self._library: tuple[str, list[Purchase]] | None = None
        #: ``open_media`` is thread-safe (core's client: one pool, a locked rate limiter).
        self.media_concurrency = max(1, self.config.media_workers)

    @property
    def client(self) -> GumroadClient:
        if self._client is None:
            self._client = GumroadClient(self.config)
        return self._client

    # -- session and targets -------------------------------------------------------------

    def authenticate(self) -> None:
        """Read the library: a session Gumroad refuses is ``SourceAuthError`` ("log in
        again"), a page it cannot read ``UnknownFormat``, before anything is archived."""
        if not self.config.cookie:
            raise SourceAuthError(NO_SESSION)
        self.library()

    def library(self) -> list[Purchase]:
        if self._library is None:
            self._library = read_library(self.client)
        return self._library[1]

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        """``library`` (the default: every purchase) or sellers by id, name or username."""
        seen: set[str] = set()
        for raw in targets:
            target = self._resolve_one(raw)
            if target.scope not in seen:
                seen.add(target.scope)
                yield target

    def _resolve_one(self, raw: str) -> SyncTarget:
        text = raw.strip()
        if text.casefold() in LIBRARY_WORDS or "gumroad.com/library" in text:
            return SyncTarget(scope="library", label="your Gumroad library", locator="library")
        wanted = text.casefold()
        for seller in _sellers(self.library()):
            names = {seller.id.casefold(), seller.name.casefold()}
            if seller.url:
                names.add(seller.url.split("//")[-1].split(".")[0].casefold())
            if wanted in names:
                return SyncTarget(scope=f"seller:{seller.id}", label=seller.name,
                                  locator=text, metadata={"seller_id": seller.id})
        return SyncTarget(scope=f"unresolved:{text}", label=text, locator=text,
                          metadata={"error": "no purchase from a seller of that name, id or "
                                             "username in your Gumroad library"})

    # -- fetching ------------------------------------------------------------------------

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        if "error" in target.metadata:
            raise ItemRejected(target.label, str(target.metadata["error"]))
        seller_id = target.metadata.get("seller_id")
        chosen = [p for p in self.library() if not p.is_archived
                  and (seller_id is None or p.seller.id == seller_id)]
        yield Expect(posts=len(chosen))
        known = dict((cursor or {}).get("purchases") or {})
        progress = dict(known)
        sellers_done: set[str] = set()
        for purchase in chosen:
            try:
                page = self._download_page(purchase)
            except ItemRejected as exc:
                yield Notice(message=f"{purchase.product_name}: {exc.reason}")
                continue
            if purchase.seller.id not in sellers_done:
                sellers_done.add(purchase.seller.id)
                yield _creator(purchase.seller)
            product_id = page.product_id or purchase.id
            yield CollectionIn(
                external_id=product_id, creator_external_id=purchase.seller.id,
                title=page.product_name or purchase.product_name,
                cover_url=purchase.thumbnail_url,
                metadata={"permalink": page.permalink, "url": page.product_url,
                          "native_type": purchase.native_type, "purchase_id": purchase.id})
            yield self._description_post(purchase, page, product_id)
            progress[purchase.id] = sorted(item.id for item in page.files)
            if progress != known:
                known = dict(progress)
                yield Checkpoint(cursor={"purchases": progress})

    def _download_page(self, purchase: Purchase) -> DownloadPage:
        if not purchase.download_url:
            raise ItemRejected(purchase.product_name, "Gumroad gives no download page for this "
                                                      "purchase")
        subject = f"the download page of {purchase.product_name}"
        return parse_download_page(self.client.text(purchase.download_url, subject=subject),
                                   subject=subject)

    def _description_post(self, purchase: Purchase, page: DownloadPage,
                          product_id: str) -> PostIn:
        raw = ""
        url = page.product_url or (f"{self.config.base_url}/l/{page.permalink}"
                                   if page.permalink else None)
        if url:
            subject = f"the product page of {purchase.product_name}"
            with contextlib.suppress(ItemRejected):  # a product taken down: files still kept
                raw = description_of(self.client.text(url, subject=subject), subject=subject)
        safe = sanitize(raw) if raw else None
        return PostIn(
            external_id=f"{product_id}:description", creator_external_id=purchase.seller.id,
            title=page.product_name or purchase.product_name,
            text=html_to_text(safe) if safe else "", html=safe, url=url,
            collections=(CollectionRef(external_id=product_id, position=0),),
            media=tuple(_media(item, position, product_id,
                               self.client.absolute(item.download_url)
                               if item.download_url else None)
                        for position, item in enumerate(page.files)),
            # the files as the page lists them (post_media has no metadata of its own)
            metadata={"purchase_id": purchase.id, "kind": "description",
                      "files": [_file_facts(item) for item in page.files]})

    # -- media ---------------------------------------------------------------------------

    def open_media(self, media: MediaIn) -> contextlib.AbstractContextManager[BinaryIO]:
        if not media.url:
            raise ItemRejected(media.filename or media.key, "Gumroad gives no download link "
                                                            "for this file")
        extension = str(media.metadata.get("extension") or "").lower()
        return self.client.open(media.url, subject=media.filename or media.key,
                                expect_html=extension in ("html", "htm"))


def _sellers(purchases: list[Purchase]) -> list[Seller]:
    found: dict[str, Seller] = {}
    for purchase in purchases:
        found.setdefault(purchase.seller.id, purchase.seller)
    return list(found.values())


def _creator(seller: Seller) -> CreatorIn:
    return CreatorIn(external_id=seller.id, name=seller.name, url=seller.url,
                     avatar_url=seller.avatar_url)


def _file_facts(item: ProductFile) -> JsonDict:
    return {"file_id": item.id, "name": item.name, "extension": item.extension,
            "size": item.size, "folder": "/".join(item.folder) or None}


def _media(item: ProductFile, position: int, product_id: str, url: str | None) -> MediaIn:
    return MediaIn(key=f"gumroad-file:{item.id}", url=url, filename=item.filename,
                   position=position, metadata={**_file_facts(item), "product_id": product_id})

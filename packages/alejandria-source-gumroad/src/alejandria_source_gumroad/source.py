"""The ``gumroad`` source: ``alejandria sync gumroad [library|SELLER...] [--include-archived]``.

The library is read once (``library``); each purchase's download page then gives its product,
files, rich-content pages and update posts, and its product page the description. Mapping:
seller → creator; product → collection; posts in it: the description (``<product>:description``,
with the product's cover), each rich-content page (``<product>:page:<id>``) and each update
post (``update:<id>``, read from its own page on the seller's subdomain once). Each file is
media of one post: the first page that embeds it, else the description (names, extensions,
sizes and folders in its metadata).

Files stream through ``open_media``: the ``/r/`` link with the session cookie, its redirect to
the signed URL on another host without it. A file already stored (by its Gumroad file id) is
never requested again, so a re-run makes no file requests; a new version of a file has a new
id and is archived beside the old one; a file that leaves the page stays archived, marked
``gone_upstream`` (``cursor``).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

from alejandria.errors import ItemRejected, RateLimited, SourceAuthError, SourceError
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
from alejandria.richtext import html_to_text, sanitize, url_identity
from alejandria_source_gumroad import cursor as purchases
from alejandria_source_gumroad.client import NO_SESSION, GumroadClient
from alejandria_source_gumroad.config import GumroadConfig
from alejandria_source_gumroad.cursor import PurchaseState
from alejandria_source_gumroad.download import (
    DownloadPage,
    ProductFile,
    UpdateRef,
    description_of,
    parse_download_page,
)
from alejandria_source_gumroad.library import Purchase, Seller, read_library
from alejandria_source_gumroad.rich_pages import render_page
from alejandria_source_gumroad.updates import parse_time, parse_update_page

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
            self._library = read_library(self.client,
                                         include_archived=self.config.include_archived)
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
        chosen = [p for p in self.library()
                  if (self.config.include_archived or not p.is_archived)
                  and (seller_id is None or p.seller.id == seller_id)]
        expected = len(chosen)
        yield Expect(posts=expected)
        states = purchases.load(cursor)
        saved = purchases.dump(states)
        sellers_done: set[str] = set()
        for purchase in chosen:
            try:
                page = self._download_page(purchase)
            except (SourceAuthError, RateLimited):
                raise  # every other purchase would fail the same way
            except NoDownloadPage as exc:
                yield Notice(message=f"{purchase.product_name}: {exc.reason}")
                continue
            except SourceError as exc:  # this purchase only: the next sync tries it again
                yield Notice(message=f"{purchase.product_name}: {_reason(exc)}", failed=True)
                continue
            if purchase.seller.id not in sellers_done:
                sellers_done.add(purchase.seller.id)
                yield _creator(purchase.seller)
            state = states.setdefault(purchase.id, PurchaseState())
            new_updates = [u for u in page.updates if u.id not in state.updates]
            expected += len(page.pages) + len(new_updates)
            yield Expect(posts=expected)
            yield from self._purchase_items(purchase, page, state, new_updates)
            now = purchases.dump(states)
            if now != saved:
                saved = now
                yield Checkpoint(cursor=now)

    def _download_page(self, purchase: Purchase) -> DownloadPage:
        if not purchase.download_url:
            raise NoDownloadPage(purchase.product_name, "Gumroad gives no download page for "
                                                        "this purchase (nothing to archive)")
        subject = f"the download page of {purchase.product_name}"
        response = self.client.page(purchase.download_url, subject=subject)
        text = response.data.decode("utf-8", "replace")
        return parse_download_page(text, subject=subject,
                                   url=response.url or self.client.absolute(
                                       purchase.download_url))

    def _purchase_items(self, purchase: Purchase, page: DownloadPage, state: PurchaseState,
                        new_updates: list[UpdateRef]) -> Iterator[SyncItem]:
        product_id = page.product_id or purchase.id
        yield CollectionIn(
            external_id=product_id, creator_external_id=purchase.seller.id,
            title=page.product_name or purchase.product_name,
            cover_url=purchase.thumbnail_url,
            metadata={"permalink": page.permalink, "url": page.product_url,
                      "native_type": purchase.native_type, "purchase_id": purchase.id,
                      "archived_in_library": purchase.is_archived})
        files = {item.id: item for item in page.files}
        rendered = [(rich, render_page(rich.nodes, files)) for rich in page.pages]
        owner: dict[str, str] = {}
        for rich, result in rendered:
            for file_id in result.file_ids:
                owner.setdefault(file_id, _page_id(product_id, rich.id))
        self._remember_files(state, page.files)
        description = [item for item in page.files if item.id not in owner]
        yield self._description_post(purchase, page, product_id, description, state)
        for position, (rich, result) in enumerate(rendered, start=1):
            post_id = _page_id(product_id, rich.id)
            mine = [files[i] for i in result.file_ids if owner.get(i) == post_id]
            yield PostIn(
                external_id=post_id, creator_external_id=purchase.seller.id,
                title=rich.title or f"{page.product_name or purchase.product_name} "
                                    f"({position})",
                text=result.text, html=result.html or None, url=page.url,
                published_at=parse_time(page.purchased_at),
                edited_at=parse_time(rich.updated_at),
                collections=(CollectionRef(external_id=product_id, position=position),),
                media=(*self._file_media(mine, product_id, page),
                       *_inline_images(result.html, start=len(mine))),
                metadata={"purchase_id": purchase.id, "kind": "page", "page_id": rich.id,
                          "files": [_file_facts(item) for item in mine]})
        for offset, ref in enumerate(new_updates):
            post = self._update_post(purchase, ref, product_id,
                                     position=len(rendered) + 1 + offset)
            if isinstance(post, Notice):
                yield post
                continue
            yield post
            state.updates.append(ref.id)

    def _remember_files(self, state: PurchaseState, listed: tuple[ProductFile, ...]) -> None:
        """The page's files as the cursor keeps them; those that left it marked gone."""
        current = {item.id: _file_facts(item) for item in listed}
        today = datetime.now(UTC).date().isoformat()
        for file_id, facts in state.files.items():
            if file_id not in current and file_id not in state.gone:
                state.gone[file_id] = {**facts, "gone_since": today}
        for file_id in current:
            state.gone.pop(file_id, None)  # back on the page
        state.files = current

    def _description_post(self, purchase: Purchase, page: DownloadPage, product_id: str,
                          files: list[ProductFile], state: PurchaseState) -> PostIn:
        raw = ""
        url = page.product_url or (f"{self.config.base_url}/l/{page.permalink}"
                                   if page.permalink else None)
        if url:
            subject = f"the product page of {purchase.product_name}"
            with contextlib.suppress(ItemRejected):  # a product taken down: files still kept
                raw = description_of(self.client.text(url, subject=subject), subject=subject)
        safe = sanitize(raw) if raw else None
        media = [*self._file_media(files, product_id, page), *_gone_media(state, product_id)]
        if purchase.thumbnail_url:
            media.append(_cover(purchase.thumbnail_url, product_id, len(media)))
        media.extend(_inline_images(safe or "", start=len(media)))
        return PostIn(
            external_id=f"{product_id}:description", creator_external_id=purchase.seller.id,
            title=page.product_name or purchase.product_name,
            text=html_to_text(safe) if safe else "", html=safe, url=url,
            published_at=parse_time(page.purchased_at),
            collections=(CollectionRef(external_id=product_id, position=0),),
            media=tuple(media),
            # the files as the page lists them (post_media has no metadata of its own)
            metadata={"purchase_id": purchase.id, "kind": "description",
                      "files": [_file_facts(item) for item in files],
                      # the media keys of the files that left the page (core's convention:
                      # the web app marks them "no longer at the source")
                      "gone_upstream": sorted(f"{FILE_KEY}{file_id}" for file_id in state.gone)})

    def _file_media(self, files: list[ProductFile], product_id: str,
                    page: DownloadPage) -> list[MediaIn]:
        return [_media(item, position, product_id,
                       self.client.absolute(item.download_url, page.url)
                       if item.download_url else None)
                for position, item in enumerate(files)]

    def _update_post(self, purchase: Purchase, ref: UpdateRef, product_id: str, *,
                     position: int) -> PostIn | Notice:
        """An update post from its page; a page that cannot be read is a note (the next
        sync tries again), never a post without its text."""
        subject = f"the update \"{ref.name}\" of {purchase.product_name}"
        if not ref.view_url:
            return Notice(message=f"{subject}: Gumroad gives no link to it")
        try:
            update = parse_update_page(self.client.text(ref.view_url, subject=subject),
                                       subject=subject)
        except (SourceAuthError, RateLimited):
            raise
        except ItemRejected as exc:  # taken down since the page listed it
            return Notice(message=f"{subject}: {exc.reason}")
        except SourceError as exc:
            return Notice(message=f"{subject}: {_reason(exc)}", failed=True)
        safe = sanitize(update.message) if update.message else ""
        return PostIn(
            external_id=f"update:{ref.id}", creator_external_id=purchase.seller.id,
            title=update.subject or ref.name, text=html_to_text(safe) if safe else "",
            html=safe or None, url=ref.view_url,
            published_at=update.published_at or parse_time(ref.published_at),
            collections=(CollectionRef(external_id=product_id, position=position),),
            media=tuple(_inline_images(safe, start=0)),
            metadata={"purchase_id": purchase.id, "kind": "update", "update_id": ref.id})

    # -- media ---------------------------------------------------------------------------

    def open_media(self, media: MediaIn) -> contextlib.AbstractContextManager[BinaryIO]:
        subject = media.filename or media.key
        if media.metadata.get("gone_upstream"):
            raise ItemRejected(subject, "the file left Gumroad before it was archived",
                               retry=False)
        if not media.url:
            raise ItemRejected(subject, "Gumroad gives no download link for this file")
        if not media.key.startswith(FILE_KEY):  # a cover or a picture in a page
            return self.client.open(media.url, subject=subject)
        extension = str(media.metadata.get("extension") or "").lower()
        size = media.metadata.get("size")
        return self.client.open(media.url, subject=subject,
                                size=size if isinstance(size, int) else None,
                                stamped=bool(media.metadata.get("stamped")),
                                expect_html=extension in ("html", "htm"))


FILE_KEY = "gumroad-file:"


class NoDownloadPage(ItemRejected):
    """A purchase with nothing to download (a membership without content, a call)."""


def _reason(exc: SourceError) -> str:
    return exc.reason if isinstance(exc, ItemRejected) else str(exc)


def _page_id(product_id: str, page_id: str) -> str:
    return f"{product_id}:page:{page_id}"


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
    return MediaIn(key=f"{FILE_KEY}{item.id}", url=url, filename=item.filename,
                   position=position,
                   metadata={**_file_facts(item), "product_id": product_id,
                             **({"stamped": True} if item.stamped else {})})


def _gone_media(state: PurchaseState, product_id: str) -> list[MediaIn]:
    """The files that left the page: still this post's, marked gone (never fetched again)."""
    found = []
    for position, (file_id, facts) in enumerate(sorted(state.gone.items()), start=1000):
        name = str(facts.get("name") or file_id)
        extension = facts.get("extension")
        found.append(MediaIn(
            key=f"{FILE_KEY}{file_id}", url=None, position=position,
            filename=f"{name}.{str(extension).lower()}" if extension else name,
            metadata={**facts, "product_id": product_id, "gone_upstream": True}))
    return found


def _cover(url: str, product_id: str, position: int) -> MediaIn:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "cover"
    return MediaIn(key=f"gumroad-cover:{_digest(url)}", url=url, role="cover",
                   filename=name, position=position, metadata={"product_id": product_id})


def _inline_images(markup: str, *, start: int) -> list[MediaIn]:
    """The pictures a page or post shows inline, archived so they show without Gumroad's
    CDN (the web app points the ``<img>`` at the archive's copy)."""
    if "<img" not in markup:
        return []
    found: dict[str, MediaIn] = {}
    for tag in BeautifulSoup(markup, "html.parser").find_all("img"):
        src = str(tag.get("src") or "")
        if src.startswith(("http://", "https://")) and src not in found:
            found[src] = MediaIn(key=f"gumroad-image:{_digest(src)}", url=src, role="image",
                                 position=start + len(found))
    return list(found.values())


def _digest(url: str) -> str:
    """A picture's identity: its address without the signed query, hashed."""
    return hashlib.sha256((url_identity(url) or url).encode()).hexdigest()[:32]

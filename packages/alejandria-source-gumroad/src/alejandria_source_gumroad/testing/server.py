"""The local Gumroad: ``/library`` (React-on-Rails or Inertia, paginated, raw JSON to
``X-Inertia: true``), download pages ``/d/<token>``, file links ``/r/<token>/product_files``
that redirect to a signed URL on a second server (another host), product pages ``/l/<permalink>``
and ``/login``, where a request without a valid ``_gumroad_app_session`` is sent.

Built on core's ``HttpFixture`` (a loopback server on threads that records every request):
the site is one, its file host (``files``) another, so a test can check that no cookie
reached the file host.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlsplit

from alejandria.testing import HttpFixture, Reply
from alejandria.testing.http_fixture import Request
from alejandria_source_gumroad.testing import pages
from alejandria_source_gumroad.testing.fakes import FakeFile, FakePurchase

LibraryFormat = Literal["react", "inertia", "unknown"]
HTML = "text/html; charset=utf-8"


@dataclass
class Fault:
    """The next ``times`` requests of paths starting with ``path`` get ``status``."""

    path: str
    status: int
    times: int
    headers: Mapping[str, str] = field(default_factory=dict)


class _Host(HttpFixture):
    """Another host of the local Gumroad, answered by the fixture."""

    def __init__(self, answer: Callable[[_Host, str, Mapping[str, str]], Reply]) -> None:
        super().__init__()
        self._answer = answer
        self.faults: list[Fault] = []

    def answer(self, method: str, target: str, headers: Mapping[str, str]) -> Reply:
        failed = _recorded(self, self.faults, method, target, headers)
        return failed if failed is not None else self._answer(self, target, headers)


def _recorded(server: HttpFixture, faults: list[Fault], method: str, target: str,
              headers: Mapping[str, str]) -> Reply | None:
    """Record the request on ``server``; the reply of a fault it meets, if any."""
    with server._lock:
        server.requests.append(Request(method, target, dict(headers)))
        fault = _take_fault(faults, target)
    if fault is None:
        return None
    return Reply(fault.status, body=b"busy", content_type=HTML, headers=fault.headers)


def _take_fault(faults: list[Fault], target: str) -> Fault | None:
    fault = next((f for f in faults if f.times > 0 and target.startswith(f.path)), None)
    if fault is not None:
        fault.times -= 1
    return fault


class GumroadFixture(HttpFixture):
    """The site, its file host and the sellers' host; use as a context manager.

    ``format``: how ``/library``, ``/d/`` and update pages are served (``"unknown"``: a
    library page with neither format's data). ``page_size``: Inertia library cards per page
    (Gumroad: 15).
    """

    def __init__(self, *, format: LibraryFormat = "react", page_size: int = 15,
                 app_session: str | None = None) -> None:
        super().__init__()
        self.format: LibraryFormat = format
        self.page_size = page_size
        self.app_session = app_session or "fx-" + secrets.token_hex(12)
        self.session_valid = True
        self.purchases: list[FakePurchase] = []
        self.faults: list[Fault] = []
        #: Seconds the file host waits before each file (the crash tests).
        self.file_delay_s = 0.0
        #: The signed-URL host: serves the files' bytes and covers, needs no cookie.
        self.files = _Host(lambda _host, target, _headers: self._file(target))
        #: The sellers' subdomains: update posts, moved download pages; no cookie needed.
        self.sellers = _Host(lambda _host, target, _headers: self._seller_host(target))
        self._state = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> GumroadFixture:
        self.files.start()
        self.sellers.start()
        super().start()
        return self

    def close(self) -> None:
        super().close()
        self.files.close()
        self.sellers.close()

    def __enter__(self) -> GumroadFixture:
        return self.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    @property
    def seller_url(self) -> str:
        return f"http://{self.sellers.host}"

    @property
    def cookie(self) -> str:
        return f"_gumroad_app_session={self.app_session}"

    @property
    def other_hosts(self) -> list[str]:
        """The hosts besides the site a sync reaches (for ``allow_private_hosts``)."""
        return [self.files.host, self.sellers.host]

    # -- state ---------------------------------------------------------------------------

    def add(self, *purchases: FakePurchase) -> None:
        with self._state:
            self.purchases.extend(purchases)

    def expire_session(self) -> None:
        """The cookie stops working: every page redirects to ``/login``."""
        self.session_valid = False

    def fail(self, path: str, status: int, *, times: int = 1,
             headers: Mapping[str, str] | None = None, host: str = "site") -> None:
        """The next ``times`` requests of ``path...`` on ``host`` (``site``, ``files``,
        ``sellers``) answer ``status`` (429 with ``Retry-After`` in ``headers``, 503...)."""
        fault = Fault(path, status, times, dict(headers or {}))
        {"site": self.faults, "files": self.files.faults,
         "sellers": self.sellers.faults}[host].append(fault)

    def reset_counts(self) -> None:
        for server in (self, self.files, self.sellers):
            with server._lock:
                server.requests.clear()

    @property
    def file_requests(self) -> int:
        """Requests of file links (``/r/...``, on either host) and of the file host."""
        links = 0
        for server in (self, self.sellers):
            with server._lock:
                links += sum(1 for r in server.requests if r.path.startswith("/r/"))
        with self.files._lock:
            return links + sum(1 for r in self.files.requests
                               if r.path.startswith("/attachments/"))

    # -- the site ------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: Mapping[str, str]) -> Reply:
        failed = _recorded(self, self.faults, method, target, headers)
        if failed is not None:
            return failed
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path == "/login":
            return Reply(body=pages.login_page(), content_type=HTML)
        if path == "/confirm":
            return Reply(body=pages.confirm_page(query.get("id", [""])[0]), content_type=HTML)
        if path.startswith("/l/"):
            product = next((p.product for p in self.purchases
                            if p.product.permalink == path[3:]), None)
            if product is None:
                return Reply(404, body=b"not found", content_type=HTML)
            return Reply(body=pages.react_page("ProductPage", pages.product_props(product)),
                         content_type=HTML)
        if not self._logged_in(headers):
            return Reply(302, headers={"Location": f"/login?next={quote(path, safe='')}"},
                         content_type=HTML)
        if path == "/library":
            return self._library(query, headers)
        if path.startswith("/d/"):
            purchase = self._purchase(path[3:])
            if purchase is not None and purchase.on_seller_host:
                return Reply(301, headers={"Location": f"{self.seller_url}{path}"},
                             content_type=HTML)
            return self._download_page(path[3:])
        if path.startswith("/r/"):
            return self._file_link(path, query)
        return Reply(404, body=b"not found", content_type=HTML)

    def _logged_in(self, headers: Mapping[str, str]) -> bool:
        cookie = next((value for name, value in headers.items() if name.lower() == "cookie"),
                      "")
        return self.session_valid and f"_gumroad_app_session={self.app_session}" in cookie

    def _cover_url(self, purchase: FakePurchase) -> str | None:
        if purchase.product.cover is None:
            return None
        return self.files.url(f"/covers/{purchase.product.id}.png")

    def _library(self, query: dict[str, list[str]], headers: Mapping[str, str]) -> Reply:
        base = self.base_url
        if self.format == "unknown":
            return Reply(body=b"<!DOCTYPE html><html><body id=\"app\"><div id=\"root\"></div>"
                              b"<script src=\"/packs/library.js\"></script></body></html>",
                         content_type=HTML)
        if self.format == "react":  # archived purchases are in the list, flagged
            whole = {"results": [pages.card(p, base, full=True, cover_url=self._cover_url(p))
                                 for p in self.purchases],
                     "creators": pages.creators(self.purchases), "bundles": []}
            return Reply(body=pages.react_page("LibraryPage", whole), content_type=HTML)
        archived = query.get("show_archived_only", ["false"])[0] == "true"
        shown = [p for p in self.purchases if p.is_archived == archived]
        count = len(shown)
        last = max(1, -(-count // self.page_size))
        page = min(max(1, int(query.get("page", ["1"])[0] or 1)), last)  # past the end: last
        chunk = shown[(page - 1) * self.page_size:page * self.page_size]
        props: dict[str, Any] = {
            "results": [pages.card(p, base, full=False, cover_url=self._cover_url(p))
                        for p in chunk],
            "creators": pages.creators(shown), "bundles": [],
            "pagination": {"page": page, "pages": last,
                           "from": (page - 1) * self.page_size + 1 if chunk else 0,
                           "to": (page - 1) * self.page_size + len(chunk), "count": count}}
        url = f"/library?page={page}"
        inertia_headers = {"Vary": "X-Inertia"}
        if any(name.lower() == "x-inertia" for name in headers):
            return Reply(json=pages.inertia_object("Library/Index", props, url),
                         headers={**inertia_headers, "X-Inertia": "true"})
        return Reply(body=pages.inertia_page("Library/Index", props, url), content_type=HTML,
                     headers=inertia_headers)

    def _purchase(self, token: str) -> FakePurchase | None:
        return next((p for p in self.purchases if p.token == token), None)

    def _download_page(self, token: str) -> Reply:
        purchase = self._purchase(token)
        if purchase is None:
            return Reply(404, body=b"not found", content_type=HTML)
        if purchase.confirm_email:
            return Reply(302, headers={"Location": f"/confirm?id={token}&destination="
                                                   "download_page"}, content_type=HTML)
        react = self.format != "inertia"
        props = pages.download_props(purchase, self.base_url, react=react,
                                     seller_url=self.seller_url)
        body = (pages.react_page("DownloadPageWithContent", props) if react else
                pages.inertia_page("UrlRedirects/DownloadPage", props, f"/d/{token}"))
        return Reply(body=body, content_type=HTML)

    def _file_link(self, path: str, query: dict[str, list[str]]) -> Reply:
        """``/r/<token>/product_files?product_file_ids[]=<id>``: a redirect to a signed URL
        on the file host (S3-style ``response-content-disposition`` and ``verify``), or back
        to the download page while a stamped PDF is being prepared."""
        token = path.split("/")[2]
        purchase = self._purchase(token)
        wanted = query.get("product_file_ids[]", [])
        item = next((f for f in purchase.product.files if f.id in wanted), None) \
            if purchase else None
        if purchase is None or item is None:
            return Reply(404, body=b"not found", content_type=HTML)
        with self._state:
            if item.stamp_pending > 0:
                item.stamp_pending -= 1
                return Reply(302, headers={"Location": f"/d/{token}"}, content_type=HTML)
        signed = (f"{self.files.url(_file_key(purchase, item))}?response-content-disposition="
                  f"{quote('attachment; filename=' + json.dumps(item.filename))}"
                  f"&verify={secrets.token_urlsafe(16)}")
        return Reply(302, headers={"Location": signed}, content_type=HTML)

    # -- the other hosts -----------------------------------------------------------------

    def _file(self, target: str) -> Reply:
        path = urlsplit(target).path
        for purchase in self.purchases:
            product = purchase.product
            if path == f"/covers/{product.id}.png" and product.cover is not None:
                return Reply(body=product.cover, content_type="image/png")
            for item in product.files:
                if path == _file_key(purchase, item):
                    if self.file_delay_s:
                        time.sleep(self.file_delay_s)
                    return Reply(body=item.data, content_type=item.mimetype)
        return Reply(404, body=b"<Error>NoSuchKey</Error>", content_type="application/xml")

    def _seller_host(self, target: str) -> Reply:
        """A seller's subdomain: update posts ``/p/<slug>?purchase_id=`` and download pages
        (``/d/``, with their ``/r/`` links) Gumroad moved there; no cookie needed."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path.startswith("/d/"):
            return self._download_page(path[3:])
        if path.startswith("/r/"):
            return self._file_link(path, query)
        if path.startswith("/p/"):
            purchase_id = query.get("purchase_id", [""])[0]
            for purchase in self.purchases:
                update = next((u for u in purchase.product.updates if u.slug == path[3:]),
                              None)
                if update is not None and purchase.id == purchase_id:
                    props = pages.update_props(update, purchase.product, purchase)
                    body = (pages.inertia_page("Posts/Show", props, target)
                            if self.format == "inertia" else
                            pages.react_page("ProfilePostPage", props))
                    return Reply(body=body, content_type=HTML)
        return Reply(404, body=b"not found", content_type=HTML)


def _file_key(purchase: FakePurchase, item: FakeFile) -> str:
    return f"/attachments/{purchase.product.id}/{item.id.rstrip('=')}/{quote(item.filename)}"

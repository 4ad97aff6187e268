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
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlsplit

from alejandria.testing import HttpFixture, Reply
from alejandria.testing.http_fixture import Request
from alejandria_source_gumroad.testing import pages
from alejandria_source_gumroad.testing.fakes import FakePurchase

LibraryFormat = Literal["react", "inertia", "unknown"]
HTML = "text/html; charset=utf-8"


class GumroadFixture(HttpFixture):
    """The site and its file host; use as a context manager.

    ``format``: how ``/library`` and ``/d/`` pages are served (``"unknown"``: a library page
    with neither format's data). ``page_size``: Inertia library cards per page (Gumroad: 15).
    """

    def __init__(self, *, format: LibraryFormat = "react", page_size: int = 15,
                 app_session: str | None = None) -> None:
        super().__init__()
        self.format: LibraryFormat = format
        self.page_size = page_size
        self.app_session = app_session or "fx-" + secrets.token_hex(12)
        self.session_valid = True
        self.purchases: list[FakePurchase] = []
        #: The signed-URL host: serves the files' bytes, needs no cookie.
        self.files = HttpFixture()
        self._state = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> GumroadFixture:
        self.files.start()
        super().start()
        return self

    def close(self) -> None:
        super().close()
        self.files.close()

    def __enter__(self) -> GumroadFixture:
        return self.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    @property
    def cookie(self) -> str:
        return f"_gumroad_app_session={self.app_session}"

    # -- state ---------------------------------------------------------------------------

    def add(self, *purchases: FakePurchase) -> None:
        with self._state:
            self.purchases.extend(purchases)

    def expire_session(self) -> None:
        """The cookie stops working: every page redirects to ``/login``."""
        self.session_valid = False

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
        with self.files._lock:
            self.files.requests.clear()

    @property
    def file_requests(self) -> int:
        """Requests of file links (``/r/...``) and of the file host."""
        with self._lock:
            links = sum(1 for request in self.requests if request.path.startswith("/r/"))
        with self.files._lock:
            return links + len(self.files.requests)

    # -- answers -------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: Mapping[str, str]) -> Reply:
        with self._lock:
            self.requests.append(Request(method, target, dict(headers)))
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path == "/login":
            return Reply(body=pages.login_page(), content_type=HTML)
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
            return self._download_page(path[3:])
        if path.startswith("/r/"):
            return self._file_link(path, query)
        return Reply(404, body=b"not found", content_type=HTML)

    def _logged_in(self, headers: Mapping[str, str]) -> bool:
        cookie = next((value for name, value in headers.items() if name.lower() == "cookie"),
                      "")
        return self.session_valid and f"_gumroad_app_session={self.app_session}" in cookie

    def _library(self, query: dict[str, list[str]], headers: Mapping[str, str]) -> Reply:
        base = self.base_url
        if self.format == "unknown":
            return Reply(body=b"<!DOCTYPE html><html><body id=\"app\"><div id=\"root\"></div>"
                              b"<script src=\"/packs/library.js\"></script></body></html>",
                         content_type=HTML)
        if self.format == "react":  # archived purchases are in the list, flagged
            whole = {"results": [pages.card(p, base, full=True) for p in self.purchases],
                     "creators": pages.creators(self.purchases), "bundles": []}
            return Reply(body=pages.react_page("LibraryPage", whole), content_type=HTML)
        archived = query.get("show_archived_only", ["false"])[0] == "true"
        shown = [p for p in self.purchases if p.is_archived == archived]
        count = len(shown)
        last = max(1, -(-count // self.page_size))
        page = min(max(1, int(query.get("page", ["1"])[0] or 1)), last)  # past the end: last
        chunk = shown[(page - 1) * self.page_size:page * self.page_size]
        props: dict[str, Any] = {
            "results": [pages.card(p, base, full=False) for p in chunk],
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
        react = self.format != "inertia"
        props = pages.download_props(purchase, self.base_url, react=react)
        body = (pages.react_page("DownloadPageWithContent", props) if react else
                pages.inertia_page("UrlRedirects/DownloadPage", props, f"/d/{token}"))
        return Reply(body=body, content_type=HTML)

    def _file_link(self, path: str, query: dict[str, list[str]]) -> Reply:
        """``/r/<token>/product_files?product_file_ids[]=<id>``: a redirect to a signed URL
        on the file host (S3-style ``response-content-disposition`` and ``verify``)."""
        purchase = self._purchase(path.split("/")[2])
        wanted = query.get("product_file_ids[]", [])
        item = next((f for f in purchase.product.files if f.id in wanted), None) \
            if purchase else None
        if purchase is None or item is None:
            return Reply(404, body=b"not found", content_type=HTML)
        key = f"/attachments/{purchase.product.id}/{item.id.rstrip('=')}/{quote(item.filename)}"
        self.files.routes[key] = Reply(body=item.data, content_type=item.mimetype)
        signed = (f"{self.files.url(key)}?response-content-disposition="
                  f"{quote('attachment; filename=' + json.dumps(item.filename))}"
                  f"&verify={secrets.token_urlsafe(16)}")
        return Reply(302, headers={"Location": signed}, content_type=HTML)


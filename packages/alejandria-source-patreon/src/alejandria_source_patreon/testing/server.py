"""The local Patreon's HTTP server (what it speaks: see the package docstring)."""
from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from alejandria_source_patreon.testing.fakes import (
    ORIGINAL,
    SMALL,
    FakeCampaign,
    FakeFile,
    FakePost,
    Fault,
    JsonDict,
    image_bytes,
)


class PatreonFixture:
    """The server and the state it serves; use as a context manager."""

    def __init__(self, *, page_size: int = 5, session_id: str | None = None) -> None:
        self.page_size = page_size
        self.session_id = session_id or "fx-" + secrets.token_hex(12)
        self.session_valid = True
        #: Patreon's logged-out view while current_user still answers: every post locked.
        self.lock_everything = False
        #: Seconds each CDN response waits (a slow link, for interrupting a sync midway).
        self.media_delay_s = 0.0
        self.campaigns: dict[str, FakeCampaign] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.faults: list[Fault] = []
        #: Path prefix -> how many more file downloads under it stop halfway (``cut_off``).
        self.cut_offs: dict[str, int] = {}
        #: Whether the CDN answers ``Range: bytes=N-`` with the rest of the file (206).
        self.honor_range = True
        self._lock = threading.RLock()
        self._generation = 0
        self._expire_after_pages: int | None = None
        self._serial = 0
        self._valid_from = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> PatreonFixture:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            #: Headers and body go out in separate writes: with Nagle a small body waited
            #: for the client's delayed ACK (40 ms per small response, measured).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fixture._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fixture first"
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- state ---------------------------------------------------------------------------

    def add_campaign(self, campaign: FakeCampaign) -> FakeCampaign:
        with self._lock:
            self.campaigns[campaign.id] = campaign
        return campaign

    def fail(self, path: str, status: int, *, times: int = 1,
             headers: dict[str, str] | None = None, body: bytes = b"",
             content_type: str = "application/json") -> None:
        """The next ``times`` requests whose path starts with ``path`` get ``status``."""
        with self._lock:
            self.faults.append(Fault(path, status, times, headers or {}, body, content_type))

    def cut_off(self, path: str, *, times: int = 1) -> None:
        """The next ``times`` files under ``path`` stop halfway: the whole Content-Length is
        announced, half the bytes sent, and the connection closed (a dropped download)."""
        with self._lock:
            self.cut_offs[path] = self.cut_offs.get(path, 0) + times

    def cloudflare(self, path: str = "/api/", times: int = 100) -> None:
        body = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                b"<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page'></script>"
                b"</body></html>")
        self.fail(path, 403, times=times, headers={"cf-mitigated": "challenge",
                                                   "Server": "cloudflare"},
                  body=body, content_type="text/html; charset=UTF-8")

    def outdated_client(self, times: int = 100) -> None:
        body = json.dumps({"errors": [{"code": 426, "code_name": "UpgradeRequired",
                                       "detail": "Please update your app.",
                                       "status": "426"}]}).encode()
        self.fail("/api/", 426, times=times, body=body)

    def expire_session(self) -> None:
        """The cookie stops working: 401 from current_user, locked posts elsewhere."""
        self.session_valid = False

    def expire_cursors_after(self, pages: int) -> None:
        """After ``pages`` more listing pages, every issued next-page link stops working."""
        self._expire_after_pages = pages

    def expire_signatures(self) -> None:
        """Every media URL handed out so far is refused (403), as when its token times out."""
        with self._lock:
            self._valid_from = self._serial + 1

    @property
    def media_requests(self) -> int:
        return sum(n for path, n in self.hits.items() if path.startswith(("/cdn/", "/file")))

    @property
    def api_requests(self) -> int:
        return sum(n for path, n in self.hits.items() if path.startswith("/api/"))

    def reset_counts(self) -> None:
        with self._lock:
            self.hits.clear()
            self.requests.clear()

    # -- request handling ----------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.hits[path] += 1
            self.requests.append((path, dict(handler.headers.items())))
            fault = next((f for f in self.faults if f.remaining > 0 and path.startswith(f.path)),
                         None)
            if fault is not None:
                fault.remaining -= 1
        if fault is not None:
            headers = {"Content-Type": fault.content_type, **fault.headers}
            return _send(handler, fault.status, fault.body, headers)
        logged_in = self.session_valid and self.session_id in (handler.headers.get("Cookie")
                                                               or "")
        try:
            status, body, headers = self._route(path, query, logged_in)
        except (KeyError, StopIteration):
            status, body, headers = 404, _errors(404, "NotFound", "not found"), {}
        headers.setdefault("Content-Type", "application/vnd.api+json")
        if status == 200 and path.startswith("/cdn/"):
            return self._send_file(handler, path, body, headers)
        _send(handler, status, body, headers)

    def _send_file(self, handler: BaseHTTPRequestHandler, path: str, body: bytes,
                   headers: dict[str, str]) -> None:
        """A CDN file: from ``Range: bytes=N-`` on (206) when asked and ``honor_range``;
        only its first half, then the connection closed, when ``cut_off`` says so."""
        status = 200
        start = _range_start(handler.headers.get("Range")) if self.honor_range else None
        if start is not None and 0 < start < len(body):
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            status, body = 206, body[start:]
        with self._lock:
            cut = next((prefix for prefix, left in self.cut_offs.items()
                        if left > 0 and path.startswith(prefix)), None)
            if cut is not None:
                self.cut_offs[cut] -= 1
        if cut is None:
            return _send(handler, status, body, headers)
        _send(handler, status, body, headers, send=len(body) // 2)
        handler.close_connection = True

    def _route(self, path: str, query: dict[str, str],
               logged_in: bool) -> tuple[int, bytes, dict[str, str]]:
        if path == "/api/current_user":
            if not logged_in:
                return 401, _errors(401, "Unauthorized", "You must be logged in."), {}
            return 200, _json(self._current_user()), {}
        if path.startswith("/api/campaigns/"):
            return 200, _json(self._campaign(self.campaigns[path.split("/")[3]])), {}
        if path == "/api/posts":
            return self._listing(query, logged_in)
        if path.startswith("/api/posts/") and path.endswith("/comments"):
            post = self._post(path.split("/")[3])[1]
            return 200, _json({"data": [
                {"id": f"{post.id}-c{n}", "type": "comment",
                 "attributes": {"body": text, "created": "2024-01-01T00:00:00.000+00:00",
                                "is_by_creator": n == 0}} for n, text in
                enumerate(post.comments)]}), {}
        if path.startswith("/api/posts/"):
            campaign, post = self._post(path.split("/")[3])
            resource, included = self._post_resource(campaign, post, logged_in)
            return 200, _json({"data": resource, "included": included}), {}
        if path.startswith("/api/collection/"):
            return 200, _json(self._collection(path.split("/")[3])), {}
        if path == "/file":
            return self._legacy_file(query)
        if path.startswith("/cdn/"):
            return self._cdn(path, query)
        return self._creator_page(path)

    # -- documents -----------------------------------------------------------------------

    def _current_user(self) -> JsonDict:
        members, included = [], []
        for campaign in self.campaigns.values():
            if campaign.patron_status is None:
                continue
            member_id = f"m-{campaign.id}"
            members.append({"id": member_id, "type": "member"})
            tiers = list(campaign.tiers)[-1:]
            included.append({
                "id": member_id, "type": "member",
                "attributes": {"patron_status": campaign.patron_status},
                "relationships": {
                    "campaign": {"data": {"id": campaign.id, "type": "campaign"}},
                    "currently_entitled_tiers": {"data": [{"id": t, "type": "reward"}
                                                          for t in tiers]},
                },
            })
            included.append({"id": campaign.id, "type": "campaign",
                             "attributes": {"name": campaign.name, "vanity": campaign.vanity,
                                            "url": f"{self.base_url}/{campaign.vanity}"}})
        return {"data": {"id": "42", "type": "user",
                         "attributes": {"full_name": "Test Patron"},
                         "relationships": {"memberships": {"data": members}}},
                "included": included}

    def _campaign(self, campaign: FakeCampaign) -> JsonDict:
        rewards = [{"id": tid, "type": "reward",
                    "attributes": {"title": title, "amount_cents": cents}}
                   for tid, (title, cents) in campaign.tiers.items()]
        return {
            "data": {
                "id": campaign.id, "type": "campaign",
                "attributes": {
                    "name": campaign.name, "vanity": campaign.vanity,
                    "url": f"{self.base_url}/{campaign.vanity}",
                    "summary": f"<p>The campaign of <b>{campaign.name}</b>.</p>",
                    "avatar_photo_url": self._signed(f"p/campaign/{campaign.id}/"
                                                     f"{'a' * 32}/eyJ3IjoyMDB9/1.png"),
                    "creation_name": "things", "is_nsfw": False,
                    "patron_count": random.randint(1, 1000),
                },
                "relationships": {
                    "creator": {"data": {"id": f"u{campaign.id}", "type": "user"}},
                    "rewards": {"data": [{"id": r["id"], "type": "reward"} for r in rewards]},
                },
            },
            "included": [{"id": f"u{campaign.id}", "type": "user",
                          "attributes": {"full_name": campaign.name,
                                         "vanity": campaign.vanity}}, *rewards],
        }

    def _listing(self, query: dict[str, str],
                 logged_in: bool) -> tuple[int, bytes, dict[str, str]]:
        campaign = self.campaigns[query["filter[campaign_id]"]]
        offset = 0
        cursor = query.get("page[cursor]")
        with self._lock:
            if cursor:
                generation, _, position = cursor.partition(".")
                if int(generation) != self._generation:
                    return 400, _errors(400, "InvalidCursor", "The cursor has expired."), {}
                offset = int(position)
            generation_now = self._generation
            if self._expire_after_pages is not None:
                self._expire_after_pages -= 1
                if self._expire_after_pages <= 0:  # this page's link is born expired
                    self._generation += 1
                    self._expire_after_pages = None
        posts = campaign.posts
        if "filter[collection_id]" in query:
            posts = [p for p in posts if query["filter[collection_id]"] in p.collections]
        else:
            posts = sorted(posts, key=lambda p: p.published_at, reverse=True)
        page = posts[offset:offset + self.page_size]
        data, included = [], {}
        for post in page:
            resource, extra = self._post_resource(campaign, post, logged_in)
            data.append(resource)
            for item in extra:
                included[(item["type"], item["id"])] = item
        document: JsonDict = {"data": data, "included": list(included.values()),
                              "meta": {"pagination": {"total": len(posts)}}}
        if offset + self.page_size < len(posts):
            rest = {k: v for k, v in query.items() if k != "page[cursor]"}
            token = f"{generation_now}.{offset + self.page_size}"
            document["links"] = {"next": f"{self.base_url}/api/posts?"
                                         + urlencode({**rest, "page[cursor]": token})}
        return 200, _json(document), {}

    def _post(self, post_id: str) -> tuple[FakeCampaign, FakePost]:
        for campaign in self.campaigns.values():
            for post in campaign.posts:
                if post.id == post_id:
                    return campaign, post
        raise KeyError(post_id)

    def _post_resource(self, campaign: FakeCampaign, post: FakePost,
                       logged_in: bool) -> tuple[JsonDict, list[JsonDict]]:
        viewable = not self.lock_everything and ((logged_in and not post.locked)
                                                 or "public" in post.access)
        included: list[JsonDict] = []
        rules = []
        for rule in post.access:
            rule_id = f"{post.id}-{rule}"
            kind = rule if rule in ("public", "patrons") else "tier"
            rel: JsonDict = {}
            if kind == "tier":
                title, cents = campaign.tiers[rule]
                rel = {"tier": {"data": {"id": rule, "type": "reward"}}}
                included.append({"id": rule, "type": "reward",
                                 "attributes": {"title": title, "amount_cents": cents}})
            rules.append({"id": rule_id, "type": "access-rule"})
            included.append({"id": rule_id, "type": "access-rule",
                             "attributes": {"access_rule_type": kind}, "relationships": rel})
        relationships: JsonDict = {
            "campaign": {"data": {"id": campaign.id, "type": "campaign"}},
            "access_rules": {"data": rules},
            "user_defined_tags": {"data": [{"id": f"user_defined;{tag}", "type": "post_tag"}
                                           for tag in post.tags]},
            "collections": {"data": [{"id": c, "type": "collection"}
                                     for c in post.collections]},
        }
        for tag in post.tags:
            included.append({"id": f"user_defined;{tag}", "type": "post_tag",
                             "attributes": {"value": tag, "tag_type": "user_defined"}})
        for collection_id in post.collections:
            included.append(self._collection(collection_id)["data"])
        attributes: JsonDict = {
            "title": post.title, "post_type": post.post_type,
            "published_at": _iso(post.published_at), "edited_at": _iso(post.edited_at),
            "url": f"{self.base_url}/posts/{post.id}", "current_user_can_view": viewable,
            "comment_count": len(post.comments), "teaser_text": post.teaser,
            "like_count": random.randint(0, 500),
            "min_cents_pledged_to_view": 0 if "public" in post.access else 100,
            "content": None, "content_json_string": None, "post_file": None, "embed": None,
        }
        if viewable:
            attributes["content"] = self._content(post)
            if post.content_json is not None:
                attributes["content_json_string"] = json.dumps(post.content_json)
            if post.post_file is not None:
                attributes["post_file"] = {"name": post.post_file.name,
                                           "url": self._file_url(post, post.post_file, SMALL),
                                           "media_id": int(post.post_file.id)}
            if post.hls_video:
                attributes["post_file"] = {"name": "video", "url": self._signed(
                    f"hls/{post.id}/{secrets.token_hex(4)}/index.m3u8")}
            if post.embed_url:
                attributes["embed"] = {"url": post.embed_url, "provider": "YouTube",
                                       "subject": "A video"}
            for name, files in (("images", post.images), ("attachments_media", post.attachments)):
                relationships[name] = {"data": [{"id": f.id, "type": "media"} for f in files]}
                included.extend(self._media(post, f) for f in files)
            relationships["attachments"] = {"data": [
                {"id": f.id, "type": "attachment"} for f in post.legacy_attachments]}
            included.extend({"id": f.id, "type": "attachment",
                             "attributes": {"name": f.name,
                                            "url": f"{self.base_url}/file?h={post.id}&i={f.id}"}}
                            for f in post.legacy_attachments)
            if post.audio is not None:
                relationships["audio"] = {"data": {"id": post.audio.id, "type": "media"}}
                included.append(self._media(post, post.audio))
        return ({"id": post.id, "type": "post", "attributes": attributes,
                 "relationships": relationships}, included)

    def _content(self, post: FakePost) -> str | None:
        if post.content is None:
            return None
        images = "".join(f'<p><img data-media-id="{f.id}" src="{self._file_url(post, f, SMALL)}" '
                         f'alt="{f.name}"></p>' for f in post.inline_images)
        return post.content + images

    def _media(self, post: FakePost, item: FakeFile) -> JsonDict:
        url = self._file_url(post, item)
        return {"id": item.id, "type": "media", "attributes": {
            "file_name": item.name, "mimetype": item.mimetype, "size_bytes": len(item.data),
            "download_url": url, "image_urls": {"original": url, "default": url},
            "metadata": {}}}

    def _collection(self, collection_id: str) -> JsonDict:
        for campaign in self.campaigns.values():
            if collection_id in campaign.collections:
                return {"data": {
                    "id": collection_id, "type": "collection",
                    "attributes": {
                        "title": campaign.collections[collection_id],
                        "description": "A collection.",
                        "num_posts": sum(collection_id in p.collections for p in campaign.posts),
                        "thumbnail": {"url": self._signed(
                            f"p/campaign/{campaign.id}/{'c' * 32}/eyJ3Ijo2MjB9/1.jpg")}},
                    "relationships": {"campaign": {"data": {"id": campaign.id,
                                                            "type": "campaign"}}}}}
        raise KeyError(collection_id)

    # -- files ---------------------------------------------------------------------------

    def _signed(self, path: str) -> str:
        with self._lock:
            self._serial += 1
            serial = self._serial
        return (f"{self.base_url}/cdn/{path}?token-time={serial}"
                f"&token-hash={secrets.token_urlsafe(12)}")

    def _file_url(self, post: FakePost, item: FakeFile, rendition: str = ORIGINAL) -> str:
        """A signed CDN URL: a new token on every call, the same hash for every rendition."""
        extension = item.name.rsplit(".", 1)[-1] if "." in item.name else "bin"
        return self._signed(f"p/post/{post.id}/{item.hash}/{rendition}/1.{extension}")

    def _legacy_file(self, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        campaign, post = self._post(query["h"])
        del campaign
        item = next(f for f in post.legacy_attachments if f.id == query["i"])
        return 302, b"", {"Location": self._file_url(post, item)}

    def _cdn(self, path: str, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        if self.media_delay_s:
            time.sleep(self.media_delay_s)
        if int(query.get("token-time", "0")) < self._valid_from:
            return 403, b"<Error>Request has expired</Error>", {"Content-Type": "text/xml"}
        if "/hls/" in path:
            playlist = b"#EXTM3U\n#EXT-X-ENDLIST\n"
            return 200, playlist, {"Content-Type": "application/vnd.apple.mpegurl"}
        post_id, file_hash = (path.split("/")[4:6] if path.startswith("/cdn/p/post/")
                              else ("", ""))
        for campaign in self.campaigns.values():
            for post in campaign.posts:
                if post.id != post_id:
                    continue
                for item in post.files():
                    if item.hash == file_hash:
                        return 200, item.data, {"Content-Type": item.mimetype}
        if path.startswith("/cdn/p/campaign/"):
            return 200, image_bytes(0, "PNG", 8), {"Content-Type": "image/png"}
        raise KeyError(path)

    def _creator_page(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        segments = [s for s in path.split("/") if s]
        if segments and segments[0] in ("c", "cw"):
            segments = segments[1:]
        vanity = segments[0].casefold() if segments else ""
        campaign = next((c for c in self.campaigns.values() if c.vanity.casefold() == vanity),
                        None)
        if campaign is None:
            raise KeyError(path)
        return 200, creator_page(campaign).encode(), {"Content-Type": "text/html"}


def creator_page(campaign: FakeCampaign) -> str:
    """A creator page that embeds the campaign id the way ``campaign.page_style`` says."""
    cid = campaign.id
    head = f"<!DOCTYPE html><html><head><title>{campaign.name} | Patreon</title></head><body>"
    style = campaign.page_style
    if style == "next_data":
        data = {"props": {"pageProps": {"bootstrapEnvelope": {"pageBootstrap": {
            "campaign": {"data": {"id": cid, "type": "campaign"}}}}}}}
        body = (f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(data)}'
                "</script>")
    elif style == "next_f":
        chunk = json.dumps(f'1:["$","div",null,{{"value":{{"campaign":{{"data":{{"id":"{cid}",'
                           f'"type":"campaign"}}}}}}}}]')
        body = f"<script>self.__next_f.push([1,{chunk}])</script>"
    elif style == "bootstrap":
        body = ('<script>window.patreon = {"bootstrap": {"campaign": {"data": {"id": "'
                + cid + '", "type": "campaign"}}}, "apiServer": "x"};</script>')
    elif style == "api_link":
        body = f'<link rel="preload" href="/api/campaigns/{cid}?include=rewards">'
    elif style == "media_path":
        body = (f'<img src="https://c10.patreonusercontent.com/4/patreon-media/p/campaign/{cid}/'
                f'{"b" * 32}/eyJ3Ijo2MjB9/1.png?token-time=1">')
    else:
        body = "<p>This creator page hides its campaign.</p>"
    return head + body + "</body></html>"


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
          headers: dict[str, str], *, send: int | None = None) -> None:
    """Answer with ``body`` (only its first ``send`` bytes, when given)."""
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body if send is None else body[:send])


def _range_start(header: str | None) -> int | None:
    """N of ``Range: bytes=N-`` (the only form a resumed download asks for)."""
    if not header or not header.startswith("bytes=") or not header.endswith("-"):
        return None
    value = header[len("bytes="):-1]
    return int(value) if value.isdigit() else None


def _json(value: JsonDict) -> bytes:
    return json.dumps(value).encode()


def _errors(status: int, code_name: str, detail: str) -> bytes:
    return _json({"errors": [{"code_name": code_name, "detail": detail, "status": str(status)}]})


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000+00:00") if value else None



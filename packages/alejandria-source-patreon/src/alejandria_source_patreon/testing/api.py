"""The local Patreon's JSON:API documents: the current user, campaigns, pages of posts with
expiring ``links.next`` cursors, single posts with what they include, comments, collections."""

from __future__ import annotations

import json
import random
import secrets
import threading
from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode

from alejandria_source_patreon.testing.cdn import Cdn
from alejandria_source_patreon.testing.fakes import (
    SMALL,
    FakeCampaign,
    FakeFile,
    FakePost,
    JsonDict,
    find_post,
)
from alejandria_source_patreon.testing.wire import Response, errors_body, json_body


class ApiSite(Protocol):
    """What the API reads of the fixture: its campaigns, URLs and how it pages and locks."""

    campaigns: dict[str, FakeCampaign]
    page_size: int
    #: Patreon's logged-out view while current_user still answers: every post locked.
    lock_everything: bool
    cdn: Cdn

    @property
    def base_url(self) -> str: ...


class Api:
    def __init__(self, site: ApiSite) -> None:
        self._site = site
        self._lock = threading.Lock()
        self._generation = 0
        self._expire_after_pages: int | None = None

    def expire_cursors_after(self, pages: int) -> None:
        """After ``pages`` more listing pages, every issued next-page link stops working."""
        with self._lock:
            self._expire_after_pages = pages

    def route(self, path: str, query: dict[str, str], logged_in: bool) -> Response:
        """The answer to ``/api/...``; ``KeyError``/``StopIteration`` for what does not exist."""
        if path == "/api/current_user":
            if not logged_in:
                return 401, errors_body(401, "Unauthorized", "You must be logged in."), {}
            return 200, json_body(self.current_user()), {}
        if path.startswith("/api/campaigns/"):
            return 200, json_body(self.campaign(self._site.campaigns[path.split("/")[3]])), {}
        if path == "/api/posts":
            return self.listing(query, logged_in)
        if path.startswith("/api/posts/") and path.endswith("/comments"):
            return 200, json_body(self.comments(path.split("/")[3])), {}
        if path.startswith("/api/posts/"):
            campaign, post = find_post(self._site.campaigns, path.split("/")[3])
            resource, included = self.post_resource(campaign, post, logged_in)
            return 200, json_body({"data": resource, "included": included}), {}
        if path.startswith("/api/collection/"):
            return 200, json_body(self.collection(path.split("/")[3])), {}
        raise KeyError(path)

    def current_user(self) -> JsonDict:
        members, included = [], []
        for campaign in self._site.campaigns.values():
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
                                            "url": f"{self._site.base_url}/{campaign.vanity}"}})
        return {"data": {"id": "42", "type": "user",
                         "attributes": {"full_name": "Test Patron"},
                         "relationships": {"memberships": {"data": members}}},
                "included": included}

    def campaign(self, campaign: FakeCampaign) -> JsonDict:
        rewards = [{"id": tid, "type": "reward",
                    "attributes": {"title": title, "amount_cents": cents}}
                   for tid, (title, cents) in campaign.tiers.items()]
        return {
            "data": {
                "id": campaign.id, "type": "campaign",
                "attributes": {
                    "name": campaign.name, "vanity": campaign.vanity,
                    "url": f"{self._site.base_url}/{campaign.vanity}",
                    "summary": f"<p>The campaign of <b>{campaign.name}</b>.</p>",
                    "avatar_photo_url": self._site.cdn.signed(
                        f"p/campaign/{campaign.id}/{'a' * 32}/eyJ3IjoyMDB9/1.png"),
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

    def listing(self, query: dict[str, str], logged_in: bool) -> Response:
        """A page of ``/api/posts`` (newest first, or a collection's in order), with a
        ``links.next`` cursor that stops working when ``expire_cursors_after`` says so."""
        campaign = self._site.campaigns[query["filter[campaign_id]"]]
        offset = 0
        cursor = query.get("page[cursor]")
        with self._lock:
            if cursor:
                generation, _, position = cursor.partition(".")
                if int(generation) != self._generation:
                    return 400, errors_body(400, "InvalidCursor", "The cursor has expired."), {}
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
        page_size = self._site.page_size
        page = posts[offset:offset + page_size]
        data, included = [], {}
        for post in page:
            resource, extra = self.post_resource(campaign, post, logged_in)
            data.append(resource)
            for item in extra:
                included[(item["type"], item["id"])] = item
        document: JsonDict = {"data": data, "included": list(included.values()),
                              "meta": {"pagination": {"total": len(posts)}}}
        if offset + page_size < len(posts):
            rest = {k: v for k, v in query.items() if k != "page[cursor]"}
            token = f"{generation_now}.{offset + page_size}"
            document["links"] = {"next": f"{self._site.base_url}/api/posts?"
                                         + urlencode({**rest, "page[cursor]": token})}
        return 200, json_body(document), {}

    def comments(self, post_id: str) -> JsonDict:
        post = find_post(self._site.campaigns, post_id)[1]
        return {"data": [
            {"id": f"{post.id}-c{n}", "type": "comment",
             "attributes": {"body": text, "created": "2024-01-01T00:00:00.000+00:00",
                            "is_by_creator": n == 0}} for n, text in enumerate(post.comments)]}

    def post_resource(self, campaign: FakeCampaign, post: FakePost,
                      logged_in: bool) -> tuple[JsonDict, list[JsonDict]]:
        """A post as ``data`` and what it ``included``; its content only when viewable."""
        viewable = not self._site.lock_everything and ((logged_in and not post.locked)
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
            included.append(self.collection(collection_id)["data"])
        attributes: JsonDict = {
            "title": post.title, "post_type": post.post_type,
            "published_at": _iso(post.published_at), "edited_at": _iso(post.edited_at),
            "url": f"{self._site.base_url}/posts/{post.id}", "current_user_can_view": viewable,
            "comment_count": len(post.comments), "teaser_text": post.teaser,
            "like_count": random.randint(0, 500),
            "min_cents_pledged_to_view": 0 if "public" in post.access else 100,
            "content": None, "content_json_string": None, "post_file": None, "embed": None,
        }
        if viewable:
            self._viewable_parts(post, attributes, relationships, included)
        return ({"id": post.id, "type": "post", "attributes": attributes,
                 "relationships": relationships}, included)

    def _viewable_parts(self, post: FakePost, attributes: JsonDict, relationships: JsonDict,
                        included: list[JsonDict]) -> None:
        """What only a post's viewers get: its text, files, embed, attachments and audio."""
        cdn = self._site.cdn
        attributes["content"] = self._content(post)
        if post.content_json is not None:
            attributes["content_json_string"] = json.dumps(post.content_json)
        if post.post_file is not None:
            attributes["post_file"] = {"name": post.post_file.name,
                                       "url": cdn.file_url(post, post.post_file, SMALL),
                                       "media_id": int(post.post_file.id)}
        if post.hls_video:
            attributes["post_file"] = {"name": "video", "url": cdn.signed(
                f"hls/{post.id}/{secrets.token_hex(4)}/index.m3u8")}
        if post.embed_url:
            attributes["embed"] = {"url": post.embed_url, "provider": "YouTube",
                                   "subject": "A video"}
        for name, files in (("images", post.images), ("attachments_media", post.attachments)):
            relationships[name] = {"data": [{"id": f.id, "type": "media"} for f in files]}
            included.extend(self._media(post, f) for f in files)
        linked = [({"id": f"{post.id}-l{n}", "type": "media"}, name, url)
                  for n, (name, url) in enumerate(post.linked_media)]
        relationships["images"]["data"].extend(ref for ref, _name, _url in linked)
        included.extend({**ref, "attributes": {"file_name": name, "download_url": url,
                                               "mimetype": "image/png"}}
                        for ref, name, url in linked)
        relationships["attachments"] = {"data": [
            {"id": f.id, "type": "attachment"} for f in post.legacy_attachments]}
        included.extend({"id": f.id, "type": "attachment",
                         "attributes": {"name": f.name,
                                        "url": f"{self._site.base_url}/file?h={post.id}"
                                               f"&i={f.id}"}}
                        for f in post.legacy_attachments)
        if post.audio is not None:
            relationships["audio"] = {"data": {"id": post.audio.id, "type": "media"}}
            included.append(self._media(post, post.audio))

    def _content(self, post: FakePost) -> str | None:
        if post.content is None:
            return None
        cdn = self._site.cdn
        images = "".join(f'<p><img data-media-id="{f.id}" src="{cdn.file_url(post, f, SMALL)}" '
                         f'alt="{f.name}"></p>' for f in post.inline_images)
        return post.content + images

    def _media(self, post: FakePost, item: FakeFile) -> JsonDict:
        url = self._site.cdn.file_url(post, item)
        return {"id": item.id, "type": "media", "attributes": {
            "file_name": item.name, "mimetype": item.mimetype, "size_bytes": len(item.data),
            "download_url": url, "image_urls": {"original": url, "default": url},
            "metadata": {}}}

    def collection(self, collection_id: str) -> JsonDict:
        for campaign in self._site.campaigns.values():
            if collection_id in campaign.collections:
                return {"data": {
                    "id": collection_id, "type": "collection",
                    "attributes": {
                        "title": campaign.collections[collection_id],
                        "description": "A collection.",
                        "num_posts": sum(collection_id in p.collections for p in campaign.posts),
                        "thumbnail": {"url": self._site.cdn.signed(
                            f"p/campaign/{campaign.id}/{'c' * 32}/eyJ3Ijo2MjB9/1.jpg")}},
                    "relationships": {"campaign": {"data": {"id": campaign.id,
                                                            "type": "campaign"}}}}}
        raise KeyError(collection_id)


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000+00:00") if value else None

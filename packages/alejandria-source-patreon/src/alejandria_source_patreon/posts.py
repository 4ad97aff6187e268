"""One Patreon post resource (with its included resources) → a ``PostIn``.

Only what describes the post itself goes into the ``PostIn``: counters that change every day
(likes, views) and signed URLs are left out, so an unchanged post hashes the same on every
sync and is never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from alejandria.models import CollectionIn, CollectionRef, JsonDict, PostIn
from alejandria_source_patreon.config import PostFilters
from alejandria_source_patreon.content import read_body
from alejandria_source_patreon.jsonapi import Document, Resource, attributes, related_ids
from alejandria_source_patreon.media import post_media


@dataclass(frozen=True)
class Tier:
    id: str
    title: str
    amount_cents: int | None = None


@dataclass(frozen=True)
class ParsedPost:
    """A listed post: what the sync decides with, and the ``PostIn`` it archives."""

    id: str
    post: PostIn
    published_at: datetime | None
    edited_at: datetime | None
    can_view: bool
    post_type: str | None
    #: "public", "patrons" and the ids of the tiers that may see the post.
    access: frozenset[str]
    tiers: tuple[Tier, ...]
    collections: tuple[CollectionIn, ...] = ()
    comment_count: int = 0
    extra: JsonDict = field(default_factory=dict)

    @property
    def changed_at(self) -> datetime | None:
        """When the post last changed: its edit, else its publication."""
        return self.edited_at or self.published_at

    def passes(self, filters: PostFilters) -> bool:
        if filters.types and (self.post_type or "").casefold() not in filters.types:
            return False
        if filters.since and (self.published_at is None or self.published_at < filters.since):
            return False
        if filters.until and (self.published_at is None or self.published_at > filters.until):
            return False
        if filters.tiers:
            names = {tier.title.casefold() for tier in self.tiers} | {a.casefold()
                                                                       for a in self.access}
            return bool(names & filters.tiers)
        return True


def parse_post(document: Document, resource: Resource, campaign_id: str, base_url: str,
               *, position: int | None = None) -> ParsedPost:
    """Build the post, its media and its collections from a listing or single-post document."""
    attrs = attributes(resource)
    post_id = str(resource.get("id"))
    can_view = attrs.get("current_user_can_view") is not False
    url = _absolute(attrs.get("url") or attrs.get("patreon_url"), base_url)
    page = url or f"{base_url}/posts/{post_id}"
    if can_view:
        body = read_body(_text(attrs.get("content")), _text(attrs.get("content_json_string")),
                         base=page)
    else:
        body = read_body(_text(attrs.get("teaser_text")), None, base=page)
    access, tiers = _access(document, resource)
    collections = tuple(parse_collection(item, campaign_id) for item in
                        document.related(resource, "collections"))
    published_at, edited_at = parse_time(attrs.get("published_at")), parse_time(
        attrs.get("edited_at"))
    comment_count = _int(attrs.get("comment_count"))
    metadata: JsonDict = {
        "post_type": attrs.get("post_type"),
        "access": sorted(access),
        "tiers": [{"id": t.id, "title": t.title, "amount_cents": t.amount_cents} for t in tiers],
        "min_cents_pledged_to_view": attrs.get("min_cents_pledged_to_view"),
        "comment_count": comment_count,
        "locked": not can_view,
    }
    embed = attrs.get("embed")
    if isinstance(embed, dict) and embed.get("url"):
        metadata["embed"] = {key: embed.get(key) for key in ("url", "provider", "subject",
                                                             "description") if embed.get(key)}
    post = PostIn(
        external_id=post_id,
        creator_external_id=campaign_id,
        title=str(attrs.get("title") or "").strip() or f"Post {post_id}",
        text=body.text,
        html=body.html or None,
        url=url,
        published_at=published_at,
        edited_at=edited_at,
        tags=tuple(_tags(document, resource)),
        collections=tuple(CollectionRef(external_id=c.external_id, position=position)
                          for c in collections),
        media=tuple(post_media(document, resource, body, base_url + "/")) if can_view else (),
        has_text=bool(body.text.strip()),
        metadata=metadata,
    )
    return ParsedPost(id=post_id, post=post, published_at=published_at, edited_at=edited_at,
                      can_view=can_view, post_type=_text(attrs.get("post_type")), access=access,
                      tiers=tiers, collections=collections, comment_count=comment_count)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def stable_url(url: Any) -> str | None:
    """A CDN URL without its signature query (which changes on every fetch)."""
    if not isinstance(url, str) or not url:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _access(document: Document, resource: Resource) -> tuple[frozenset[str], tuple[Tier, ...]]:
    access: set[str] = set()
    tiers: list[Tier] = []
    for rule in document.related(resource, "access_rules"):
        kind = attributes(rule).get("access_rule_type")
        if kind == "public":
            access.add("public")
        elif kind == "patrons":
            access.add("patrons")
        for tier in document.related(rule, "tier"):
            details = attributes(tier)
            tiers.append(Tier(id=str(tier.get("id")), title=str(details.get("title") or ""),
                              amount_cents=_int(details.get("amount_cents")) or None))
            access.add(str(tier.get("id")))
        for _kind, tier_id in related_ids(rule, "tier"):
            access.add(tier_id)
    return frozenset(access), tuple(sorted(set(tiers), key=lambda t: (t.amount_cents or 0, t.id)))


def _tags(document: Document, resource: Resource) -> list[str]:
    tags = []
    for tag in document.related(resource, "user_defined_tags"):
        value = attributes(tag).get("value") or str(tag.get("id", "")).removeprefix(
            "user_defined;")
        if value and value not in tags:
            tags.append(str(value))
    if not tags:  # tags referenced but not included: their ids carry the value
        tags = [ident.removeprefix("user_defined;") for _kind, ident in
                related_ids(resource, "user_defined_tags")]
    return tags


def parse_collection(resource: Resource, campaign_id: str) -> CollectionIn:
    """A collection resource, as a listing includes it or ``/api/collection/<id>`` returns it."""
    attrs = attributes(resource)
    thumbnail = attrs.get("thumbnail")
    cover = thumbnail.get("url") if isinstance(thumbnail, dict) else None
    return CollectionIn(
        external_id=f"collection:{resource.get('id')}",
        creator_external_id=campaign_id,
        title=str(attrs.get("title") or f"Collection {resource.get('id')}"),
        description=_text(attrs.get("description")) or None,
        cover_url=stable_url(cover),
        metadata={"collection_id": str(resource.get("id"))},
    )


def _absolute(url: Any, base_url: str) -> str | None:
    if not isinstance(url, str) or not url:
        return None
    return urljoin(base_url + "/", url)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0

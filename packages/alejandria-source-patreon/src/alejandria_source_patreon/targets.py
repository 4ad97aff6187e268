"""What a user may name as a target, and finding a creator's campaign id.

Targets: ``supported`` (every creator the user pays), a numeric campaign id (or ``id:123``),
a bare vanity name, a creator URL (``patreon.com/NAME``, ``/c/NAME``, ``/cw/NAME``,
``/m/123``, ``/api/campaigns/123``, ``?c=123``, ``/user?u=123``) or a collection URL.

Patreon's site changes how it embeds the campaign id every year or two, so the id is looked up
in several independent ways, each tested on its own: the user's memberships, then the creator
page's Next.js data, its bootstrap JSON (old pages and Next 13 flight data alike), API links
and finally its CDN image paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from alejandria.errors import ItemRejected
from alejandria_source_patreon.client import PatreonClient
from alejandria_source_patreon.jsonapi import Document, attributes

TargetKind = Literal["supported", "campaign", "vanity", "user", "collection"]

SUPPORTED_WORDS = frozenset({"supported", "all", "memberships", "me", "@me"})
#: First path segments of patreon.com that are not creators.
RESERVED = frozenset({
    "home", "posts", "login", "signup", "messages", "search", "settings", "notifications",
    "explore", "create", "checkout", "join", "library", "collection", "membership", "policy",
})
_VANITY = re.compile(r"^[\w.-]{1,100}$")
_DIGITS = re.compile(r"^\d{1,20}$")


@dataclass(frozen=True)
class TargetRef:
    kind: TargetKind
    value: str
    raw: str


@dataclass(frozen=True)
class Membership:
    """A creator the user belongs to (from ``/api/current_user``)."""

    campaign_id: str
    name: str
    vanity: str | None
    url: str | None
    patron_status: str | None
    tiers: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.patron_status == "active_patron"


def parse_target(raw: str) -> TargetRef:
    """Classify one target; ``ItemRejected`` when it cannot name a creator or collection."""
    text = raw.strip()
    if text.casefold() in SUPPORTED_WORDS:
        return TargetRef("supported", "", raw)
    if _DIGITS.match(text):
        return TargetRef("campaign", text, raw)
    if text.startswith("id:") and _DIGITS.match(text[3:]):
        return TargetRef("campaign", text[3:], raw)
    if "://" in text or text.startswith(("www.", "patreon.com/")):
        return _parse_url(text if "://" in text else "https://" + text, raw)
    if _VANITY.match(text):
        return TargetRef("vanity", text, raw)
    raise ItemRejected(raw, "not a Patreon creator: give a creator URL, a vanity name, a "
                            "campaign id or 'supported'")


def _parse_url(url: str, raw: str) -> TargetRef:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    for key in ("c", "campaign_id"):
        if query.get(key) and _DIGITS.match(query[key][0]):
            return TargetRef("campaign", query[key][0], raw)
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) >= 2 and segments[0] == "collection" and _DIGITS.match(segments[1]):
        return TargetRef("collection", segments[1], raw)
    if len(segments) >= 2 and segments[0] == "m" and _DIGITS.match(segments[1]):
        return TargetRef("campaign", segments[1], raw)
    if len(segments) >= 3 and segments[:2] == ["api", "campaigns"] and _DIGITS.match(segments[2]):
        return TargetRef("campaign", segments[2], raw)
    if segments and segments[0] == "user" and query.get("u") and _DIGITS.match(query["u"][0]):
        return TargetRef("user", query["u"][0], raw)
    if len(segments) >= 2 and segments[0] in ("c", "cw") and _VANITY.match(segments[1]):
        return TargetRef("vanity", segments[1], raw)
    if segments and segments[0] not in RESERVED and _VANITY.match(segments[0]):
        return TargetRef("vanity", segments[0], raw)
    raise ItemRejected(raw, "not a Patreon creator or collection URL")


def parse_memberships(payload: dict[str, Any]) -> list[Membership]:
    """The memberships in a ``/api/current_user`` document (newer and older shapes)."""
    document = Document(payload)
    if not document.data:
        return []
    user = document.data[0]
    found: list[Membership] = []
    for relation in ("memberships", "active_memberships", "pledges"):
        for member in document.related(user, relation):
            campaign = document.related_one(member, "campaign")
            if campaign is None:
                continue
            details = attributes(campaign)
            tiers = tuple(str(attributes(tier).get("title") or tier.get("id")) for tier in
                          document.related(member, "currently_entitled_tiers"))
            status = attributes(member).get("patron_status")
            if relation != "memberships" and status is None:
                status = "active_patron"  # pledges and active memberships are active
            found.append(Membership(
                campaign_id=str(campaign.get("id")),
                name=str(details.get("name") or details.get("vanity") or campaign.get("id")),
                vanity=str(details["vanity"]) if details.get("vanity") else None,
                url=str(details["url"]) if details.get("url") else None,
                patron_status=str(status) if status else None,
                tiers=tiers,
            ))
        if found:
            break
    return found


# --- campaign id from a creator page ------------------------------------------------------

_NEXT_DATA = re.compile(r'<script[^>]+id="__NEXT_DATA__"[^>]*>(.*?)</script>', re.S)
_CAMPAIGN_DATA = re.compile(
    r'"campaign"\s*:\s*\{\s*"data"\s*:\s*\{\s*"id"\s*:\s*"(\d+)"\s*,\s*"type"\s*:\s*"campaign"')
_API_LINK = re.compile(r'/api/campaigns/(\d+)|"campaign_id"\s*:\s*"?(\d+)')
_MEDIA_PATH = re.compile(r"patreon-media/p/campaign/(\d+)/")


def from_next_data(page: str) -> str | None:
    """Next.js pages: ``props.pageProps.bootstrapEnvelope.pageBootstrap.campaign.data.id``
    (or any ``campaign`` resource found in the page's ``__NEXT_DATA__`` JSON)."""
    match = _NEXT_DATA.search(page)
    if not match:
        return None
    try:
        data = json.loads(match.group(1))
    except ValueError:
        return None
    return next(_campaign_ids(data), None)


def from_bootstrap(page: str) -> str | None:
    """``"campaign":{"data":{"id":"123","type":"campaign"}`` in the old ``window.patreon``
    bootstrap or in Next 13 flight data (``self.__next_f.push``, with escaped quotes)."""
    match = _CAMPAIGN_DATA.search(page.replace('\\"', '"'))
    return match.group(1) if match else None


def from_api_links(page: str) -> str | None:
    match = _API_LINK.search(page.replace('\\"', '"'))
    return (match.group(1) or match.group(2)) if match else None


def from_media_paths(page: str) -> str | None:
    """The creator's avatar and banner live under ``patreon-media/p/campaign/<id>/``."""
    match = _MEDIA_PATH.search(page)
    return match.group(1) if match else None


STRATEGIES: tuple[tuple[str, Callable[[str], str | None]], ...] = (
    ("next_data", from_next_data),
    ("bootstrap", from_bootstrap),
    ("api_links", from_api_links),
    ("media_paths", from_media_paths),
)


def campaign_id_from_page(page: str) -> tuple[str, str] | None:
    """(campaign id, the strategy that found it), or None."""
    for name, strategy in STRATEGIES:
        found = strategy(page)
        if found:
            return found, name
    return None


def _campaign_ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        campaign = value.get("campaign")
        if isinstance(campaign, dict) and isinstance(campaign.get("data"), dict):
            data = campaign["data"]
            if data.get("type") == "campaign" and data.get("id"):
                yield str(data["id"])
        for child in value.values():
            yield from _campaign_ids(child)
    elif isinstance(value, list):
        for child in value:
            yield from _campaign_ids(child)


class CampaignResolver:
    """Turns vanity names and user ids into campaign ids, memberships first."""

    def __init__(self, client: PatreonClient,
                 memberships: Callable[[], list[Membership]]) -> None:
        self.client = client
        self.memberships = memberships

    def campaign_id(self, ref: TargetRef) -> str:
        if ref.kind == "campaign":
            return ref.value
        if ref.kind == "vanity":
            wanted = ref.value.casefold()
            for member in self.memberships():
                names = {member.vanity or ""}
                if member.url:
                    names.add(urlsplit(member.url).path.strip("/").split("/")[-1])
                if wanted in {name.casefold() for name in names if name}:
                    return member.campaign_id
            pages = [ref.value, f"c/{ref.value}", f"cw/{ref.value}"]
        elif ref.kind == "user":
            pages = [f"user?u={ref.value}"]
        else:
            raise ItemRejected(ref.raw, f"cannot find a campaign for a {ref.kind} target")
        for path in pages:
            page = self.client.page(path)
            if page is None:
                continue
            found = campaign_id_from_page(page)
            if found:
                return found[0]
        raise ItemRejected(ref.raw, "cannot find this creator's campaign id on Patreon (no such "
                                    "creator, or the page changed): give the numeric campaign "
                                    "id instead")

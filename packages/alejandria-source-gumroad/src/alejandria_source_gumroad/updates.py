"""An update post's page (``/p/<slug>?purchase_id=…`` on the seller's subdomain): React
``ProfilePostPage`` or Inertia ``Posts/Show``, props from the Rails app's
``PostPresenter#post_component_props`` (``subject``, ``published_at``, ``message`` HTML)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alejandria_source_gumroad.pages import read_page

UPDATE_COMPONENTS = ("ProfilePostPage", "Posts/Show")


@dataclass(frozen=True)
class UpdatePost:
    subject: str
    published_at: datetime | None
    #: The post's HTML as Gumroad serves it (not sanitised yet).
    message: str


def parse_update_page(html: str, *, subject: str) -> UpdatePost:
    props = read_page(html, wanted=UPDATE_COMPONENTS, subject=subject).props
    return UpdatePost(subject=str(props.get("subject") or subject),
                      published_at=parse_time(props.get("published_at")),
                      message=str(props.get("message") or ""))


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time Gumroad wrote (``2024-04-01T09:00:00Z``), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None

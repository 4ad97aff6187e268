"""Creators and their collections, with what they hold, sorted by name (case-insensitive).

The counts and the newest post come from correlated subqueries over indexed foreign keys:
one statement per page, whatever its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, select
from sqlalchemy.engine import Row

from alejandria.errors import NotFound
from alejandria.library.pages import Order, Page, SortKey, build_page, clamp_limit
from alejandria.library.refs import CreatorRef, iso
from alejandria.storage.schema import collections, creators, post_collections, posts


@dataclass(frozen=True)
class CreatorSummary:
    id: int
    source: str
    external_id: str
    name: str
    url: str | None
    post_count: int
    collection_count: int
    last_post_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "external_id": self.external_id,
                "name": self.name, "url": self.url, "post_count": self.post_count,
                "collection_count": self.collection_count,
                "last_post_at": iso(self.last_post_at)}


@dataclass(frozen=True)
class CollectionSummary:
    id: int
    source: str
    external_id: str
    title: str
    description: str | None
    creator: CreatorRef
    post_count: int
    cover_url: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "external_id": self.external_id,
                "title": self.title, "description": self.description,
                "creator": self.creator.as_json(), "post_count": self.post_count,
                "cover_url": self.cover_url}


# -- creators ---------------------------------------------------------------------------------

_CREATOR_NAME = func.lower(creators.c.name)
CREATOR_ORDER = Order("creators.name", (SortKey(_CREATOR_NAME, kind=str),
                                        SortKey(creators.c.id)))


def _creators() -> Select[Any]:
    post_count = (select(func.count()).where(posts.c.creator_id == creators.c.id)
                  .correlate(creators).scalar_subquery())
    last_post_at = (select(func.max(posts.c.published_at))
                    .where(posts.c.creator_id == creators.c.id)
                    .correlate(creators).scalar_subquery())
    collection_count = (select(func.count()).where(collections.c.creator_id == creators.c.id)
                        .correlate(creators).scalar_subquery())
    return select(creators.c.id, creators.c.source, creators.c.external_id, creators.c.name,
                  creators.c.url, _CREATOR_NAME.label("sort_name"),
                  post_count.label("post_count"), collection_count.label("collection_count"),
                  last_post_at.label("last_post_at"))


def _creator(row: Row[Any]) -> CreatorSummary:
    return CreatorSummary(row.id, row.source, row.external_id, row.name, row.url,
                          row.post_count, row.collection_count, row.last_post_at)


def list_creators(conn: Connection, *, source: str | None = None, cursor: str | None = None,
                  limit: int = 50) -> Page[CreatorSummary]:
    limit = clamp_limit(limit)
    conditions: list[ColumnElement[bool]] = []
    if source is not None:
        conditions.append(creators.c.source == source)
    if cursor is not None:
        conditions.append(CREATOR_ORDER.after(cursor))
    rows = conn.execute(_creators().where(*conditions).order_by(*CREATOR_ORDER.order_by())
                        .limit(limit + 1)).all()
    return build_page(rows, limit, CREATOR_ORDER, lambda row: (row.sort_name, row.id), _creator)


def get_creator(conn: Connection, creator_id: int) -> CreatorSummary:
    row = conn.execute(_creators().where(creators.c.id == creator_id)).first()
    if row is None:
        raise NotFound(f"creator {creator_id} not found")
    return _creator(row)


# -- collections ------------------------------------------------------------------------------

_COLLECTION_TITLE = func.lower(collections.c.title)
COLLECTION_ORDER = Order("collections.title", (SortKey(_COLLECTION_TITLE, kind=str),
                                   SortKey(collections.c.id)))


def _collections() -> Select[Any]:
    post_count = (select(func.count())
                  .where(post_collections.c.collection_id == collections.c.id)
                  .correlate(collections).scalar_subquery())
    return (select(collections.c.id, collections.c.source, collections.c.external_id,
                   collections.c.title, collections.c.description, collections.c.cover_url,
                   creators.c.id.label("creator_id"), creators.c.name.label("creator_name"),
                   _COLLECTION_TITLE.label("sort_title"), post_count.label("post_count"))
            .join(creators, creators.c.id == collections.c.creator_id))


def _collection(row: Row[Any]) -> CollectionSummary:
    return CollectionSummary(row.id, row.source, row.external_id, row.title, row.description,
                             CreatorRef(row.creator_id, row.creator_name), row.post_count,
                             row.cover_url)


def list_collections(conn: Connection, *, creator_id: int | None = None,
                     source: str | None = None, cursor: str | None = None,
                     limit: int = 50) -> Page[CollectionSummary]:
    limit = clamp_limit(limit)
    conditions: list[ColumnElement[bool]] = []
    if creator_id is not None:
        conditions.append(collections.c.creator_id == creator_id)
    if source is not None:
        conditions.append(collections.c.source == source)
    if cursor is not None:
        conditions.append(COLLECTION_ORDER.after(cursor))
    rows = conn.execute(_collections().where(*conditions)
                        .order_by(*COLLECTION_ORDER.order_by()).limit(limit + 1)).all()
    return build_page(rows, limit, COLLECTION_ORDER, lambda row: (row.sort_title, row.id),
                      _collection)


def get_collection(conn: Connection, collection_id: int) -> CollectionSummary:
    row = conn.execute(_collections().where(collections.c.id == collection_id)).first()
    if row is None:
        raise NotFound(f"collection {collection_id} not found")
    return _collection(row)


# -- choices for filters ----------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    """What a filter form offers: the sources, and creators and collections by name (id and
    name only: no counts, which are what make ``list_creators`` cost)."""

    sources: list[str]
    creators: list[tuple[int, str]]
    collections: list[tuple[int, str]]


def filter_choices(conn: Connection, *, creator_id: int | None = None,
                   limit: int = 200) -> Choices:
    limit = clamp_limit(limit)
    sources = conn.execute(select(creators.c.source).distinct()
                           .order_by(creators.c.source)).scalars().all()
    people = conn.execute(select(creators.c.id, creators.c.name)
                          .order_by(_CREATOR_NAME, creators.c.id).limit(limit)).all()
    shelves = select(collections.c.id, collections.c.title)
    if creator_id is not None:
        shelves = shelves.where(collections.c.creator_id == creator_id)
    found = conn.execute(shelves.order_by(_COLLECTION_TITLE, collections.c.id)
                         .limit(limit)).all()
    return Choices(list(sources), [(row.id, row.name) for row in people],
                   [(row.id, row.title) for row in found])

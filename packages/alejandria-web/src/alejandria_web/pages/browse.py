"""Browsing the catalogue: every post, the creators, one creator, the collections, one
collection.

Each list of posts is filtered (source, creator, collection, published from/to, media kind,
tag), sorted (newest, oldest, title) and paged with the library's opaque ``next`` cursor. The
filter form swaps the ``#post-results`` part with htmx (and pushes the URL); the same URL is
a plain GET that renders the whole page. Query values are read leniently: an empty or
malformed one is no filter, never a 400 (a form sends every field, empty ones included).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Response

from alejandria.api import Archive
from alejandria.library.posts import MEDIA_KINDS, SORTS
from alejandria.models import Actor
from alejandria_web.pages.common import PAGE, AnyRequest, actor, archive, wants_part
from alejandria_web.pages.render import render
from alejandria_web.security.access import Access

#: Posts on one page of a list (a grid of 4, 3 or 2 columns fills evenly).
PAGE_SIZE = 24
#: Creators and collections on one page of theirs.
LIST_SIZE = 48
#: Creators and collections offered in a filter's menu (the first, by name).
OPTION_LIMIT = 200
#: The longest free-text filter value read (a tag, a source name).
MAX_TEXT = 200
#: The longest page cursor read (core refuses longer ones; a title sort's cursor holds a
#: whole title).
MAX_CURSOR = 4096

# -- reading query values ----------------------------------------------------------------------


def text_param(query: Mapping[str, Any], name: str, limit: int = MAX_TEXT) -> str | None:
    """A query value, trimmed; None when absent, empty or longer than ``limit``."""
    value = query.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and len(value) <= limit else None


def int_param(query: Mapping[str, Any], name: str) -> int | None:
    """A positive id from the query; None for anything else."""
    value = text_param(query, name)
    if value is None or not value.isdigit() or len(value) > 9:
        return None
    return int(value) or None


def date_param(query: Mapping[str, Any], name: str) -> date | None:
    """A ``YYYY-MM-DD`` day (what ``<input type=date>`` sends); None for anything else."""
    value = text_param(query, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def choice_param(query: Mapping[str, Any], name: str, choices: tuple[str, ...],
                 default: str | None = None) -> str | None:
    value = text_param(query, name)
    return value if value in choices else default


def start_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


def page_url(path: str, params: Mapping[str, str | int | None]) -> str:
    """``path`` with the query ``params`` that have a value."""
    kept = {key: str(value) for key, value in params.items() if value not in (None, "")}
    return path + ("?" + urlencode(kept) if kept else "")


# -- the filters of a list of posts --------------------------------------------------------------


@dataclass(frozen=True)
class PostFilters:
    """What a list of posts is narrowed to, and its order. ``before`` is inclusive (the
    last day shown); ``fixed`` names the filters the page itself sets (a creator's page
    sets ``creator``): they are neither shown in the form nor repeated in its links."""

    source: str | None = None
    creator: int | None = None
    collection: int | None = None
    after: date | None = None
    before: date | None = None
    media_kind: str | None = None
    tag: str | None = None
    sort: str = "newest"
    fixed: frozenset[str] = frozenset()

    @classmethod
    def read(cls, query: Mapping[str, Any], *, default_sort: str = "newest",
             **fixed: Any) -> PostFilters:
        found = cls(source=text_param(query, "source"), creator=int_param(query, "creator"),
                    collection=int_param(query, "collection"),
                    after=date_param(query, "published_after"),
                    before=date_param(query, "published_before"),
                    media_kind=choice_param(query, "media_kind", MEDIA_KINDS),
                    tag=text_param(query, "tag"),
                    sort=choice_param(query, "sort", SORTS, default_sort) or default_sort)
        return replace(found, **fixed, fixed=frozenset(fixed))

    def library_args(self) -> dict[str, Any]:
        """The keyword arguments of ``archive.library.posts``."""
        return {"source": self.source, "creator_id": self.creator,
                "collection_id": self.collection, "published_after": start_of(self.after),
                "published_before": start_of(self.before + timedelta(days=1)
                                             if self.before else None),
                "media_kind": self.media_kind, "tag": self.tag, "sort": self.sort}

    def params(self) -> dict[str, str]:
        """The query of this list's URL (the page's own filters left out)."""
        values = {"source": self.source, "creator": self.creator,
                  "collection": self.collection,
                  "published_after": self.after.isoformat() if self.after else None,
                  "published_before": self.before.isoformat() if self.before else None,
                  "media_kind": self.media_kind, "tag": self.tag, "sort": self.sort}
        return {key: str(value) for key, value in values.items()
                if value not in (None, "") and key not in self.fixed}

    @property
    def active(self) -> int:
        """How many filters the user set (the sort and the page's own ones aside)."""
        return len([key for key in self.params() if key != "sort"])


@dataclass(frozen=True)
class FilterOptions:
    """What the filter menus offer: ``(value, label)`` pairs."""

    sources: list[str]
    creators: list[tuple[int, str]]
    collections: list[tuple[int, str]]


def filter_options(the_archive: Archive, who: Actor, *, creator: int | None = None,
                   source: str | None = None, collection: int | None = None,
                   chosen_creator: int | None = None) -> FilterOptions:
    """The sources, creators and collections to choose from (collections of ``creator``
    only when given); a chosen value missing from the first ``OPTION_LIMIT`` is added."""
    library = the_archive.library
    choices = library.choices(creator_id=creator, limit=OPTION_LIMIT, actor=who)
    sources = sorted(set(choices.sources) | ({source} if source else set()))
    creator_options = list(choices.creators)
    if chosen_creator and all(value != chosen_creator for value, _ in creator_options):
        creator_options.append((chosen_creator, _name_of(
            lambda: library.creator(chosen_creator, actor=who).name, chosen_creator)))
    collection_options = list(choices.collections)
    if collection and all(value != collection for value, _ in collection_options):
        collection_options.append((collection, _name_of(
            lambda: library.collection(collection, actor=who).title, collection)))
    return FilterOptions(sources, creator_options, collection_options)


def _name_of(read: Callable[[], str], fallback: int) -> str:
    from alejandria.errors import NotFound

    try:
        return read()
    except NotFound:
        return f"#{fallback}"


# -- the pages ---------------------------------------------------------------------------------


def post_results(request: AnyRequest, filters: PostFilters, path: str) -> dict[str, Any]:
    """One page of posts for ``filters`` and the links around it, as template context."""
    cursor = text_param(request.query_params, "cursor", MAX_CURSOR)
    page = archive(request).library.posts(**filters.library_args(), cursor=cursor,
                                          limit=PAGE_SIZE, actor=actor(request))
    params = filters.params()
    return {"posts": page.items, "filters": filters, "list_path": path,
            "first_url": page_url(path, params) if cursor else None,
            "next_url": page_url(path, {**params, "cursor": page.next}) if page.next
            else None,
            "clear_url": page_url(path, {"sort": params.get("sort")})}


def posts_page(request: AnyRequest, template: str, filters: PostFilters, path: str,
               **context: Any) -> Response[Any]:
    results = post_results(request, filters, path)
    if wants_part(request, "post-results"):
        return render(request, "browse/_post_results.html", **results)
    options = filter_options(archive(request), actor(request),
                             creator=filters.creator if "creator" in filters.fixed else None,
                             source=filters.source, collection=filters.collection,
                             chosen_creator=filters.creator)
    return render(request, template, options=options, **results, **context)


@PAGE("/posts", Access.READ)
def all_posts(request: AnyRequest) -> Response[Any]:
    return posts_page(request, "browse/posts.html", PostFilters.read(request.query_params),
                      "/posts")


@PAGE("/creators", Access.READ)
def creators_page(request: AnyRequest) -> Response[Any]:
    query = request.query_params
    source = text_param(query, "source")
    cursor = text_param(query, "cursor", MAX_CURSOR)
    library = archive(request).library
    page = library.creators(source=source, cursor=cursor, limit=LIST_SIZE,
                            actor=actor(request))
    sources = sorted({item.source for item in library.creators(
        limit=OPTION_LIMIT, actor=actor(request)).items} | ({source} if source else set()))
    return render(request, "browse/creators.html", creators=page.items, source=source,
                  sources=sources,
                  first_url=page_url("/creators", {"source": source}) if cursor else None,
                  next_url=page_url("/creators", {"source": source, "cursor": page.next})
                  if page.next else None)


@PAGE("/creators/{creator_id:int}", Access.READ)
def creator_page(request: AnyRequest, creator_id: int) -> Response[Any]:
    library = archive(request).library
    creator = library.creator(creator_id, actor=actor(request))
    path = f"/creators/{creator_id}"
    filters = PostFilters.read(request.query_params, creator=creator_id)
    if wants_part(request, "post-results"):
        return posts_page(request, "browse/creator.html", filters, path)
    collections = library.collections(creator_id=creator_id, limit=OPTION_LIMIT,
                                      actor=actor(request)).items
    return posts_page(request, "browse/creator.html", filters, path, creator=creator,
                      collections=collections)


@PAGE("/collections", Access.READ)
def collections_page(request: AnyRequest) -> Response[Any]:
    query = request.query_params
    source = text_param(query, "source")
    creator_id = int_param(query, "creator")
    cursor = text_param(query, "cursor", MAX_CURSOR)
    library = archive(request).library
    page = library.collections(source=source, creator_id=creator_id, cursor=cursor,
                               limit=LIST_SIZE, actor=actor(request))
    creator = library.creator(creator_id, actor=actor(request)) if creator_id else None
    params = {"source": source, "creator": creator_id}
    return render(request, "browse/collections.html", collections=page.items,
                  source=source, creator=creator,
                  first_url=page_url("/collections", params) if cursor else None,
                  next_url=page_url("/collections", {**params, "cursor": page.next})
                  if page.next else None)


@PAGE("/collections/{collection_id:int}", Access.READ)
def collection_page(request: AnyRequest, collection_id: int) -> Response[Any]:
    collection = archive(request).library.collection(collection_id, actor=actor(request))
    path = f"/collections/{collection_id}"
    # a book's chapters and a series' parts read in order: oldest first unless asked
    filters = PostFilters.read(request.query_params, default_sort="oldest",
                               collection=collection_id)
    if wants_part(request, "post-results"):
        return posts_page(request, "browse/collection.html", filters, path)
    first = archive(request).library.posts(collection_id=collection_id, sort="oldest",
                                           limit=PAGE_SIZE, actor=actor(request)).items
    cover = next((post.cover_media_id for post in first if post.cover_media_id), None)
    return posts_page(request, "browse/collection.html", filters, path,
                      collection=collection, cover_media_id=cover)


ROUTES = [all_posts, creators_page, creator_page, collections_page, collection_page]

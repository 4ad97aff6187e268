"""Posts, creators and collections: ``/api/v1/posts``, ``/creators``, ``/collections``.
Paged by an opaque ``cursor``: each page says ``next`` (null on the last)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import anyio.to_thread
from litestar import MediaType, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.serialization import encode_json

from alejandria.api import Archive
from alejandria.models import Actor
from alejandria_web.api.common import GET, AnyRequest, actor, archive
from alejandria_web.cache import VIEW_TTL_S
from alejandria_web.media.urls import content_url
from alejandria_web.security.access import Access
from alejandria_web.security.identity import caches_of

Limit = Parameter(ge=1, le=200, default=50, description="items per page (1-200)")


@GET("/api/v1/posts", Access.READ, summary="Posts, newest first, with filters")
def list_posts(request: AnyRequest, source: str | None = None, creator_id: int | None = None,
               collection_id: int | None = None, published_after: datetime | None = None,
               published_before: datetime | None = None,
               media_kind: Literal["image", "video", "audio", "document", "other"] | None
               = None, tag: str | None = None,
               sort: Literal["newest", "oldest", "title"] = "newest",
               cursor: str | None = None, limit: int = Limit) -> dict[str, Any]:
    page = archive(request).library.posts(
        source=source, creator_id=creator_id, collection_id=collection_id,
        published_after=published_after, published_before=published_before,
        media_kind=media_kind, tag=tag, sort=sort, cursor=cursor, limit=limit,
        actor=actor(request))
    return page.as_json()


@GET("/api/v1/posts/{post_id:int}", Access.READ,
     summary="A post: sanitised HTML, media, chapters, versions, and my status, note, lists "
             "and highlights",
     responses={200: ResponseSpec(data_container=dict[str, Any], description="The post",
                                  generate_examples=False)})
async def get_post(request: AnyRequest, post_id: int) -> Response[bytes]:
    # kept encoded while the archive is unchanged (``alejandria_web.cache``): a reader opens
    # the same post again and again (the page, its partials, a script walking the archive)
    who = actor(request)
    cache = caches_of(request).views
    key = ("post", post_id, who.user_id, who.role)
    body = cache.get(key)
    if body is None:
        generation = cache.generation()  # before the database is read
        detail = await anyio.to_thread.run_sync(_post_detail, archive(request), post_id, who)
        body = encode_json(detail)
        cache.put(key, generation, body, size=len(body), ttl_s=VIEW_TTL_S)
    return Response(body, media_type=MediaType.JSON)


def _post_detail(archive: Archive, post_id: int, who: Actor) -> dict[str, Any]:
    view = archive.library.post_view(post_id, actor=who, media_link=content_url)
    detail = view.post.as_json()
    detail["mine"] = view.mine.as_json() if view.mine is not None else None
    return detail


@GET("/api/v1/posts/{post_id:int}/versions/{version_id:int}", Access.READ,
     summary="An earlier version of a post (edited upstream)")
def get_post_version(request: AnyRequest, post_id: int, version_id: int) -> dict[str, Any]:
    return archive(request).library.post_version(post_id, version_id,
                                                 actor=actor(request)).as_json()


@GET("/api/v1/creators", Access.READ, summary="Creators")
def list_creators(request: AnyRequest, source: str | None = None, cursor: str | None = None,
                  limit: int = Limit) -> dict[str, Any]:
    return archive(request).library.creators(source=source, cursor=cursor, limit=limit,
                                             actor=actor(request)).as_json()


@GET("/api/v1/creators/{creator_id:int}", Access.READ, summary="A creator")
def get_creator(request: AnyRequest, creator_id: int) -> dict[str, Any]:
    return archive(request).library.creator(creator_id, actor=actor(request)).as_json()


@GET("/api/v1/collections", Access.READ, summary="Collections (products, books, series)")
def list_collections(request: AnyRequest, creator_id: int | None = None,
                     source: str | None = None, cursor: str | None = None,
                     limit: int = Limit) -> dict[str, Any]:
    return archive(request).library.collections(creator_id=creator_id, source=source,
                                                cursor=cursor, limit=limit,
                                                actor=actor(request)).as_json()


@GET("/api/v1/collections/{collection_id:int}", Access.READ, summary="A collection")
def get_collection(request: AnyRequest, collection_id: int) -> dict[str, Any]:
    return archive(request).library.collection(collection_id, actor=actor(request)).as_json()


ROUTES = [list_posts, get_post, get_post_version, list_creators, get_creator,
          list_collections, get_collection]

"""Search: ``GET /api/v1/search?q=…`` with every core filter, the personal ones included
(my lists, my status, my notes, my highlights). Paged by ``page``; ``next`` is the next page's
number, null on the last."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from litestar.params import Parameter

from alejandria_web.api.common import GET, AnyRequest, actor, archive
from alejandria_web.security.access import Access

Mode = Literal["auto", "fulltext", "semantic", "transcripts", "hybrid"]


@GET("/api/v1/search", Access.READ, summary="Search posts, chapters and transcripts")
def search(request: AnyRequest, q: str = Parameter(max_length=1000),
           mode: Mode = "auto", source: str | None = None, creator: str | None = None,
           collection: str | None = None, published_after: datetime | None = None,
           published_before: datetime | None = None,
           media_kind: Literal["image", "video", "audio", "document", "other"] | None = None,
           in_list: str | None = None, status: str | None = None,
           has_note: bool | None = None, highlighted: bool | None = None,
           page: int = Parameter(ge=1, le=500, default=1),
           limit: int = Parameter(ge=1, le=100, default=20)) -> dict[str, Any]:
    hits = archive(request).search(
        q, mode=mode, source=source, creator=creator, collection=collection,
        published_after=published_after, published_before=published_before,
        media_kind=media_kind, limit=limit + 1, offset=(page - 1) * limit,
        actor=actor(request), in_list=in_list, status=status, has_note=has_note,
        highlighted=highlighted)
    more = len(hits) > limit
    return {"items": [hit.model_dump(mode="json") for hit in hits[:limit]],
            "page": page, "next": page + 1 if more else None}


ROUTES = [search]

"""The REST API ``/api/v1``: thin controllers over core's services, one module per area (each
area is a tag of the OpenAPI document, so the viewer groups the routes by it)."""

from __future__ import annotations

from typing import Any

from alejandria_web.api import admin, auth, catalog, me, media, meta, personal, search


def _tagged(tag: str, handlers: list[Any]) -> list[Any]:
    for handler in handlers:
        handler.tags = [tag]
    return handlers


ROUTES = [*_tagged("health and schema", meta.ROUTES), *_tagged("sign in", auth.ROUTES),
          *_tagged("my account", me.ROUTES), *_tagged("catalogue", catalog.ROUTES),
          *_tagged("media", media.ROUTES), *_tagged("search", search.ROUTES),
          *_tagged("my lists, status, notes, highlights", personal.ROUTES),
          *_tagged("operate (admin)", admin.OPERATE_ROUTES),
          *_tagged("users and audit (admin)", admin.ADMIN_ROUTES)]

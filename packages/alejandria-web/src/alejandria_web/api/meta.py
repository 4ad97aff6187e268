"""The health check, the API viewer and the menu: ``/health``, ``/api/v1/docs``,
``/api/v1/menu``."""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Response

from alejandria_web.api.common import GET, AnyRequest, archive
from alejandria_web.security.access import Access
from alejandria_web.security.identity import identify


@GET("/health", Access.PUBLIC, summary="200 when healthy, 503 otherwise, with each check",
     cache_control=None)
def health(request: AnyRequest) -> Response[dict[str, Any]]:
    """The same checks as ``alejandria doctor``: database, redis, workers, disk, pgvector,
    each with ok/warn/fail, why and its latency. No secrets, no paths."""
    report = archive(request).health()
    return Response(report.as_json(), status_code=200 if report.status != "down"
                    and all(c.status != "fail" for c in report.checks.values()) else 503,
                    headers={"Cache-Control": "no-store"})


@GET("/api/v1/docs", Access.PUBLIC, include_in_schema=False,
     summary="The interactive API viewer (Swagger UI from our own origin)")
def schema_viewer(request: AnyRequest) -> Response[str]:
    identity = identify(request)
    csrf = identity.session.csrf_token if identity and identity.session else ""
    from alejandria_web.vendor import installed

    missing = ("" if installed("swagger-ui") else
               "The viewer's files are not installed: run './dev setup' (npm ci). The "
               "document itself is at /api/v1/schema/openapi.json.")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Alejandria API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head><body>
<div id="swagger-ui" data-url="/api/v1/schema/openapi.json" data-csrf="{escape(csrf)}"
     data-missing="{escape(missing)}"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/plugins/web/openapi-viewer.js"></script>
</body></html>"""
    return Response(page, media_type="text/html")  # Litestar adds "; charset=utf-8"


@GET("/api/v1/menu", Access.PUBLIC, summary="The menu entries I may see")
def menu(request: AnyRequest) -> dict[str, Any]:
    from alejandria.accounts.roles import allows

    identity = identify(request)
    language = "en"
    if identity is not None:
        language = str(request.headers.get("accept-language", "en"))[:2]
    shown = []
    for link in sorted(request.app.state.menu, key=lambda item: (item.order, item.label)):
        level = link.access
        if level is not Access.PUBLIC:
            if identity is None:
                continue
            if level.permission is not None and not allows(identity.actor.role,
                                                           level.permission):
                continue
        label = (link.translations or {}).get(language, link.label)
        shown.append({"label": label, "href": link.href})
    return {"items": shown}


@GET("/api/v1/stats", Access.READ, summary="How much the archive holds")
def stats(request: AnyRequest) -> dict[str, Any]:
    from alejandria_web.security.identity import actor_of

    who = actor_of(request)
    the_archive = archive(request)
    return {"counts": the_archive.stats(actor=who),
            "search": the_archive.embed_status(actor=who)}


ROUTES = [health, schema_viewer, menu, stats]

"""The REST API ``/api/v1``: thin controllers over core's services, one module per area."""

from __future__ import annotations

from alejandria_web.api import admin, auth, catalog, me, media, meta, personal, search

ROUTES = [*meta.ROUTES, *auth.ROUTES, *me.ROUTES, *catalog.ROUTES, *media.ROUTES,
          *search.ROUTES, *personal.ROUTES, *admin.ROUTES]

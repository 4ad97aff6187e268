"""The one guard on every route: who is asking, may they, and did a browser send its CSRF
token. A route without a declared ``Access`` is refused (and the app does not start with
one, see ``app.check_routes``)."""

from __future__ import annotations

import hmac
from typing import Any

import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from alejandria.accounts.roles import allows
from alejandria_web.errors import ApiError
from alejandria_web.security.access import Access, access_of
from alejandria_web.security.identity import CSRF_HEADER, identify, known_identity

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def access_guard(connection: ASGIConnection[Any, Any, Any, Any],
                 handler: BaseRouteHandler) -> None:
    level = access_of(handler.opt)
    if level is None:
        raise ApiError(500, "internal_error", "this route declares no access level")
    if level is Access.PUBLIC:
        return
    known, identity = known_identity(connection)
    if not known:
        # the session or token lookup is a database read: off the event loop
        identity = await anyio.to_thread.run_sync(identify, connection)
    if identity is None:
        raise ApiError(401, "not_authenticated", "sign in first, or send an API token")
    if level is Access.SESSION and identity.via != "session":
        raise ApiError(403, "session_required", "this needs a signed-in browser session; "
                       "API tokens cannot do it")
    permission = level.permission
    if permission is not None and not allows(identity.actor.role, permission):
        what = "token's scope" if identity.via == "token" else "role"
        raise ApiError(403, "forbidden", f"your {what} ({identity.scope or identity.actor.role})"
                       f" may not {permission.value}")
    method = connection.scope.get("method", "GET")
    if identity.via == "session" and method not in SAFE_METHODS:
        check_csrf(connection, identity.session.csrf_token if identity.session else "")


def check_csrf(connection: ASGIConnection[Any, Any, Any, Any], expected: str) -> None:
    """Unsafe requests made with the session cookie must echo the session's CSRF token in
    ``X-CSRF-Token`` (a form field for the pages): another site can make a browser send the
    cookie, but cannot read the token."""
    sent = connection.headers.get(CSRF_HEADER, "")
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ApiError(403, "csrf_failed", "missing or wrong CSRF token: send the session's "
                       "csrf_token in the X-CSRF-Token header")

"""Signing in and out: ``/api/v1/auth/*``. Login, sessions and 2FA are the app's own; no
plugin can replace them."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response
from litestar.datastructures import Cookie

from alejandria_web.api.common import GET, POST, AnyRequest, actor, archive, client, require_json
from alejandria_web.security.access import Access
from alejandria_web.security.identity import SESSION_COOKIE, identify, sessions_of


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    username: str = msgspec.field()
    password: str = msgspec.field()
    #: The 2FA code (or a recovery code) when the account has 2FA on.
    totp: str | None = None


def _https(request: AnyRequest) -> bool:
    return request.url.scheme == "https"


def session_cookie(request: AnyRequest, value: str, max_age: int) -> Cookie:
    return Cookie(key=SESSION_COOKIE, value=value, path="/", max_age=max_age, httponly=True,
                  samesite="lax", secure=_https(request))


# require_json runs before the body is parsed: any other content type (a form's too) is a 415
@POST("/api/v1/auth/login", Access.PUBLIC, status_code=200, before_request=require_json,
      summary="Sign in: a session cookie and the CSRF token")
def login(request: AnyRequest, data: LoginIn) -> Response[dict[str, Any]]:
    """401 ``invalid_credentials``, ``totp_required`` (send ``totp``) or ``totp_invalid``;
    429 ``locked`` with ``Retry-After``; 415 for a body that is not application/json."""
    user = archive(request).accounts.authenticate(data.username, data.password, data.totp,
                                                  client=client(request))
    store = sessions_of(request)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        store.delete(old)  # a new session id at every login (no session fixation)
    new = store.create(user.actor, user_agent=request.headers.get("user-agent"),
                       client=client(request))
    max_age = int((new.session.expires_at - new.session.created_at).total_seconds())
    return Response({"user": user.as_json(), "csrf_token": new.session.csrf_token,
                     "expires_at": new.session.expires_at.isoformat()},
                    cookies=[session_cookie(request, new.token, max_age)])


def _forget(request: AnyRequest, content: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(content, cookies=[session_cookie(request, "", 0)])


@POST("/api/v1/auth/logout", Access.SIGNED_IN, status_code=200, summary="Sign out")
def logout(request: AnyRequest) -> Response[dict[str, Any]]:
    identity = identify(request)
    if identity is not None and identity.session is not None:
        sessions_of(request).delete(identity.session.id)
    return _forget(request, {"ended": 1 if identity and identity.session else 0})


@POST("/api/v1/auth/logout-everywhere", Access.SESSION, status_code=200,
      summary="End every session of mine, on every device")
def logout_everywhere(request: AnyRequest) -> Response[dict[str, Any]]:
    ended = sessions_of(request).delete_for_user(actor(request).user_id)
    return _forget(request, {"ended": ended})


@GET("/api/v1/auth/session", Access.PUBLIC, summary="Who I am signed in as, if anyone")
def session(request: AnyRequest) -> dict[str, Any]:
    identity = identify(request)
    if identity is None:
        return {"authenticated": False, "user": None, "via": None, "csrf_token": None}
    return {"authenticated": True, "via": identity.via, "scope": identity.scope,
            "user": {"id": identity.actor.user_id, "username": identity.actor.username,
                     "role": identity.actor.role},
            "csrf_token": identity.session.csrf_token if identity.session else None}


ROUTES = [login, logout, logout_everywhere, session]

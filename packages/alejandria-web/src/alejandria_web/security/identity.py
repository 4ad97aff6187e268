"""Who a request acts for: a browser session (cookie) or an API token (``Bearer alj_…``).

A token acts with the role its scope allows (``read``: readonly, ``write``: user, ``admin``:
admin; core already caps the scope by the owner's role), so every service call made for a
token is checked with no more than the token may do. A bad token is an error (401), never a
silent fall-back to anonymous; a bad or expired session cookie is anonymous (the browser is
told to forget it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from litestar.connection import ASGIConnection

from alejandria.models import Actor
from alejandria_web.cache import TOKEN_TTL_S
from alejandria_web.errors import ApiError

if TYPE_CHECKING:
    from alejandria.api import Archive
    from alejandria_web.cache import WebCaches
    from alejandria_web.security.sessions import Session, SessionStore

SESSION_COOKIE = "alejandria_session"
CSRF_HEADER = "x-csrf-token"

_SCOPE_ROLE: dict[str, Literal["admin", "user", "readonly"]] = {
    "read": "readonly", "write": "user", "admin": "admin"}

_UNSET = object()


@dataclass(frozen=True)
class Identity:
    actor: Actor
    via: Literal["session", "token"]
    session: Session | None = None
    token_id: int | None = None
    scope: str | None = None


def archive_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Archive:
    archive: Archive = connection.app.state.archive
    return archive


def caches_of(connection: ASGIConnection[Any, Any, Any, Any]) -> WebCaches:
    caches: WebCaches = connection.app.state.caches
    return caches


def sessions_of(connection: ASGIConnection[Any, Any, Any, Any]) -> SessionStore:
    store: SessionStore = connection.app.state.sessions
    return store


def client_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The caller's address (the proxy's forwarded one only from trusted proxies: the ASGI
    server rewrites it, see ``serve``)."""
    return connection.client.host if connection.client else None


def identify(connection: ASGIConnection[Any, Any, Any, Any]) -> Identity | None:
    """The request's identity, worked out once per request."""
    found = connection.scope.get("state", {}).get("alejandria_identity", _UNSET)
    if found is not _UNSET:
        return found  # type: ignore[no-any-return]
    identity = _identify(connection)
    connection.scope.setdefault("state", {})["alejandria_identity"] = identity
    return identity


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The ``Authorization: Bearer`` credential; None without the header, "" when it is not
    a bearer credential."""
    authorization = connection.headers.get("authorization")
    if not authorization:
        return None
    kind, _, credential = authorization.partition(" ")
    return credential.strip() if kind.lower() == "bearer" else ""


def known_identity(connection: ASGIConnection[Any, Any, Any, Any]
                   ) -> tuple[bool, Identity | None]:
    """``(True, identity)`` when the request's identity is known without the database (worked
    out already, or an API token checked a moment ago and unchanged since)."""
    state = connection.scope.get("state", {})
    found = state.get("alejandria_identity", _UNSET)
    if found is not _UNSET:
        return True, found
    credential = _bearer(connection)
    if not credential:
        return False, None
    from alejandria.accounts.tokens import token_hash

    identity = caches_of(connection).tokens.get(token_hash(credential))
    if identity is None:
        return False, None
    connection.scope.setdefault("state", {})["alejandria_identity"] = identity
    return True, identity


def _identify(connection: ASGIConnection[Any, Any, Any, Any]) -> Identity | None:
    credential = _bearer(connection)
    if credential is not None:
        if not credential:
            raise ApiError(401, "invalid_token", "send an API token as 'Authorization: "
                           "Bearer alj_…'", headers={"WWW-Authenticate": "Bearer"})
        return _token_identity(connection, credential)
    cookie = connection.cookies.get(SESSION_COOKIE)
    if cookie:
        session = sessions_of(connection).get(cookie)
        if session is not None:
            return Identity(actor=session.actor, via="session", session=session)
        connection.scope.setdefault("state", {})["alejandria_forget_cookie"] = True
    return None


def _token_identity(connection: ASGIConnection[Any, Any, Any, Any], token: str) -> Identity:
    """Check ``token`` (and keep the check a while: ``alejandria_web.cache``)."""
    from alejandria.accounts.errors import InvalidToken
    from alejandria.accounts.tokens import token_hash

    cache = caches_of(connection).tokens
    generation = cache.generation()  # before the database is read
    tokens = archive_of(connection).tokens
    try:
        checked = tokens.check(token, "read")
    except InvalidToken:
        raise ApiError(401, "invalid_token", "this API token is unknown, revoked or "
                       "expired: create a new one", headers={"WWW-Authenticate": "Bearer"}
                       ) from None
    actor = checked.actor.model_copy(update={"role": _SCOPE_ROLE[checked.scope]})
    identity = Identity(actor=actor, via="token", token_id=checked.token_id,
                        scope=checked.scope)
    ttl = TOKEN_TTL_S
    if checked.expires_at is not None:
        ttl = min(ttl, (checked.expires_at - tokens.now()).total_seconds())
    if ttl > 0:
        cache.put(token_hash(token), generation, identity, ttl_s=ttl)
    return identity


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """The acting user of a route that is not public (the guard made sure there is one)."""
    identity = identify(connection)
    if identity is None:
        raise ApiError(401, "not_authenticated", "sign in first")
    return identity.actor


def maybe_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
    identity = identify(connection)
    return identity.actor if identity else None

"""Security headers on every response, set once in a ``before_send`` hook.

HTML gets a Content-Security-Policy that allows scripts and styles from our own origin only,
an inline script only with the request's nonce (``scope["state"]["csp_nonce"]``, for the
pages' templates), and no framing. Everything else (JSON) gets a policy that allows nothing.
A response that sets its own policy (a media file's sandbox) keeps it.
"""

from __future__ import annotations

import secrets

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from alejandria_web.media.remote import media_origin
from alejandria_web.security.identity import SESSION_COOKIE

NONCE_KEY = "csp_nonce"


def html_policy(nonce: str, media_origin: str | None = None) -> str:
    store = f" {media_origin}" if media_origin else ""  # a remote media store's presigned URLs
    return ("default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            f"style-src 'self'; img-src 'self' data:{store}; media-src 'self'{store}; "
            "font-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"


def csp_nonce(scope: Scope) -> str:
    """This request's CSP nonce (made on first use), for the pages' inline scripts."""
    state = scope.setdefault("state", {})
    nonce = state.get(NONCE_KEY)
    if nonce is None:
        nonce = state[NONCE_KEY] = secrets.token_urlsafe(16)
    return str(nonce)


async def security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: it sees every response the app sends, the router's own 404 and
    405 included (a middleware would only wrap the routes)."""
    if message["type"] != "http.response.start":
        return
    https = scope.get("scheme") == "https"
    state = scope.get("state", {})
    headers = MutableScopeHeaders.from_message(message)
    content_type = headers.get("content-type", "")
    if "content-security-policy" not in headers:
        headers["Content-Security-Policy"] = (
            html_policy(csp_nonce(scope), media_origin(scope))
            if content_type.startswith("text/html")
            else DATA_POLICY)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    if state.get("alejandria_forget_cookie") and not any(
            value.startswith(f"{SESSION_COOKIE}=")
            for value in headers.getall("set-cookie", [])):
        headers.add("Set-Cookie", forget_cookie(https))


def session_cookie(token: str, *, https: bool, max_age: int) -> str:
    """The session cookie: HttpOnly (no script reads it), SameSite=Lax (other sites' forms
    and scripts do not send it), Secure over https."""
    return (f"{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
            + ("; Secure" if https else ""))


def forget_cookie(https: bool) -> str:
    return (f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
            + ("; Secure" if https else ""))

"""Security headers on every response, set once in an ASGI middleware.

HTML gets a Content-Security-Policy that allows scripts and styles from our own origin only,
an inline script only with the request's nonce (``scope["state"]["csp_nonce"]``, for the
pages' templates), and no framing. Everything else (JSON) gets a policy that allows nothing.
A response that sets its own policy (a media file's sandbox) keeps it.
"""

from __future__ import annotations

import secrets

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from alejandria_web.security.identity import SESSION_COOKIE

NONCE_KEY = "csp_nonce"


def html_policy(nonce: str) -> str:
    return ("default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self'; img-src 'self' data:; media-src 'self'; font-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"


def security_headers(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        nonce = secrets.token_urlsafe(16)
        state[NONCE_KEY] = nonce
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                content_type = headers.get("content-type", "")
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = (
                        html_policy(nonce) if content_type.startswith("text/html")
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
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def session_cookie(token: str, *, https: bool, max_age: int) -> str:
    """The session cookie: HttpOnly (no script reads it), SameSite=Lax (other sites' forms
    and scripts do not send it), Secure over https."""
    return (f"{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
            + ("; Secure" if https else ""))


def forget_cookie(https: bool) -> str:
    return (f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
            + ("; Secure" if https else ""))

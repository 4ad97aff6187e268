"""The login page. Signing in itself is ``POST /api/v1/auth/login`` (the form posts there as
JSON; ``app.js`` asks for the 2FA code when the API answers ``totp_required``)."""

from __future__ import annotations

from typing import Any

from litestar import Response

from alejandria_web.pages.common import PAGE, AnyRequest
from alejandria_web.pages.render import render
from alejandria_web.security.access import Access
from alejandria_web.security.identity import identify


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never ``//evil.example`` or
    ``https://…``, an open redirect). Whitespace and control characters are refused too:
    a browser's URL parser drops tabs and newlines, so ``/\\t/evil.example`` would be
    ``//evil.example``, and a CR or LF has no place in a ``Location`` header."""
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(char.isspace() or not char.isprintable() for char in target)):
        return "/"
    return target


@PAGE("/login", Access.PUBLIC)
def login_page(request: AnyRequest, next: str | None = None) -> Response[Any]:
    target = safe_next(next)
    if identify(request) is not None:
        return Response("", status_code=303, headers={"Location": target},
                        media_type="text/html")
    return render(request, "login.html", next=target)


ROUTES = [login_page]

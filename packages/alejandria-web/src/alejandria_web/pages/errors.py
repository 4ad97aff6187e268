"""Errors of pages, as pages: a missing sign-in goes to the login page (and back after it),
anything else is the error page with the same code and message the API would give."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

from litestar import Response

log = logging.getLogger(__name__)


def login_redirect(request: Any) -> Response[str]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request") == "true":
        return Response("", status_code=200, headers={"HX-Redirect": location},
                        media_type="text/html")
    return Response("", status_code=303, headers={"Location": location},
                    media_type="text/html")


def page_error(request: Any, answer: Response[Any]) -> Response[Any]:
    status = answer.status_code or 500
    if status == 401:
        return login_redirect(request)
    try:
        body = answer.content if isinstance(answer.content, dict) else json.loads(
            answer.content or b"{}")
        error = body.get("error", {})
    except (TypeError, ValueError):
        error = {}
    from alejandria_web.pages.render import render

    try:
        return render(request, "error.html", status_code=status,
                      headers={key: value for key, value in answer.headers.items()
                               if key.lower() == "retry-after"},
                      error_code=error.get("code", "error"),
                      error_message=error.get("message", ""), status=status)
    except Exception:  # the page itself could not be built (the database is down)
        log.warning("error page for %s could not be rendered", request.url.path,
                    exc_info=True)
        return Response(f"<!doctype html><title>{status}</title><h1>{status}</h1>"
                        "<p>The archive cannot show this page right now. Try again soon.</p>",
                        status_code=status, media_type="text/html; charset=utf-8")

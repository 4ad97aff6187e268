"""What the page controllers share: the ``PAGE`` route decorator (a GET that declares its
access, runs the blocking core services in a worker thread, is left out of the API schema
and has its errors rendered as HTML) and the request's archive and actor.

Pages only read. Every change a page makes (a status, a note, a list, a retried job) is a
call to the JSON API ``/api/v1`` from the browser (htmx with our ``json`` encoding, see
``static/web/app.js``), so the rules, checks and tests of one code path cover both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, get

from alejandria.api import Archive
from alejandria.models import Actor
from alejandria_web.security.access import Access, access
from alejandria_web.security.identity import actor_of, archive_of

AnyRequest = Request[Any, Any, Any]

#: ``opt`` key marking a route as a page: its errors are HTML, a missing sign-in redirects.
PAGE_KEY = "alejandria_page"


def PAGE(path: str | list[str], level: Access, **kwargs: Any) -> Callable[..., Any]:
    opt = access(level, **{PAGE_KEY: True, **kwargs.pop("opt", {})})

    def apply(function: Callable[..., Any]) -> Any:
        return get(path, opt=opt, sync_to_thread=True, include_in_schema=False,
                   name=kwargs.pop("name", f"page-{function.__name__}"), **kwargs)(function)

    return apply


def is_page(opt: dict[str, Any]) -> bool:
    return bool(opt.get(PAGE_KEY))


def is_htmx(request: AnyRequest) -> bool:
    """An htmx request: a part of the page re-fetched (``data-refresh``, polling), which
    gets that part alone."""
    return request.headers.get("hx-request") == "true"


def wants_part(request: AnyRequest, part: str) -> bool:
    """Whether htmx asked for the element ``#part`` alone (not a history restore, which
    wants the whole page)."""
    headers = request.headers
    return (is_htmx(request) and headers.get("hx-target") == part
            and headers.get("hx-history-restore-request") != "true")


def archive(request: AnyRequest) -> Archive:
    return archive_of(request)


def actor(request: AnyRequest) -> Actor:
    return actor_of(request)

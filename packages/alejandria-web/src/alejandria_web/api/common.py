"""What the controllers share: route decorators that declare access and run the (blocking)
core services in a worker thread, and the request's archive, actor and client."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Any

from litestar import Request, delete, get, patch, post, put, route

from alejandria.api import Archive
from alejandria.models import Actor
from alejandria_web.errors import ApiError
from alejandria_web.security.access import Access, access
from alejandria_web.security.identity import actor_of, archive_of, client_of

AnyRequest = Request[Any, Any, Any]


def _route(decorator: Any, path: str, level: Access, **kwargs: Any) -> Callable[..., Any]:
    opt = access(level, **kwargs.pop("opt", {}))

    def apply(function: Callable[..., Any]) -> Any:
        # the operation id is the function's name: stable, unique, readable in the schema
        def operation_id(handler: Any, method: str, components: Any) -> str:
            name = function.__name__
            return name if method == "GET" or len(handler.http_methods) == 1 \
                else f"{name}_{method.lower()}"

        if not inspect.iscoroutinefunction(function):
            kwargs["sync_to_thread"] = True  # core's services block: a worker thread
        return decorator(path, opt=opt, operation_id=operation_id, **kwargs)(function)

    return apply


def GET(path: str, level: Access, **kwargs: Any) -> Callable[..., Any]:
    if "http_method" in kwargs:  # GET and HEAD
        return _route(route, path, level, **kwargs)
    return _route(get, path, level, **kwargs)


def POST(path: str, level: Access, **kwargs: Any) -> Callable[..., Any]:
    return _route(post, path, level, **kwargs)


def PUT(path: str, level: Access, **kwargs: Any) -> Callable[..., Any]:
    return _route(put, path, level, **kwargs)


def PATCH(path: str, level: Access, **kwargs: Any) -> Callable[..., Any]:
    return _route(patch, path, level, **kwargs)


def DELETE(path: str, level: Access, **kwargs: Any) -> Callable[..., Any]:
    return _route(delete, path, level, status_code=204, **kwargs)


def archive(request: AnyRequest) -> Archive:
    return archive_of(request)


def actor(request: AnyRequest) -> Actor:
    return actor_of(request)


def client(request: AnyRequest) -> str | None:
    return client_of(request)


def require_json(request: AnyRequest) -> None:
    """Refuse a body that is not declared JSON: a cross-site HTML form can send
    ``text/plain`` or form data without a preflight, but not ``application/json``."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()

"""One error shape everywhere: ``{"error": {"code", "message", "details"}}``.

Core's typed errors map to statuses here, once, so controllers stay thin: a controller calls
a service and lets ``NotFound``, ``PermissionDenied``, ``AccountLocked`` … become 404, 403,
429 on their way out. Another user's private object is ``NotFound`` in core, so it is a 404
here too, never a 403 that would tell it exists. Unexpected errors are logged with their
traceback and answered with a generic 500 that says nothing of the server's insides.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
)
from litestar.exceptions import (
    PermissionDeniedException as LitestarPermissionDenied,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from alejandria.accounts.errors import (
    AccountConflict,
    AccountLocked,
    BadCredentials,
    InvalidToken,
    LastAdmin,
    PermissionDenied,
    TotpInvalid,
    TotpRequired,
)
from alejandria.errors import (
    AlejandriaError,
    DatabaseUnavailable,
    NotFound,
    SearchUnavailable,
    UnknownName,
)

log = logging.getLogger(__name__)


class ApiError(HTTPException):
    """An error with our code, raised by controllers and guards."""

    def __init__(self, status_code: int, code: str, message: str, *,
                 details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail=message, status_code=status_code, headers=headers)
        self.code = code
        self.message = message
        self.details = details


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _response(status: int, code: str, message: str, details: Any = None,
              headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(error_body(code, message, details), status_code=status,
                    headers=headers or {}, media_type="application/json")


#: Core's errors: (status, code). The first matching class wins (subclasses first).
_CORE: list[tuple[type[Exception], int, str]] = [
    (TotpRequired, 401, "totp_required"),
    (TotpInvalid, 401, "totp_invalid"),
    (BadCredentials, 401, "invalid_credentials"),
    (InvalidToken, 401, "invalid_token"),
    (PermissionDenied, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (LastAdmin, 409, "last_admin"),
    (AccountConflict, 409, "conflict"),
    (UnknownName, 404, "not_found"),
    (DatabaseUnavailable, 503, "unavailable"),
    (SearchUnavailable, 503, "search_unavailable"),
]

_HTTP_CODES = {400: "invalid_request", 401: "not_authenticated", 403: "forbidden",
               404: "not_found", 405: "method_not_allowed", 409: "conflict",
               413: "too_large", 415: "unsupported_media_type", 416: "range_not_satisfiable",
               429: "rate_limited", 503: "unavailable"}


#: SQLSTATE numeric_value_out_of_range (PostgreSQL's "integer out of range").
_OUT_OF_RANGE = "22003"


def _out_of_range(exc: Exception) -> bool:
    """A database error saying that a number the request gave does not fit its column."""
    from sqlalchemy.exc import DataError

    return isinstance(exc, DataError) and getattr(exc.orig, "sqlstate", None) == _OUT_OF_RANGE


def _database_unavailable(exc: Exception) -> bool:
    """The database does not answer: the server is gone, refuses, shuts down or has no
    connection left (the driver's OperationalError), or the pool had none to give."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return isinstance(exc, OperationalError | PoolTimeout)


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every exception a route raises, as our error shape (headers only for HEAD)."""
    answer = _handle(request, exc)
    if _wants_page(request):
        from alejandria_web.pages.errors import page_error

        return page_error(request, answer)
    if request.method == "HEAD":
        return Response(b"", status_code=answer.status_code, headers=dict(answer.headers),
                        media_type="application/json")
    return answer


def _wants_page(request: Request[Any, Any, Any]) -> bool:
    """An error of a page route, or of an address no route has asked for by a browser: it
    is shown as a page, not as JSON."""
    handler = request.scope.get("route_handler")
    if handler is not None and getattr(handler, "opt", None) is not None:
        from alejandria_web.pages.common import is_page

        return is_page(handler.opt)
    path = request.url.path
    return (not path.startswith(("/api/", "/static/", "/health"))
            and "text/html" in request.headers.get("accept", ""))


def _handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, ApiError):
        return _response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)
    if isinstance(exc, AccountLocked):
        return _response(429, "locked", str(exc), {"retry_after": exc.retry_after},
                         {"Retry-After": str(exc.retry_after)})
    for kind, status, code in _CORE:
        if isinstance(exc, kind):
            return _response(status, code, str(exc))
    if isinstance(exc, ValidationException):
        return _response(400, "invalid_request", "the request is not valid",
                         exc.extra if exc.extra else None)
    if isinstance(exc, NotAuthorizedException):
        return _response(401, "not_authenticated", exc.detail or "sign in first",
                         headers=exc.headers)
    if isinstance(exc, LitestarPermissionDenied):
        return _response(403, "forbidden", exc.detail or "not allowed")
    if isinstance(exc, NotFoundException):
        return _response(404, "not_found", "no such page or object")
    if isinstance(exc, HTTPException):
        code = _HTTP_CODES.get(exc.status_code, "error")
        return _response(exc.status_code, code, exc.detail, headers=exc.headers)
    if _database_unavailable(exc):
        # the same answer as /health's: 503, not a 500 that looks like our bug
        reason = str(getattr(exc, "orig", None) or exc).strip().partition("\n")[0]
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                    reason)
        return _response(503, "unavailable", "the database is not answering; try again soon")
    if _out_of_range(exc):
        # an id past the database's integer range (/api/v1/media/99999999999): not a server
        # fault, and no such object can exist
        return _response(400, "invalid_request", "a number in the request is out of range")
    if isinstance(exc, ValueError | AlejandriaError):
        # a service refused the input (a bad scope, an unknown status, a malformed cursor)
        return _response(400, "invalid_request", str(exc))
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _response(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error",
                     "something went wrong on the server; it was logged")

"""Every route of the app, as every role, anonymous and every token scope.

The table of routes comes from the app itself, so a new route is covered the day it lands;
``test_every_route_declares_access`` fails for a route that declares no ``Access``.
Expected outcomes come from the declared level: 401 for anonymous callers of a non-public
route, 403 when the caller's role (or token scope) may not, 403 ``session_required`` for tokens
on session-only routes, and otherwise anything but 401/403/5xx (ids in paths do not exist, so
an allowed call is usually a 404 or a 400 for an empty body: the guard let it through).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar import Litestar

from alejandria.accounts.roles import allows
from alejandria_web.pages.common import is_page
from alejandria_web.security.access import Access, access_of
from alejandria_web.testing import Person, login

MISSING_ID = "987654"

#: Routes that end the caller's session: the client signs in again after calling them.
ENDS_SESSION = {"/api/v1/auth/logout", "/api/v1/auth/logout-everywhere", "/api/v1/me/password"}


def route_table(app: Litestar) -> Iterator[tuple[str, str, Access]]:
    for path, method, level, _page in route_table_with_pages(app):
        yield path, method, level


def route_table_with_pages(app: Litestar) -> Iterator[tuple[str, str, Access, bool]]:
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            level = access_of(handler.opt)
            assert level is not None
            for method in sorted(handler.http_methods):
                if method == "OPTIONS" or route.path.startswith("/static/"):
                    continue
                yield route.path, method, level, is_page(handler.opt)


def concrete(path: str) -> str:
    path = re.sub(r"\{[a-z_]+:int\}", MISSING_ID, path)
    path = re.sub(r"\{size:int\}", "300", path)
    return re.sub(r"\{[a-z_]+(:[a-z]+)?\}", "missing", path)


def test_every_route_declares_access(app: Litestar) -> None:
    table = list(route_table(app))
    assert len(table) > 60
    assert {path for path, _, _ in table} >= {"/health", "/api/v1/posts", "/api/v1/search",
                                              "/api/v1/users", "/api/v1/auth/login"}


def test_a_route_without_access_stops_the_app(archive: Any, register_plugin: Any) -> None:
    from litestar import get

    from alejandria.errors import ConfigurationError
    from alejandria_web.app import create_app
    from alejandria_web.hookspecs import web_hookimpl

    @get("/api/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    class Careless:
        @web_hookimpl
        def web_routes(self) -> list[Any]:
            return [forgotten]

    register_plugin(Careless(), name="careless")
    with pytest.raises(ConfigurationError, match="/api/v1/forgotten"):
        create_app(archive=archive)


def expected(level: Access, caller: str, role: str | None, via: str | None) -> set[int] | None:
    """The statuses this caller must get (None: anything but 401, 403 and 5xx)."""
    if level is Access.PUBLIC:
        return None
    if role is None:
        return {401}
    if level is Access.SESSION and via == "token":
        return {403}
    permission = level.permission
    if permission is not None and not allows(role, permission):  # type: ignore[arg-type]
        return {403}
    return None


@pytest.fixture
def callers(archive: Any, people: dict[str, Person],
            new_client: Callable[[], Any]) -> dict[str, tuple[Any, str | None, str | None]]:
    """name -> (client, effective role, via)."""
    found: dict[str, tuple[Any, str | None, str | None]] = {
        "anonymous": (new_client(), None, None)}
    for key in ("admin", "user", "readonly"):
        client = new_client()
        login(client, people[key])
        found[f"session:{key}"] = (client, people[key].role, "session")
    for scope, role in (("read", "readonly"), ("write", "user"), ("admin", "admin")):
        token = archive.tokens.create(people["admin"].id, scope).token
        client = new_client()
        client.headers["Authorization"] = f"Bearer {token}"
        found[f"token:{scope}"] = (client, role, "token")
    return found


def test_role_route_matrix(app: Litestar, callers: dict[str, Any],
                           people: dict[str, Person]) -> None:
    failures = []
    calls = 0
    pages = 0
    for path, method, level, page in route_table_with_pages(app):
        url = concrete(path)
        pages += page
        for name, (client, role, via) in callers.items():
            body = {} if method in ("POST", "PUT", "PATCH") else None
            answer = client.request(method, url, json=body, follow_redirects=False)
            calls += 1
            want = expected(level, name, role, via)
            got = answer.status_code
            if page and want == {401}:
                # a page sends whoever is not signed in to the login page, and back after it
                want = {303}
                if got == 303 and not answer.headers["location"].startswith("/login?next="):
                    failures.append(f"{name} {method} {url}: redirected to "
                                    f"{answer.headers['location']}")
            if page and got >= 400 and not answer.headers.get(
                    "content-type", "").startswith("text/html"):
                failures.append(f"{name} {method} {url}: {got} is not an HTML page")
                continue
            if want is not None and got not in want:
                failures.append(f"{name} {method} {url}: {got}, expected {sorted(want)}")
            elif want is None and (got in (401, 403) or got >= 500) and not (
                    path == "/health" and got == 503):
                failures.append(f"{name} {method} {url}: {got} {answer.text[:200]}")
            if got < 300 and path in ENDS_SESSION and via == "session":
                key = name.split(":")[1]
                login(client, people[key])
            # Litestar's own answer for an unknown schema file is its HTML page
            if (got >= 400 and method != "HEAD" and not page
                    and not path.startswith("/api/v1/schema/")):
                error = answer.json().get("error", {}) if answer.headers.get(
                    "content-type", "").startswith("application/json") else None
                if not error or not error.get("code"):
                    failures.append(f"{name} {method} {url}: {got} without the error shape")
    assert calls > 400
    assert pages >= 2
    assert not failures, "\n".join(failures)

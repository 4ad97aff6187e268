"""``create_app(archive=...)``: the Litestar application over an open archive.

The app is assembled from the plugin manager: the web hookspecs are added to it, every
plugin's ``web_routes`` (the app's own API included) are mounted, every ``web_static_dirs``
folder is served under ``/static/plugins/<name>/``. One guard checks each route's declared
``Access``; one exception handler gives every error the same shape; one middleware sets the
security headers.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

from alejandria_web import hookspecs
from alejandria_web.cache import WebCaches, bump_after_writes
from alejandria_web.errors import handle_exception
from alejandria_web.pages.render import build_environment
from alejandria_web.security.access import ACCESS_KEY, Access, access, access_of
from alejandria_web.security.guard import access_guard
from alejandria_web.security.headers import security_headers
from alejandria_web.settings import WebSettings

if TYPE_CHECKING:
    from litestar import Request
    from litestar.types import ControllerRouterHandler

    from alejandria.api import Archive
    from alejandria.plugins import PluginManager
    from alejandria_web.security.sessions import SessionStore

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
SCHEMA_PATH = f"{API_PREFIX}/schema"


class _SchemaJson(OpenAPIRenderPlugin):
    """Only ``openapi.json``: the interactive viewer is our own page (``api.schema``), whose
    scripts come from our origin instead of a CDN."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self.render_json(request, openapi_schema)


def add_web_hookspecs(plugins: PluginManager) -> None:
    """Add the web hooks to ``plugins`` once (a test may build several apps on one)."""
    caller = getattr(plugins.hook, "web_routes", None)
    if caller is None or getattr(caller, "spec", None) is None:
        plugins.add_hookspecs(hookspecs)


def _flatten(results: Iterable[list[Any] | None]) -> list[Any]:
    return [item for result in results if result for item in result]


def _fresh(handler: Any) -> Any:
    """A copy of a route handler for this app: registering one wraps its function (a sync
    handler in a thread-pool caller), so a module-level handler mounted on a second app would
    be wrapped twice and answer with a coroutine."""
    if isinstance(handler, BaseRouteHandler):
        return copy.copy(handler)
    return handler


def web_settings(archive: Archive) -> WebSettings:
    found = archive.context.plugin_settings.get(WebSettings)
    return found if isinstance(found, WebSettings) else WebSettings()


def build_session_store(archive: Archive, settings: WebSettings) -> SessionStore:
    from datetime import timedelta

    from alejandria_web.security.sessions import PostgresSessions, RedisSessions, SessionPolicy

    policy = SessionPolicy(idle=timedelta(days=settings.session_idle_days),
                           absolute=timedelta(days=settings.session_max_days))
    if settings.session_store == "redis":
        import redis

        from alejandria.errors import ConfigurationError

        url = archive.settings.cache_url or archive.settings.broker_url
        raw = url.get_secret_value() if url is not None else ""
        if not raw.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigurationError("ALEJANDRIA_WEB_SESSION_STORE=redis needs a Redis "
                                     "ALEJANDRIA_CACHE_URL (or a Redis broker URL)")
        return RedisSessions(redis.Redis.from_url(raw), archive.engine, policy=policy)
    return PostgresSessions(archive.engine, policy=policy)


def build_caches(archive: Archive, settings: WebSettings) -> WebCaches:
    feed = archive.change_feed() if settings.cache else None
    return WebCaches(feed, max_bytes=settings.cache_mb * 1024 * 1024)


def create_app(*, archive: Archive | None = None, settings: WebSettings | None = None,
               sessions: SessionStore | None = None, close_archive: bool | None = None,
               debug: bool = False) -> Litestar:
    """The web app over ``archive`` (opened on the embedded defaults when None, and closed
    with the app). ``sessions`` replaces the session store (tests use it to move the clock)."""
    if archive is None:
        from alejandria.api import Archive as OpenArchive

        archive = OpenArchive.open()
        close_archive = True if close_archive is None else close_archive
    settings = settings or web_settings(archive)
    plugins = archive.plugins
    add_web_hookspecs(plugins)
    routes: list[ControllerRouterHandler] = [_fresh(handler) for handler in
                                             _flatten(plugins.hook.web_routes())]
    for static in _flatten(plugins.hook.web_static_dirs()):
        routes.append(create_static_files_router(
            path=f"/static/plugins/{static.name}", directories=[static.path],
            opt=access(Access.PUBLIC), include_in_schema=False,
            name=f"static-{static.name}"))
    from alejandria_web.vendor import vendor_router

    routes.append(vendor_router())

    caches = build_caches(archive, settings)

    async def start_caches() -> None:
        import anyio.to_thread

        await anyio.to_thread.run_sync(caches.start)

    async def close() -> None:
        caches.stop()
        if close_archive:
            archive.close()

    async def limit_threads() -> None:
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads

    app = Litestar(
        route_handlers=routes,
        guards=[access_guard],
        exception_handlers={Exception: handle_exception},
        before_send=[security_headers],
        openapi_config=OpenAPIConfig(
            title="Alejandria API", version="1", path=SCHEMA_PATH,
            render_plugins=[_SchemaJson()],
            description="The REST API of an Alejandria archive. Authenticate with a session "
                        "cookie (POST /api/v1/auth/login) or 'Authorization: Bearer alj_…'."),
        state=State({"archive": archive, "settings": settings,
                     "templates": build_environment(_flatten(plugins.hook.web_template_dirs())),
                     "sessions": sessions or build_session_store(archive, settings),
                     "menu": _flatten(plugins.hook.web_menu_links()),
                     "caches": caches}),
        middleware=[partial(bump_after_writes, caches=caches)],
        on_startup=[limit_threads, start_caches],
        on_shutdown=[close],
        request_max_body_size=settings.max_body_bytes,
        debug=debug,
    )
    unwrap_twice_wrapped(app)
    check_routes(app)
    return app


def unwrap_twice_wrapped(app: Litestar) -> None:
    """Litestar 2.25 registers a handler again for each later handler on the same path, and
    each registration wraps a ``sync_to_thread`` function in one more thread-pool caller: the
    outer one then answers with the inner one's coroutine (a 500). Keep one wrapper."""
    from litestar.utils.sync import AsyncCallable

    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            function = getattr(handler, "_fn", None)
            while isinstance(function, AsyncCallable) and isinstance(function.func,
                                                                     AsyncCallable):
                function = function.func
            if function is not None and function is not getattr(handler, "_fn", None):
                handler._fn = function


#: Modules of Litestar's own handlers: OPTIONS answers and the OpenAPI document.
LITESTAR_OWN = frozenset({"litestar.routes.http", "litestar._openapi.plugin",
                          "litestar.openapi.plugins"})


def check_routes(app: Litestar) -> None:
    """Every route declares its ``Access``; Litestar's own (OPTIONS answers, the OpenAPI
    document) are public. A route that declares none stops the app here, naming it."""
    missing = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if access_of(handler.opt) is not None:
                continue
            function = getattr(handler.fn, "func", handler.fn)  # unwrap a thread-pool caller
            while hasattr(function, "func"):
                function = function.func
            module = getattr(function, "__module__", "")
            if module in LITESTAR_OWN:
                handler.opt[ACCESS_KEY] = Access.PUBLIC
            else:
                missing.append(f"{route.path} ({module}."
                               f"{getattr(function, '__qualname__', function)})")
    if missing:
        from alejandria.errors import ConfigurationError

        raise ConfigurationError("these routes declare no access level (opt=access(...)): "
                                 + ", ".join(sorted(missing)))

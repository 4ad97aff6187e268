'''The web app's own hooks, added to Alejandria's plugin manager by ``create_app``.

A web plugin is an ordinary Alejandria plugin (one entry point in the ``alejandria`` group)
whose module implements some of these with ``@web_hookimpl`` (``@hookimpl`` marked
``optionalhook``, so the plugin still loads where the web app is not installed). The web app
registers its own API through ``web_routes`` like any plugin.

Example — a plugin that adds an API route, a menu entry and a static folder::

    from pathlib import Path

    from litestar import get

    from alejandria_web.hookspecs import MenuLink, StaticDir, web_hookimpl
    from alejandria_web.security.access import Access, access


    @get("/api/v1/hello", opt=access(Access.READ))
    async def hello() -> dict[str, str]:
        return {"hello": "world"}


    @web_hookimpl
    def web_routes():
        return [hello]


    @web_hookimpl
    def web_menu_links():
        return [MenuLink(label="Hello", href="/api/v1/hello", access=Access.READ)]


    @web_hookimpl
    def web_static_dirs():
        return [StaticDir(name="hello", path=Path(__file__).parent / "static")]

Every route must declare who may call it (``opt=access(...)``): the app refuses to start
with a route that does not, naming it. Login, sessions and 2FA are the app's own and cannot be
replaced by a plugin.
'''

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from alejandria.hookspecs import PROJECT_NAME

if TYPE_CHECKING:
    from litestar import Request
    from litestar.types import ControllerRouterHandler

    from alejandria_web.security.access import Access

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
_hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

_F = TypeVar("_F", bound=Callable[..., Any])


def web_hookimpl(function: _F) -> _F:
    """Mark an implementation of a web hook (optional: the plugin loads without the web app)."""
    return _hookimpl(optionalhook=True)(function)


@dataclass(frozen=True)
class MenuLink:
    """An entry of the app's menu; shown to those ``access`` lets in."""

    label: str
    href: str
    access: Access
    #: The label in other languages, by language code (``{"es": "Hola"}``).
    translations: dict[str, str] | None = None
    order: int = 100


@dataclass(frozen=True)
class StaticDir:
    """Files served under ``/static/plugins/<name>/`` (public: no secrets in them)."""

    name: str
    path: Path


@hookspec
def web_routes() -> list[ControllerRouterHandler]:
    """Route handlers, controllers or routers to mount; each declares its ``access``."""
    raise NotImplementedError


@hookspec
def web_menu_links() -> list[MenuLink]:
    """Entries for the app's menu (the pages filter them by the signed-in user's access)."""
    raise NotImplementedError


@hookspec
def web_template_dirs() -> list[Path]:
    """Folders of Jinja2 templates, searched after the app's own (override by name)."""
    raise NotImplementedError


@hookspec
def web_static_dirs() -> list[StaticDir]:
    """Folders of static files (CSS, JS, images) served from our own origin."""
    raise NotImplementedError


@hookspec
def web_template_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Extra variables for every page rendered for ``request``."""
    raise NotImplementedError

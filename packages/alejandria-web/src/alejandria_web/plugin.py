"""The web app as an Alejandria plugin: its settings, its sessions table, ``alejandria serve``,
and its own API registered through its own ``web_routes`` hook (dogfooding)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alejandria import hookimpl
from alejandria.plugin_types import MigrationSpec, SettingsSpec
from alejandria_web.hookspecs import MenuLink, StaticDir, web_hookimpl

if TYPE_CHECKING:
    import click
    from litestar.types import ControllerRouterHandler


@hookimpl
def register_settings() -> list[SettingsSpec]:
    from alejandria_web.settings import WebSettings

    return [SettingsSpec(name="web", model=WebSettings,
                         description="the web app: sessions, proxies, address")]


@hookimpl
def register_migrations() -> list[MigrationSpec]:
    return [MigrationSpec(name="web", path=Path(__file__).parent / "migrations" / "versions")]


@hookimpl
def register_commands(cli: click.Group) -> None:
    from alejandria_web.serve import serve

    cli.add_command(serve)


@web_hookimpl
def web_routes() -> list[ControllerRouterHandler]:
    from alejandria_web.api import ROUTES
    from alejandria_web.pages import routes as page_routes

    return [*ROUTES, *page_routes()]


@web_hookimpl
def web_menu_links() -> list[MenuLink]:
    from alejandria_web.security.access import Access

    return [MenuLink(label="API", href="/api/v1/docs", access=Access.SIGNED_IN,
                     translations={"es": "API"}, order=900)]


@web_hookimpl
def web_static_dirs() -> list[StaticDir]:
    return [StaticDir(name="web", path=Path(__file__).parent / "static" / "web")]

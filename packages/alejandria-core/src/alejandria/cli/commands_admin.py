"""``plugins``, ``db`` and ``doctor``: looking after the installation."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from alejandria.cli.context import open_archive
from alejandria.cli.output import print_json, stdout_console

if TYPE_CHECKING:
    from alejandria.plugins import PluginManager
    from alejandria.settings import Settings


def _plugin_manager(ctx: click.Context, settings: Settings) -> PluginManager:
    from alejandria.plugins import get_plugin_manager

    no_plugins = bool((ctx.find_root().obj or {}).get("no_plugins"))
    return get_plugin_manager(settings.load_plugins and not no_plugins,
                              tuple(settings.disabled_plugins))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List every plugin: name, package, version, hooks and load error if any."""
    from alejandria.settings import Settings

    manager = _plugin_manager(ctx, Settings())
    infos = manager.plugins()
    if as_json:
        print_json([info.as_dict() for info in infos])
    else:
        table = Table("plugin", "package", "version", "hooks", "status")
        for info in infos:
            status = f"[red]{escape(info.error)}[/]" if info.error else "[green]ok[/]"
            table.add_row(info.name, info.package or "", info.version or "",
                          ", ".join(info.hooks), status)
        stdout_console().print(table)
    sys.exit(1 if any(info.error for info in infos) else 0)


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply all migrations (core and plugins); safe to run at any time."""
    with open_archive(ctx, migrate=True) as archive:
        description = archive.database.description
        reason = archive.capabilities().semantic_search_reason
    click.echo(f"database schema is up to date ({description})")
    if reason:
        click.echo(f"note: {reason}", err=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check the data dir, database, pgvector, schema and plugins; exit 1 if any check fails."""
    from alejandria.doctor import run_checks
    from alejandria.settings import Settings

    settings = Settings()
    checks = run_checks(settings, _plugin_manager(ctx, settings))
    failed = any(check.status == "fail" for check in checks)
    if as_json:
        print_json({"ok": not failed, "checks": [check.as_dict() for check in checks]})
    else:
        console = stdout_console()
        colours = {"ok": "green", "warn": "yellow", "fail": "red"}
        for check in checks:
            colour = colours[check.status]
            console.print(f"[{colour}]{check.status:>4}[/]  {check.name}: {escape(check.detail)}")
    sys.exit(1 if failed else 0)


COMMANDS = [plugins, db, doctor]

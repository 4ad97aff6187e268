"""``alejandria doctor``: health checks of the installation."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from alejandria.cli.context import plugin_manager
from alejandria.cli.output import print_json, stdout_console


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check the data dir, database, pgvector, schema and plugins; exit 1 if any check fails."""
    from alejandria.ops.doctor import run_checks
    from alejandria.settings import Settings

    settings = Settings()
    checks = run_checks(settings, plugin_manager(ctx, settings))
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


COMMANDS = [doctor]

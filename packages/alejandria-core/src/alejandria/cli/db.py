"""``alejandria db upgrade``: apply core's and the plugins' migrations."""

from __future__ import annotations

import click

from alejandria.cli.context import open_archive
from alejandria.cli.output import echo


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
    echo(f"database schema is up to date ({description})")
    if reason:
        echo(f"note: {reason}", err=True)


COMMANDS = [db]

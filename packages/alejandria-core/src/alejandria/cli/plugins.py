"""``alejandria plugins``: every plugin, its package, hooks and load error."""

from __future__ import annotations

import sys

import click
from rich.markup import escape
from rich.table import Table

from alejandria.cli.context import plugin_manager
from alejandria.cli.output import echo, print_json, stdout_console


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List every plugin: name, package, version, hooks and load error if any."""
    from alejandria.settings import Settings

    manager = plugin_manager(ctx, Settings())
    infos = manager.plugins()
    if as_json:
        print_json([info.as_dict() for info in infos])
    elif not (console := stdout_console()).is_terminal:
        # piped: whole values, one plugin per line, tab-separated (a table cuts them)
        echo("plugin\tpackage\tversion\thooks\tstatus")
        for info in infos:
            echo("\t".join((info.name, info.package or "", info.version or "",
                            ",".join(info.hooks), info.error or "ok")))
    else:
        table = Table("plugin", "package", "version", "hooks", "status")
        for info in infos:
            status = "[red]left out (below)[/]" if info.error else "[green]ok[/]"
            table.add_row(info.name, info.package or "", info.version or "",
                          ", ".join(info.hooks), status)
        console.print(table)
        # whole messages under the table: a table cell cut them to "ImportError:" at 80 columns
        for info in infos:
            if info.error:
                console.print(f"[red]plugin {escape(info.name)}[/] "
                              f"({escape(info.package or 'no package')}): {escape(info.error)}",
                              soft_wrap=True)
    sys.exit(1 if any(info.error for info in infos) else 0)


COMMANDS = [plugins]

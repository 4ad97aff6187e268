"""``alejandria stats``: counts of what the archive holds."""

from __future__ import annotations

import click

from alejandria.cli.context import open_archive
from alejandria.cli.output import echo, print_json


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print counts as JSON.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts of creators, collections, posts, media files, transcriptions, users and jobs."""
    with open_archive(ctx) as archive:
        counts = archive.stats()
    if as_json:
        print_json(counts)
        return
    for name, count in counts.items():
        echo(f"{name.replace('_', ' '):<15} {count}")


COMMANDS = [stats]

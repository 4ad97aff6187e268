"""``alejandria process backfill``: run media processors over what lacks their output."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from alejandria.cli.context import open_archive
from alejandria.cli.output import print_json, progress_bar, stderr_console


@click.group()
def process() -> None:
    """Media processors (probe, thumbnails, ...)."""


@process.command("backfill")
@click.option("--processor", default=None, help="Only this processor.")
@click.option("--source", default=None, help="Only files from this source.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def process_backfill(ctx: click.Context, processor: str | None, source: str | None,
                     as_json: bool) -> None:
    """Run processors over every stored file that lacks their output."""
    with open_archive(ctx) as archive, progress_bar("process", not as_json) as bar:
        if processor is not None:
            archive.plugins.processor(processor)  # a clear error for an unknown name
        task = bar.add_task("process", total=None)
        report = archive.process_media(
            processor=processor, source=source,
            progress=lambda done, total, _label: bar.update(task, completed=done, total=total))
    if as_json:
        print_json(report.as_dict())
    else:
        console = stderr_console()
        for name, reason in report.unavailable.items():
            console.print(f"[yellow]note:[/] {name} is unavailable: {escape(reason)}")
        for error in report.failed:
            console.print(f"[bold red]error:[/] {escape(error.subject)}: {escape(error.message)}")
        done = ", ".join(f"{name} {count}" for name, count in report.by_processor.items())
        console.print(f"{report.processed} result(s) written ({done or 'nothing to do'}), "
                      f"{len(report.failed)} failed")
    sys.exit(1 if report.failed else 0)


COMMANDS = [process]

"""``alejandria embed backfill|status``: the vectors behind semantic and hybrid search."""

from __future__ import annotations

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from alejandria.cli.context import open_archive
from alejandria.cli.output import echo, print_json, stderr_console


@click.group()
def embed() -> None:
    """Embeddings for semantic search."""


@embed.command("backfill")
@click.option("--batch-size", type=click.IntRange(1, 2048), default=None,
              help="Texts per embedding call (default ALEJANDRIA_EMBED_BATCH_SIZE).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def embed_backfill(ctx: click.Context, batch_size: int | None, as_json: bool) -> None:
    """Embed every post chunk and transcript that lacks a vector for the configured model.

    Resumable: an interrupted run keeps what it committed. When the model has embedded
    everything it starts serving searches and older models' vectors are deleted."""
    console = stderr_console()
    with open_archive(ctx) as archive, Progress(
        TextColumn("[bold]embed"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=as_json or not console.is_terminal,
    ) as bar:
        task = bar.add_task("embed", total=None)
        report = archive.embed_backfill(
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            batch_size=batch_size)
    if as_json:
        print_json(report.as_dict())
        return
    dropped = (f"; dropped the vectors of {', '.join(report.dropped_models)}"
               if report.dropped_models else "")
    console.print(f"{report.model}: {report.chunks} chunk(s) and {report.windows} transcript "
                  f"window(s) of {report.transcripts} transcript(s) embedded{dropped}")


@embed.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def embed_status(ctx: click.Context, as_json: bool) -> None:
    """Which embedder is configured, which model serves searches, and what is left to embed."""
    with open_archive(ctx) as archive:
        status = archive.embed_status()
    if as_json:
        print_json(status)
        return
    for key, value in status.items():
        echo(f"{key.replace('_', ' '):<20} {value}")


COMMANDS = [embed]

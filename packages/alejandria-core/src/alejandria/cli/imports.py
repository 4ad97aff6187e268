"""``alejandria import``: archives made by other tools (the old system's JSON files, a
gallery-dl download tree), through the same pipeline as ``alejandria sync``, ending with a
validation report per creator. Exit status 1 when a file could not be read or a post of the
input is not in the archive."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from alejandria.cli.context import CLI_CLIENT, open_archive
from alejandria.cli.output import echo, print_json, stderr_console

if TYPE_CHECKING:
    from alejandria.imports.report import ImportReport


@click.group("import")
def import_group() -> None:
    """Import archives made by other tools, with a validation report.

    A second run of the same import writes nothing; --dry-run reads the input and compares it
    with the archive without writing. Patreon posts are stored as the patreon source stores
    them, so a later `alejandria sync patreon` updates them instead of adding copies.
    """


@import_group.command("legacy")
@click.option("--creators", "creators", type=click.Path(dir_okay=False, path_type=Path),
              help="The old system's config/creators.json (id, name, url per creator).")
@click.option("--posts", "posts", multiple=True, required=True, metavar="PATTERN",
              help="Posts files, e.g. 'data/processed/*_posts_detailed.json' (quoted: the "
                   "pattern is expanded here; repeatable).")
@click.option("--media-root", type=click.Path(file_okay=False, path_type=Path),
              help="What relative media local_path values are relative to (default: the "
                   "current folder).")
@click.option("--as-source", default="patreon", show_default=True,
              help="The source the posts are stored as ('legacy' keeps them apart).")
@click.option("--dry-run", is_flag=True, help="Read and report; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def legacy(ctx: click.Context, creators: Path | None, posts: tuple[str, ...],
           media_root: Path | None, as_source: str, dry_run: bool, as_json: bool) -> None:
    """The old system's creators.json and per-creator *_posts_detailed.json files."""
    options: dict[str, Any] = {"media_root": str((media_root or Path.cwd()).resolve()),
                               "as_source": as_source}
    if creators is not None:
        options["creators"] = str(creators.resolve())
    _run(ctx, "legacy", list(posts), options, dry_run=dry_run, as_json=as_json)


@import_group.command("gallery-dl")
@click.argument("folders", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Read and report; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def gallery_dl(ctx: click.Context, folders: tuple[Path, ...], dry_run: bool,
               as_json: bool) -> None:
    """A gallery-dl download tree (FOLDERS) with its --write-metadata JSON sidecars."""
    _run(ctx, "gallery-dl", [str(folder.resolve()) for folder in folders], {},
         dry_run=dry_run, as_json=as_json)


def _run(ctx: click.Context, importer: str, targets: list[str], options: dict[str, Any], *,
         dry_run: bool, as_json: bool) -> None:
    from alejandria.cli.sync import SyncBar

    console = stderr_console()
    with open_archive(ctx) as archive:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.fields[counter]}"), TimeElapsedColumn(),
                      TextColumn("{task.fields[label]}"), console=console, transient=True,
                      disable=as_json or not console.is_terminal) as bar:
            report = archive.import_files(importer, *targets, options=options,
                                          dry_run=dry_run,
                                          progress=SyncBar(bar, f"import {importer}"),
                                          client=CLI_CLIENT)
    _print(report, as_json=as_json)
    sys.exit(0 if report.ok else 1)


def _print(report: ImportReport, *, as_json: bool) -> None:
    if as_json:
        print_json(report.to_json())
        return
    for line in report.lines():
        echo(line)


COMMANDS = [import_group]

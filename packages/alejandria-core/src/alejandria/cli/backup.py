"""``alejandria backup [verify|list|prune]``, ``restore`` and ``export``: copies of the archive
to keep, to check, to put back, and to leave with."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alejandria.cli.context import open_archive
from alejandria.cli.output import echo, print_json, progress_bar, stderr_console

if TYPE_CHECKING:
    from alejandria.backup.retention import Policy
    from alejandria.settings import Settings

_PHASES = {"database": "dumping the database", "derived": "hashing derived files",
           "blobs": "copying blobs", "prune": "pruning", "dump": "checking the dump",
           "check": "checking the backup", "safety copy": "safety copy",
           "export": "exporting"}


@contextmanager
def _phases(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    """``progress(phase, done, total)`` drawn as one bar per phase on a terminal."""
    with progress_bar("", enabled) as bar:
        tasks: dict[str, object] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total or None)
            bar.update(tasks[phase], completed=done, total=total or None)  # type: ignore[arg-type]

        yield update


def _retention_options(function: Callable[..., None]) -> Callable[..., None]:
    for name in ("monthly", "weekly", "daily"):
        function = click.option(f"--keep-{name}", type=click.IntRange(min=0), default=None,
                                help=f"{name.capitalize()} backups kept (default "
                                     f"ALEJANDRIA_BACKUP_KEEP_{name.upper()}).")(function)
    return function


def _policy(settings: Settings, daily: int | None, weekly: int | None,
            monthly: int | None) -> Policy:
    from alejandria.backup.retention import Policy

    default = Policy.from_settings(settings)
    return Policy(default.daily if daily is None else daily,
                  default.weekly if weekly is None else weekly,
                  default.monthly if monthly is None else monthly)


@click.group(invoke_without_command=True)
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The backup location (default ALEJANDRIA_BACKUP_DIR, else "
                   "<data dir>/backups).")
@click.option("--no-prune", is_flag=True, help="Keep every backup (no retention this time).")
@_retention_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def backup(ctx: click.Context, to: Path | None, no_prune: bool, keep_daily: int | None,
           keep_weekly: int | None, keep_monthly: int | None, as_json: bool) -> None:
    """Back the archive up: a database dump and the media files the location lacks.

    Media are copied incrementally (a blob the location has is never copied again); then the
    retention policy prunes old backups. Exit 1 when media files were missing or corrupt in
    the store (the backup is made without them).
    """
    if ctx.invoked_subcommand is not None:
        return
    with open_archive(ctx) as archive, _phases(not as_json) as progress:
        report = archive.backup(to=to, prune=not no_prune,
                                policy=_policy(archive.settings, keep_daily, keep_weekly,
                                               keep_monthly),
                                progress=progress)
    if as_json:
        print_json(report.as_dict())
    else:
        manifest, blobs = report.manifest, report.blobs
        echo(f"backup {manifest.name} in {report.snapshot}")
        echo(f"  database: {manifest.dump_size:,} bytes ({sum(manifest.counts.values()):,} "
             f"rows in {len(manifest.counts)} tables)")
        echo(f"  blobs: {blobs.copied:,} copied ({blobs.copied_bytes:,} bytes), "
             f"{blobs.present:,} already there")
        if report.pruned is not None and (report.pruned.removed or report.pruned.blobs_removed):
            echo(f"  pruned: {len(report.pruned.removed)} backup(s), "
                 f"{report.pruned.blobs_removed:,} blob(s), {report.pruned.bytes_freed:,} bytes")
        console = stderr_console()
        for sha in manifest.missing:
            console.print(f"[bold red]error:[/] media {sha}: missing from the media store, "
                          "not in this backup (alejandria media verify)")
        for sha in manifest.corrupt:
            console.print(f"[bold red]error:[/] media {sha}: corrupt in the media store, not "
                          "in this backup (alejandria media verify)")
    sys.exit(0 if report.ok else 1)


@backup.command("verify")
@click.argument("backup_path", metavar="[BACKUP]", required=False,
                type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def backup_verify(ctx: click.Context, backup_path: Path | None, as_json: bool) -> None:
    """Restore BACKUP's dump into a scratch database and hash every blob; exit 1 on any
    problem. BACKUP: a backup folder, or a location (its newest); default the newest in
    ALEJANDRIA_BACKUP_DIR."""
    with open_archive(ctx) as archive, _phases(not as_json) as progress:
        report = archive.verify_backup(backup_path, progress=progress)
    if as_json:
        print_json(report.as_dict())
    else:
        console = stderr_console()
        for problem in report.problems:
            console.print("[bold red]error:[/] " + _escape(problem))
        state = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        echo(f"backup {report.manifest.name}: {state}; database "
             f"{'restored' if report.database_restored else 'not restored'}, "
             f"{report.blobs_checked:,} blob(s) hashed ({report.bytes_checked:,} bytes)")
    sys.exit(0 if report.ok else 1)


@backup.command("list")
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The backup location (default ALEJANDRIA_BACKUP_DIR).")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def backup_list(to: Path | None, as_json: bool) -> None:
    """The complete backups of a location, oldest first."""
    from alejandria.backup.location import Location
    from alejandria.settings import Settings

    location = Location(to or Settings().backup_location)
    rows = [{"name": manifest.name, "created_at": manifest.created_at.isoformat(),
             "path": str(folder), "dump_bytes": manifest.dump_size,
             "media": len(manifest.media), "posts": manifest.counts.get("posts", 0)}
            for folder, manifest in location.snapshots()]
    if as_json:
        print_json(rows)
        return
    if not rows:
        echo(f"no backups in {location.root}")
    for row in rows:
        echo(f"{row['name']}  {row['posts']:>8,} posts  {row['media']:>8,} media  "
             f"{row['dump_bytes']:>14,} bytes dump  {row['path']}")


@backup.command("prune")
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The backup location (default ALEJANDRIA_BACKUP_DIR).")
@_retention_options
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def backup_prune(to: Path | None, keep_daily: int | None, keep_weekly: int | None,
                 keep_monthly: int | None, dry_run: bool, as_json: bool) -> None:
    """Apply the retention policy: remove old backups and the blobs only they needed."""
    from alejandria.backup.location import Location
    from alejandria.backup.retention import prune
    from alejandria.settings import Settings

    settings = Settings()
    location = Location(to or settings.backup_location)
    with location.locked():
        report = prune(location, _policy(settings, keep_daily, keep_weekly, keep_monthly),
                       dry_run=dry_run)
    if as_json:
        print_json(report.as_dict())
        return
    verb = "would remove" if dry_run else "removed"
    echo(f"{verb} {len(report.removed)} backup(s) and {report.blobs_removed:,} blob(s) "
         f"({report.bytes_freed:,} bytes); {len(report.kept)} kept")


@click.command()
@click.argument("backup_path", metavar="BACKUP", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True,
              help="Replace an archive that has content (a safety copy of it is kept, and "
                   "put back if the restore fails).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def restore(ctx: click.Context, backup_path: Path, force: bool, as_json: bool) -> None:
    """Restore BACKUP (a backup folder, or a location: its newest) into this archive.

    Stop the web app, the workers and beat first. The archive must be empty unless --force.
    """
    # migrate: a new external database gets the schema the emptiness check reads
    with open_archive(ctx, migrate=True) as archive, _phases(not as_json) as progress:
        report = archive.restore(backup_path, force=force, progress=progress)
    if as_json:
        print_json(report.as_dict())
        return
    echo(f"restored backup {report.manifest.name}: {report.counts.get('posts', 0):,} posts, "
         f"{len(report.manifest.media):,} media files ({report.blobs.copied:,} copied)")
    if report.safety_copy is not None:
        echo(f"the archive it replaced is saved in {report.safety_copy} (delete it when "
             "you are content)")
    console = stderr_console()
    for warning in report.warnings:
        console.print("[bold yellow]warning:[/] " + _escape(warning))


@click.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--link", is_flag=True,
              help="Hard-link media files instead of copying them (same filesystem).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def export(ctx: click.Context, folder: Path, link: bool, as_json: bool) -> None:
    """Write every post as JSON and HTML with its media, named for people, into FOLDER: a
    plain copy of the archive that needs no Alejandria to read."""
    with open_archive(ctx) as archive, _phases(not as_json) as progress:
        report = archive.export(folder, link=link,
                                progress=lambda done, total: progress("export", done, total))
    if as_json:
        print_json(report.as_dict())
        return
    echo(f"exported {report.posts:,} posts and {report.files:,} files ({report.bytes:,} "
         f"bytes) to {report.folder}; open index.html")
    if report.missing:
        stderr_console().print(f"[bold yellow]warning:[/] {report.missing} media file(s) "
                               "were missing from the media store (alejandria media verify)")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


COMMANDS = [backup, restore, export]

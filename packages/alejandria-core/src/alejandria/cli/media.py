"""``alejandria media verify|gc|dedup|migrate|transcript``: stored files, transcripts."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from alejandria.cli.context import CLI_CLIENT, open_archive
from alejandria.cli.output import echo, print_json, progress_bar, stderr_console


@click.group()
def media() -> None:
    """The media store."""


@media.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def media_verify(ctx: click.Context, as_json: bool) -> None:
    """Re-hash every stored file; exit 1 if any is missing or corrupt."""
    with open_archive(ctx) as archive, progress_bar("verify", not as_json) as bar:
        task = bar.add_task("verify", total=None)
        report = archive.verify_media(lambda done, total: bar.update(task, completed=done,
                                                                     total=total))
    if as_json:
        print_json(report.as_dict())
    else:
        console = stderr_console()
        for sha256 in report.missing:
            console.print(f"[bold red]error:[/] media {sha256}: missing from the media store")
        for sha256 in report.corrupt:
            console.print(f"[bold red]error:[/] media {sha256}: corrupt (its bytes changed)")
        console.print(f"{report.checked} file(s) checked, {len(report.missing)} missing, "
                      f"{len(report.corrupt)} corrupt")
    sys.exit(0 if report.ok else 1)


@media.command("gc")
@click.option("--grace-days", default=7.0, show_default=True, type=click.FloatRange(min=0),
              help="Only remove what has been unreferenced for this long.")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def media_gc(ctx: click.Context, grace_days: float, dry_run: bool, as_json: bool) -> None:
    """Remove stored files that no post references any more (after a grace period)."""
    from datetime import timedelta

    with open_archive(ctx) as archive:
        report = archive.collect_garbage(grace=timedelta(days=grace_days), dry_run=dry_run,
                                         client=CLI_CLIENT)
    if as_json:
        print_json(report.as_dict())
        return
    verb = "would remove" if dry_run else "removed"
    echo(f"{verb} {len(report.rows_removed)} unreferenced file(s), "
               f"{len(report.orphan_files_removed)} orphan file(s), "
               f"{report.temp_files_removed} temp file(s): {report.bytes_freed:,} bytes")


@media.command("dedup")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def media_dedup(ctx: click.Context, dry_run: bool, as_json: bool) -> None:
    """Re-hash every stored file: merge rows of the same content, remove redundant copies,
    put misplaced files back; exit 1 if a file is corrupt or missing."""
    from alejandria.media.dedup import problem_lines, summary_lines

    with open_archive(ctx) as archive, progress_bar("dedup", not as_json) as bar:
        task = bar.add_task("dedup", total=None)
        report = archive.dedup_media(
            dry_run=dry_run,
            progress=lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        print_json(report.as_dict())
    else:
        console = stderr_console()
        for line in summary_lines(report):
            echo(line)
        for line in problem_lines(report):
            console.print(f"[bold red]error:[/] {escape(line)}")
        verb = "would free" if dry_run else "freed"
        console.print(f"{report.files_checked} file(s) hashed ({report.bytes_hashed:,} bytes): "
                      f"{len(report.merged)} merge(s), {len(report.removed)} copy(ies) "
                      f"removed, {len(report.restored)} restored, "
                      f"{len(report.unknown_orphans)} unknown orphan(s), "
                      f"{len(report.mismatched)} corrupt, {len(report.missing)} missing; "
                      f"{verb} {report.bytes_freed:,} bytes")
    sys.exit(0 if report.ok else 1)


@media.command("migrate")
@click.option("--to", "to", required=True, metavar="URL",
              help="The new store: s3://bucket/prefix (with ALEJANDRIA_S3_* set) or a folder.")
@click.option("--from", "source", metavar="URL",
              help="Copy from this store instead of the current one (the old one, after the "
                   "switch, for what was stored meanwhile).")
@click.option("--verify", is_flag=True, help="Re-hash copies the target already holds.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def media_migrate(ctx: click.Context, to: str, source: str | None, verify: bool, workers: int,
                  as_json: bool) -> None:
    """Copy every stored file into another media store, hashed on the way; run it again to
    resume. Readers keep the current store until you set ALEJANDRIA_MEDIA_URL to the new one."""
    with open_archive(ctx) as archive, progress_bar("migrate", not as_json) as bar:
        task = bar.add_task("migrate", total=None)
        report = archive.migrate_media(
            to, source=source, verify=verify, workers=workers,
            progress=lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        print_json(report.as_dict())
    else:
        console = stderr_console()
        for sha256 in report.missing:
            console.print(f"[bold red]error:[/] media {sha256}: missing from {report.source}")
        for sha256 in report.corrupt:
            console.print(f"[bold red]error:[/] media {sha256}: corrupt in {report.source} "
                          "(not copied)")
        echo(f"{report.copied} file(s) copied ({report.copied_bytes:,} bytes), "
             f"{report.present} already there, {report.derived_copied} derived file(s); "
             f"{len(report.missing)} missing, {len(report.corrupt)} corrupt -> {report.target}")
        if report.ok:
            echo(f"next: set ALEJANDRIA_MEDIA_URL={report.target}, restart the web app and "
                 f"workers, then run this again with --from {report.source}")
    sys.exit(0 if report.ok else 1)


@media.command("transcript")
@click.argument("media_id", type=int)
@click.option("--vtt", is_flag=True, help="WebVTT subtitles instead of timestamped lines.")
@click.pass_context
def media_transcript(ctx: click.Context, media_id: int, vtt: bool) -> None:
    """Print the transcript of a media file (corrections applied)."""
    from alejandria.storage.transcripts import to_webvtt

    with open_archive(ctx) as archive:
        segments = archive.transcript(media_id)
    if not segments:
        stderr_console().print(f"[bold red]error:[/] media {media_id} has no transcript yet")
        sys.exit(1)
    if vtt:
        echo(to_webvtt(segments))
        return
    for segment in segments:
        minutes, seconds = divmod(segment.start_s, 60)
        echo(f"[{int(minutes)}:{seconds:05.2f}] {segment.text}")


COMMANDS = [media]

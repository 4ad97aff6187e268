"""``alejandria media verify|gc|dedup|transcript``: the stored files and their transcripts."""

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

"""``alejandria sync``: archive targets with a source, here or on a worker."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from alejandria.cli.context import CLI_CLIENT, open_archive
from alejandria.cli.output import echo, print_json, stderr_console

if TYPE_CHECKING:
    from alejandria.models import SyncReport
    from alejandria.sync.pipeline import ProgressEvent


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--option")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


class SyncCommand(click.Command):
    """``sync --help`` ends with the sources installed here, so a user sees what to type."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from alejandria.builtins import get_plugin_manager
        from alejandria.settings import Settings

        try:
            settings = Settings()
            root = ctx.find_root()
            load = settings.load_plugins and not (root.obj or {}).get("no_plugins")
            sources = get_plugin_manager(load, tuple(settings.disabled_plugins)).sources()
        except Exception as exc:  # noqa: BLE001 - help must print even with a broken plugin
            rows = [("(unknown)", f"cannot list the sources: {exc}")]
        else:
            rows = [(name, spec.description.strip().splitlines()[0] if spec.description
                     else "") for name, spec in sorted(sources.items())]
            flags = [(f"{name} --{flag.flag}", flag.help)
                     for name, spec in sorted(sources.items()) for flag in spec.flags]
        with formatter.section("Sources installed"):
            formatter.write_dl(rows)
        if flags:
            with formatter.section("Switches of a source (sync SOURCE --SWITCH)"):
                formatter.write_dl(flags)
        super().format_epilog(ctx, formatter)


@click.command(cls=SyncCommand, context_settings={"ignore_unknown_options": True})
@click.argument("source")
@click.argument("targets", nargs=-1)
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Source option, e.g. -o pages_per_post=20 (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the sync report as JSON.")
@click.option("--no-wait", is_flag=True,
              help="With a broker: queue the job and print its id instead of waiting.")
@click.pass_context
def sync(ctx: click.Context, source: str, targets: tuple[str, ...], options: tuple[str, ...],
         as_json: bool, no_wait: bool) -> None:
    """Archive TARGETS (files, folders, URLs, names) with SOURCE (e.g. pdf).

    SOURCE may also be a URL (``alejandria sync https://www.patreon.com/c/someone``): the
    source whose URL patterns match it archives it. With ALEJANDRIA_BROKER_URL set the work
    runs on a worker (``alejandria worker``), as a job visible in ``alejandria jobs list``.
    """
    parsed = _parse_options(options)
    console = stderr_console()
    with open_archive(ctx) as archive:
        source, targets = _source_and_targets(archive, source, targets)
        targets = _take_flags(archive, source, targets, parsed)
        if archive.settings.broker_url is not None:
            archive.plugins.source(source)  # an unknown source fails here, not on the worker
            paths = [str(Path(t).resolve()) if Path(t).exists() else t for t in targets]
            job_id = archive.submit("sync", {"source": source, "targets": paths,
                                             "options": parsed}, priority=8,
                                   client=CLI_CLIENT)
            if no_wait:
                echo(f"job {job_id} queued")
                return
            from alejandria.models import SyncReport as SyncReportModel

            report_dict = _wait_for(archive, job_id)
            report = SyncReportModel.model_validate(
                {k: v for k, v in report_dict.items() if k != "ok"})
            if as_json:
                print_json(report_dict)
            else:
                _print_report(report)
            sys.exit(0 if report.ok else 1)
        show_progress = console.is_terminal and not as_json
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.fields[counter]}"), TimeElapsedColumn(),
                      TextColumn("{task.fields[label]}"),
                      console=console, transient=True, disable=not show_progress) as bar:
            on_progress = SyncBar(bar, source)
            payload = {"source": source, "targets": [
                str(Path(t).resolve()) if Path(t).exists() else t for t in targets],
                "options": parsed}
            with archive.recorded_job("sync", payload, priority=8) as job:
                report = archive.sync(source, *targets, options=parsed, progress=on_progress,
                                      client=CLI_CLIENT)
                job.result = {**report.model_dump(mode="json"), "ok": report.ok}
    if as_json:
        print_json({**report.model_dump(mode="json"), "ok": report.ok})
    else:
        _print_report(report)
    sys.exit(0 if report.ok else 1)


@dataclass(frozen=True)
class BarRow:
    """What one row of ``sync``'s progress shows: a bar (no total: it pulses), a counter and a
    label, both plain text."""

    completed: int
    total: int | None
    counter: str
    label: str = ""


def progress_rows(event: ProgressEvent) -> tuple[BarRow, BarRow | None]:
    """The rows ``sync`` shows for a progress event: the targets (``1/3``, the current one's
    label), and the posts of the current target (``37/120 posts``, or ``37 posts`` when its
    source does not say how many), or None: no posts reported yet, or at most one (a target of
    one file or one chapter, which the targets row says well enough)."""
    targets = BarRow(event.done, event.total, f"{event.done}/{event.total}", event.label)
    expected = event.posts_expected
    if event.stage != "posts" or max(event.posts, expected or 0) <= 1:
        return targets, None
    if expected is None:
        return targets, BarRow(event.posts, None, f"{event.posts:,} posts")
    return targets, BarRow(min(event.posts, expected), expected,
                           f"{event.posts:,}/{expected:,} posts")


class SyncBar:
    """``sync``'s progress callback on a terminal: a row for the targets and, below it, one
    for the posts of the current target while it has some to show."""

    def __init__(self, bar: Progress, source: str) -> None:
        self._bar = bar
        self.targets = bar.add_task(f"sync {source}", total=None, counter="", label="")
        self.posts = self._new_posts_row()

    def __call__(self, event: ProgressEvent) -> None:
        targets, posts = progress_rows(event)
        self._show(self.targets, targets)
        if event.stage == "target":
            # a new row, not a reset one: rich cannot take a total back to None (unknown)
            self._bar.remove_task(self.posts)
            self.posts = self._new_posts_row()
        if posts is None:
            self._bar.update(self.posts, visible=False)
        else:
            self._show(self.posts, posts)

    def _new_posts_row(self) -> TaskID:
        return self._bar.add_task("  posts", total=None, visible=False, counter="", label="")

    def _show(self, task: TaskID, row: BarRow) -> None:
        self._bar.update(task, completed=row.completed, total=row.total, visible=True,
                         counter=escape(row.counter), label=escape(row.label))


def _source_and_targets(archive: Any, source: str,
                        targets: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """``sync URL...``: the source whose ``url_patterns`` match the URL, and the URL itself as
    the first target; otherwise SOURCE names the source and TARGETS are needed, unless the
    source declares ``default_targets`` (its whole account)."""
    sources = archive.plugins.sources()
    if source not in sources and "://" in source:
        spec = archive.plugins.source_for_url(source)
        if spec is None:
            raise click.UsageError(f"no installed source archives {source}; name one: "
                                   f"alejandria sync SOURCE {source}")
        return spec.name, (source, *targets)
    if not targets:
        spec = sources.get(source)
        if spec is not None and spec.default_targets:
            return source, tuple(spec.default_targets)
        raise click.UsageError("give at least one target: alejandria sync SOURCE TARGET...")
    return source, targets


def _take_flags(archive: Any, source: str, targets: tuple[str, ...],
                options: dict[str, Any]) -> tuple[str, ...]:
    """The source's own switches (``--include-archived``) taken out of ``targets`` into
    ``options``; any other ``--word`` is a usage error that lists the source's switches."""
    spec = archive.plugins.sources().get(source)
    known = {f"--{flag.flag}": flag.option for flag in (spec.flags if spec else ())}
    rest: list[str] = []
    for target in targets:
        if target in known:
            options[known[target]] = True
        elif target.startswith("--"):
            offer = ", ".join(sorted(known)) or "none"
            raise click.UsageError(f"no such option: {target} (the {source} source's switches:"
                                   f" {offer})")
        else:
            rest.append(target)
    if targets and not rest:
        sources = archive.plugins.sources()
        spec = sources.get(source)
        if spec is not None and spec.default_targets:
            return tuple(spec.default_targets)
    return tuple(rest)


def _wait_for(archive: Any, job_id: int) -> dict[str, Any]:
    """Wait for a queued job, with its progress; its result, or exit with its error."""
    import time

    from alejandria.cli.output import fail

    console = stderr_console()
    console.print(f"job {job_id} queued; waiting for a worker (Ctrl-C stops waiting, "
                  "not the job)")
    with Progress(TextColumn("[bold]job {task.fields[job]}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("{task.fields[status]}"), console=console,
                  transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("job", total=None, job=job_id, status="pending")
        while True:
            job = archive.jobs.get(job_id)
            if job is not None and job.status == "completed":
                return dict(job.result or {})
            if job is None or job.status in ("failed", "cancelled"):
                reason = job.error_message if job else "the job disappeared"
                fail(f"job {job_id} {job.status if job else 'lost'}: {reason}")
            bar.update(task, completed=job.progress_current or 0, total=job.progress_total,
                       status=job.status)
            time.sleep(0.5)


def _print_report(report: SyncReport) -> None:
    console = stderr_console()
    for notice in report.notices:
        console.print(f"[yellow]note:[/] {escape(notice.subject)}: {escape(notice.message)}")
    for error in report.errors:
        console.print(f"[bold red]error:[/] {escape(error.subject)}: {escape(error.message)}")
    failed = f", [red]{len(report.errors)} failed[/]" if report.errors else ""
    console.print(
        f"{report.source}: {report.targets} target(s), {report.skipped_unchanged} unchanged; "
        f"{report.posts_written} post(s) written, {report.posts_unchanged} unchanged, "
        f"{report.posts_deleted} removed; {report.media_stored} media file(s) stored, "
        f"{report.media_reused} reused"
        + (f"; {report.chunks_embedded} passage(s) embedded for semantic search"
           if report.chunks_embedded else "")
        + (f"; {report.embeddings_pending:,} passage(s) wait for embeddings "
           "(ALEJANDRIA_EMBED_AFTER_SYNC is off): run alejandria embed backfill"
           if report.embeddings_pending else "")
        + failed
    )


COMMANDS = [sync]

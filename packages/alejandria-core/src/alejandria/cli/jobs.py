"""``alejandria jobs list|show|retry|cancel``: the queue's jobs from the command line."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from alejandria.cli.context import CLI_CLIENT, open_archive
from alejandria.cli.output import echo, fail, print_json, stdout_console


@click.group()
def jobs() -> None:
    """Jobs: what runs, what failed and why."""


@jobs.command("list")
@click.option("--status", default=None,
              type=click.Choice(["pending", "running", "retrying", "completed", "failed",
                                 "cancelled"]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
@click.pass_context
def jobs_list(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """The newest jobs first."""
    with open_archive(ctx) as archive:
        found = archive.jobs.list(status=status, limit=limit)
    if as_json:
        print_json([job.as_dict() for job in found])
        return
    table = Table("id", "type", "status", "tries", "progress", "created", "error")
    for job in found:
        progress = (f"{job.progress_current}/{job.progress_total or '?'}"
                    if job.progress_current is not None else "")
        table.add_row(str(job.id), job.job_type, job.status, str(job.attempts), progress,
                      job.created_at.strftime("%Y-%m-%d %H:%M"), escape(job.error_message or ""))
    stdout_console().print(table)


@jobs.command("show")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@click.pass_context
def jobs_show(ctx: click.Context, job_id: int, as_json: bool) -> None:
    """One job with its payload, result and traceback summary."""
    with open_archive(ctx) as archive:
        job = archive.jobs.get(job_id)
    if job is None:
        fail(f"no job {job_id}")
        return
    if as_json:
        print_json(job.as_dict())
        return
    for name, value in job.as_dict().items():
        if value not in (None, {}, ""):
            echo(f"{name:<17} {value}")


@jobs.command("retry")
@click.argument("job_id", type=int)
@click.pass_context
def jobs_retry(ctx: click.Context, job_id: int) -> None:
    """Run a failed or cancelled job again."""
    with open_archive(ctx) as archive:
        archive.retry_job(job_id, client=CLI_CLIENT)
        job = archive.jobs.get(job_id)
    echo(f"job {job_id}: {job.status if job else 'gone'}")


@jobs.command("cancel")
@click.argument("job_id", type=int)
@click.pass_context
def jobs_cancel(ctx: click.Context, job_id: int) -> None:
    """Cancel a pending, retrying or running job (a running one stops at its next start)."""
    with open_archive(ctx) as archive:
        cancelled = archive.cancel_job(job_id)
    if not cancelled:
        fail(f"job {job_id} is not pending, retrying or running "
             f"(see: alejandria jobs show {job_id})")
    echo(f"job {job_id}: cancelled")


COMMANDS = [jobs]

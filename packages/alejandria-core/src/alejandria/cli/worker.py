"""``alejandria worker`` and ``alejandria beat``: the processes that run queued and daily jobs."""

from __future__ import annotations

import sys

import click

from alejandria.cli.context import open_archive
from alejandria.cli.output import echo, fail


@click.command()
@click.option("-Q", "--queues", default="sources,media,transcription,search",
              show_default=True, help="Comma-separated queues to consume.")
@click.option("-c", "--concurrency", type=int, default=None,
              help="Worker processes (default: one per core).")
@click.option("--loglevel", default="INFO", show_default=True)
def worker(queues: str, concurrency: int | None, loglevel: str) -> None:
    """Run a Celery worker for ALEJANDRIA_BROKER_URL (plugins load once per process)."""
    from alejandria.settings import Settings
    from alejandria.worker import make_worker_app

    settings = Settings()
    if settings.broker_url is None:
        fail("set ALEJANDRIA_BROKER_URL (e.g. redis://localhost:6379/0) to run a worker",
             code=2)
    argv = ["worker", "-Q", queues, "--loglevel", loglevel]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    make_worker_app(settings).worker_main(argv)
    sys.exit(0)


@click.command()
@click.option("--hour", type=click.IntRange(0, 23), default=None,
              help="Hour of the daily sync (saved; default ALEJANDRIA_DAILY_SYNC_HOUR).")
@click.option("--loglevel", default="INFO", show_default=True)
@click.pass_context
def beat(ctx: click.Context, hour: int | None, loglevel: str) -> None:
    """Run Celery beat: the daily incremental sync of everything synced before, and cleanup."""
    from alejandria.ops.schedule import daily_sync_hour
    from alejandria.queue.broker import beat_schedule, configured_app

    with open_archive(ctx) as archive:
        settings = archive.settings
        if settings.broker_url is None:
            fail("set ALEJANDRIA_BROKER_URL to run beat", code=2)
        daily_hour = daily_sync_hour(archive.context, save=hour)
    app = configured_app(settings)
    app.conf.beat_schedule = beat_schedule(settings, daily_hour)
    echo(f"daily sync at {daily_hour:02d}:00, cleanup at {(daily_hour + 1) % 24:02d}:00")
    if settings.backup_schedule:
        echo(f"backup to {settings.backup_location} on '{settings.backup_schedule}' (cron)")
    app.Beat(loglevel=loglevel).run()


COMMANDS = [worker, beat]

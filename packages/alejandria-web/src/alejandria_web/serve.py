"""``alejandria serve``: the web app under uvicorn, on the embedded defaults with no setup.

uvicorn, not granian: bench/web_api.py measured both on this app (see bench/README.md).
Forwarded headers (``X-Forwarded-For``/``-Proto``) are believed only from the addresses in
``ALEJANDRIA_WEB_TRUSTED_PROXIES`` (or ``--trusted-proxies``): behind no proxy, a client cannot
claim another address to dodge the login throttle, or claim https.

SIGINT and SIGTERM stop it gracefully: requests in flight get ``GRACEFUL_SHUTDOWN_S`` to
finish, then are cancelled. Without that limit uvicorn waits for every open response, so one
stalled download (a paused video player, a slow link) kept the server running until killed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from litestar import Litestar

    from alejandria.api import Archive

#: Seconds a stop (Ctrl+C, SIGTERM) waits for requests in flight before cancelling them: API
#: calls end in milliseconds; only a long media stream is cut (its player asks again).
GRACEFUL_SHUTDOWN_S = 5


class _CutResponses(logging.Filter):
    """A response cancelled at the ``GRACEFUL_SHUTDOWN_S`` limit is the intended cut, not a
    bug: uvicorn logs it as "Exception in ASGI application" with a traceback of the
    ``CancelledError`` (its own "Cancel N running task(s)" line stays)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, asyncio.CancelledError)


def quiet_cut_responses() -> None:
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(found, _CutResponses) for found in log.filters):
        log.addFilter(_CutResponses())


def worker_app() -> Litestar:
    """The app of one worker process (``--workers N``): each opens its own archive."""
    from alejandria_web.app import create_app

    quiet_cut_responses()
    return create_app()


def first_admin(archive: Archive) -> tuple[str, str] | None:
    """When the archive has no user yet, create ``admin`` with a random password and return
    (name, password) to show once; None when there are users already."""
    if archive.accounts.list():
        return None
    password = secrets.token_urlsafe(15)
    archive.accounts.create("admin", password, role="admin", client="serve")
    return "admin", password


@click.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1; "
              "ALEJANDRIA_WEB_HOST).")
@click.option("--port", type=int, default=None, help="Port (default 8000; ALEJANDRIA_WEB_PORT).")
@click.option("--workers", type=int, default=None,
              help="Worker processes (default 1; ALEJANDRIA_WEB_WORKERS).")
@click.option("--trusted-proxies", default=None,
              help="Comma-separated addresses (or '*') whose X-Forwarded-* headers are "
                   "believed (ALEJANDRIA_WEB_TRUSTED_PROXIES; default: none).")
@click.option("--create-admin/--no-create-admin", default=True, show_default=True,
              help="On an archive with no user, create 'admin' and print its one-time "
                   "password.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None,
          trusted_proxies: str | None, create_admin: bool) -> None:
    """Serve the web app and the REST API (/api/v1, /health)."""
    import uvicorn

    from alejandria.cli.context import open_archive
    from alejandria_web.app import create_app, web_settings

    archive = open_archive(ctx)
    settings = web_settings(archive)
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    proxies = settings.trusted_proxies if trusted_proxies is None else trusted_proxies
    if create_admin:
        created = first_admin(archive)
        if created is not None:
            click.echo(f"First run: created the admin account {created[0]!r} with the "
                       f"one-time password\n\n    {created[1]}\n\nSign in and change it "
                       "(this is the only time it is shown).")
    click.echo(f"Serving Alejandria on http://{host}:{port}/ (API: /api/v1/docs, "
               "health: /health). Ctrl+C stops.")
    quiet_cut_responses()
    common = {"host": host, "port": port, "proxy_headers": bool(proxies),
              "forwarded_allow_ips": proxies or "", "server_header": False,
              "date_header": True, "log_level": "warning", "access_log": False,
              "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S}
    if workers > 1:
        archive.close()
        uvicorn.run("alejandria_web.serve:worker_app", factory=True, workers=workers,
                    **common)  # type: ignore[arg-type]
    else:
        uvicorn.run(create_app(archive=archive, close_archive=True),
                    **common)  # type: ignore[arg-type]

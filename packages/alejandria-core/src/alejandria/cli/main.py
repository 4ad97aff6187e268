"""Entry point and command group. Plugins are loaded only when a command needs them."""

from __future__ import annotations

import logging
import signal
from typing import Any

import click

from alejandria.cli.output import PrintableLogs, fail
from alejandria.cli.startup import exit_code, exit_now, gc_paused


class AlejandriaGroup(click.Group):
    """Adds plugin commands (``register_commands``) on first lookup, and turns our errors into
    one readable line instead of a traceback."""

    _plugins_added = False

    def _add_plugin_commands(self, ctx: click.Context) -> None:
        if self._plugins_added:
            return
        self._plugins_added = True
        if ctx.params.get("no_plugins"):
            return
        from alejandria.builtins import get_plugin_manager
        from alejandria.settings import Settings

        settings = Settings()
        get_plugin_manager(settings.load_plugins, tuple(settings.disabled_plugins)) \
            .register_commands(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands(ctx)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._add_plugin_commands(ctx)
            command = super().get_command(ctx, cmd_name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        from alejandria.errors import AlejandriaError

        try:
            return super().invoke(ctx)
        except AlejandriaError as exc:
            fail(str(exc), code=2)
        except KeyboardInterrupt:
            fail("interrupted", code=130)
        except Exception as exc:
            if not (hasattr(exc, "statement") and hasattr(exc, "orig")):
                raise  # a bug: the traceback is what a bug report needs
            # a database error: its reason, never the SQL and its parameters (-vv logs them)
            logging.getLogger(__name__).debug("database error", exc_info=True)
            from alejandria.errors import describe

            fail(describe(exc), code=1)
        return None


def _version() -> str:
    from alejandria import __version__

    return __version__


@click.group(cls=AlejandriaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=None, package_name="alejandria-core", prog_name="alejandria",
                      message="%(prog)s %(version)s")
@click.option("--no-plugins", is_flag=True, help="Load only core's built-ins (for debugging).")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, no_plugins: bool, verbose: int) -> None:
    """Alejandria: archive the content you paid for, and search it."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, PrintableLogs) for f in handler.filters):
            handler.addFilter(PrintableLogs())
    ctx.obj = {"no_plugins": no_plugins}


def _register_builtin_commands() -> None:
    from alejandria.cli import (
        accounts,
        backup,
        credentials,
        db,
        doctor,
        embed,
        imports,
        jobs,
        media,
        new_plugin,
        personal,
        plugins,
        process,
        search,
        stats,
        sync,
        worker,
    )

    for module in (sync, search, stats, media, process, jobs, worker, embed, credentials,
                   plugins, db, doctor, new_plugin, accounts, personal, backup):
        for command in module.COMMANDS:
            cli.add_command(command)
    cli.add_command(imports.import_group)


with gc_paused():
    _register_builtin_commands()


def main() -> None:
    # SIGTERM (systemd, docker stop, kill) ends the process like Ctrl-C does, through the
    # exit handlers: the embedded Postgres is stopped when this was its last user, and a job
    # run here is recorded as interrupted. (A worker's Celery installs handlers of its own.)
    signal.signal(signal.SIGTERM, _terminated)
    try:
        cli(prog_name="alejandria")
    except SystemExit as exc:  # how click ends every command
        exit_now(exit_code(exc))


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()

"""Opening the archive for a CLI command, with the plugin switches the user gave."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from alejandria.cli.startup import gc_paused

#: The client the audit log names for what a command does (the installation: no user).
CLI_CLIENT = "cli"

if TYPE_CHECKING:
    from alejandria.api import Archive
    from alejandria.plugins import PluginManager
    from alejandria.settings import Settings


def open_archive(ctx: click.Context, *, migrate: bool | None = None) -> Archive:
    """Heavy imports happen here, when a command runs, so ``alejandria --help`` stays fast
    (and without the garbage collector running over them: ``startup.gc_paused``)."""
    with gc_paused():
        from alejandria.api import Archive
        from alejandria.settings import Settings

        settings = Settings()
        return Archive.open(settings=settings, plugins=plugin_manager(ctx, settings),
                            migrate=migrate)


def plugin_manager(ctx: click.Context, settings: Settings) -> PluginManager:
    """The plugins of this command: all installed ones unless ``--no-plugins`` was given."""
    from alejandria.builtins import get_plugin_manager

    no_plugins = bool((ctx.find_root().obj or {}).get("no_plugins"))
    return get_plugin_manager(settings.load_plugins and not no_plugins,
                              tuple(settings.disabled_plugins))

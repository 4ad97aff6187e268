"""Fixtures for a plugin's tests: plugin managers, settings, open archives, the CLI's env."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from alejandria.testing.helpers import CliResult, run_cli

if TYPE_CHECKING:
    from alejandria.api import Archive
    from alejandria.plugins import PluginManager
    from alejandria.settings import Settings

#: What every test archive starts from, before ``alejandria_settings_overrides``: syncs do not
#: embed what they wrote (a local model costs seconds per sync); a test of semantic search
#: turns it on or calls ``embed_backfill()``. No embedded server outlives its command
#: (``storage.embedded_linger``), also where a test takes the database URL away.
DEFAULT_SETTINGS: dict[str, Any] = {"embed_after_sync": False, "embedded_linger_s": 0}


@pytest.fixture
def plugin_manager() -> PluginManager:
    """A fresh plugin manager: core's built-ins plus the installed entry points."""
    from alejandria.builtins import build_plugin_manager

    return build_plugin_manager()


@pytest.fixture
def register_plugin(plugin_manager: PluginManager) -> Iterator[Callable[..., None]]:
    """``register_plugin(module_or_object, name=...)`` for the length of one test."""
    added: list[str] = []

    def register(plugin: object, name: str | None = None) -> None:
        plugin_name = name or getattr(plugin, "__name__", None) or f"test-{len(added)}"
        plugin_manager.register(plugin, plugin_name)
        added.append(plugin_name)

    yield register
    for name in added:
        plugin_manager.unregister(name)


@pytest.fixture
def alejandria_settings_overrides() -> dict[str, Any]:
    """Settings for this test's archive, merged over the kit's defaults (``DEFAULT_SETTINGS``).

    Override it in a ``conftest.py`` (or a test module, or with ``parametrize``)::

        @pytest.fixture
        def alejandria_settings_overrides() -> dict[str, object]:
            return {"process_media": False, "download_embeds": False}
    """
    return {}


@pytest.fixture
def alejandria_settings(tmp_path: Path, alejandria_settings_overrides: dict[str, Any]) -> Settings:
    """This test's ``Settings``: data dir ``tmp_path / "data"``, no database (``archive``
    opens them on the test's own), the kit's defaults and the overrides; the rest from the
    environment, as ``Settings()`` reads it. Hand it to ``source_context`` to test a source
    without a database."""
    from alejandria.settings import Settings

    return Settings(**{"data_dir": tmp_path / "data", "database_url": None, **DEFAULT_SETTINGS,
                       **alejandria_settings_overrides})


@pytest.fixture
def open_archive(alejandria_database_url: str, plugin_manager: PluginManager,
                 alejandria_settings: Settings) -> Iterator[Callable[..., Archive]]:
    """``open_archive(**overrides)``: an open ``Archive`` on this test's database and data dir,
    with ``alejandria_settings`` and ``overrides`` on top; closed after the test.

    For a second archive with other settings (``process_media=True``), to read what a CLI
    subprocess wrote, or to open one after ``register_plugin`` so ``startup`` runs.
    """
    from alejandria.api import Archive
    from alejandria.settings import Settings

    opened: list[Archive] = []

    def open_(**overrides: Any) -> Archive:
        settings = Settings(**{**alejandria_settings.model_dump(),
                               "database_url": alejandria_database_url, **overrides})
        archive = Archive.open(settings=settings, plugins=plugin_manager, migrate=False)
        opened.append(archive)
        return archive

    yield open_
    for archive in reversed(opened):
        archive.close()


@pytest.fixture
def archive(open_archive: Callable[..., Archive]) -> Archive:
    """An open archive on a fresh database, with its data dir in ``tmp_path``, opened with
    ``alejandria_settings`` (override ``alejandria_settings_overrides`` to change them)."""
    return open_archive()


@pytest.fixture
def alejandria_cli_env(alejandria_database_url: str, alejandria_settings: Settings,
                       alejandria_settings_overrides: dict[str, Any]) -> dict[str, str]:
    """The environment for ``run_cli``: this process's, without any core setting a developer's
    shell may hold, then this test's database, data dir, the kit's defaults and the
    overrides (as ``ALEJANDRIA_*`` variables). A plugin's own variables pass through."""
    from alejandria.settings import Settings

    core = {f"ALEJANDRIA_{name.upper()}" for name in Settings.model_fields}
    env = {name: value for name, value in os.environ.items() if name not in core}
    values = {"database_url": alejandria_database_url, "data_dir": alejandria_settings.data_dir,
              **DEFAULT_SETTINGS, **alejandria_settings_overrides}
    env.update({f"ALEJANDRIA_{name.upper()}": _env_value(value)
                for name, value in values.items() if value is not None})
    return env


@pytest.fixture
def alejandria_cli(alejandria_cli_env: dict[str, str]) -> Callable[..., CliResult]:
    """``alejandria_cli("sync", "pdf", path, "--json")``: the real command in a subprocess,
    with ``alejandria_cli_env`` (or ``env=``, e.g. that env less a variable)."""

    def run(*args: str | Path, env: dict[str, str] | None = None,
            timeout: float = 120) -> CliResult:
        return run_cli(alejandria_cli_env if env is None else env, *args, timeout=timeout)

    return run


def _env_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(map(str, value))
    get_secret_value = getattr(value, "get_secret_value", None)
    if callable(get_secret_value):
        return str(get_secret_value())
    return str(value)

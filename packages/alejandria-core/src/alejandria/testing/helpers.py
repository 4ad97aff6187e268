"""Helpers a plugin's tests call directly: ``require``, ``run_cli``, ``source_context``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from alejandria.models import Actor, JsonDict
    from alejandria.plugin_types import SourceContext
    from alejandria.plugins import PluginManager
    from alejandria.settings import Settings


def require(condition: bool, hint: str) -> None:
    """Skip locally when a tool is missing, but fail in CI, where it must be installed."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"missing in CI: {hint}")
    pytest.skip(hint)


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(env: dict[str, str], *args: str | Path, timeout: float = 120) -> CliResult:
    """Run ``alejandria ARGS`` in a subprocess with ``env`` (no stdin, output captured)."""
    done = subprocess.run([sys.executable, "-m", "alejandria.cli.main", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return CliResult(done.returncode, done.stdout, done.stderr)


def source_context(plugins: PluginManager, settings: Settings, *,
                   options: JsonDict | None = None, credentials: JsonDict | None = None,
                   actor: Actor | None = None) -> SourceContext:
    """A ``SourceContext`` as a sync builds one (every plugin's settings read from the
    environment now), to test a source's ``resolve``/``fetch`` without the pipeline.

    ``plugins`` and ``settings``: the ``plugin_manager`` and ``alejandria_settings`` fixtures,
    or ``archive.plugins`` and ``archive.settings``.
    """
    from alejandria.plugin_types import SourceContext
    from alejandria.plugins.settings import load_plugin_settings

    return SourceContext(settings=settings, credentials=credentials, options=dict(options or {}),
                         actor=actor,
                         plugin_settings=load_plugin_settings(plugins.settings_specs().values()))

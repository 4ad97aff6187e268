"""The registry: every plugin's specs, collected from the ``register_*`` hooks once.

Built when the archive opens (``PluginManager.validate``) and again only when the set of
plugins changes, so a search does not call ``register_search_backends`` and a duplicate name or
a malformed spec is an error at start-up, naming the plugins and packages involved, not at the
first sync that happens to look the name up. A hook that raises is isolated: its plugin is
listed with the error (``alejandria plugins``) and the other plugins go on working.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

from alejandria.errors import DuplicatePluginName, PluginError
from alejandria.plugin_types import (
    EmbedderSpec,
    ExtractorSpec,
    HealthCheckSpec,
    JobTypeSpec,
    MigrationSpec,
    PluginSettings,
    ProcessorSpec,
    SearchBackendSpec,
    SettingsSpec,
    SourceSpec,
    TranscriberSpec,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpecKind:
    """One ``register_*`` hook: what its specs are called and their type."""

    hook: str
    label: str
    spec_type: type[Any]


KINDS = (
    SpecKind("register_sources", "source", SourceSpec),
    SpecKind("register_processors", "processor", ProcessorSpec),
    SpecKind("register_search_backends", "search backend", SearchBackendSpec),
    SpecKind("register_embedders", "embedder", EmbedderSpec),
    SpecKind("register_transcribers", "transcriber", TranscriberSpec),
    SpecKind("register_migrations", "migration branch", MigrationSpec),
    SpecKind("register_settings", "settings", SettingsSpec),
    SpecKind("register_extractors", "extractor", ExtractorSpec),
    SpecKind("register_job_types", "job type", JobTypeSpec),
    SpecKind("register_health_checks", "health check", HealthCheckSpec),
)

#: ``(plugin name, specs or the error the hook raised)`` for every implementation of a hook,
#: in registration order.
HookResults = Callable[[str], Iterable[tuple[str, list[Any] | Exception]]]
#: ``describe(plugin name)``: "plugin 'x' from package y", for error messages.
Describe = Callable[[str], str]


class Registry:
    """The specs of every registered plugin, by kind and name, each stamped with its plugin."""

    def __init__(self, tables: dict[str, dict[str, Any]], broken: dict[str, str]) -> None:
        self._tables = tables
        #: plugin name → "hook: error" for hooks that raised while the registry was built
        self.broken = broken

    @classmethod
    def build(cls, results: HookResults, describe: Describe) -> Registry:
        """Call each ``register_*`` hook once; validate every spec and every name."""
        tables: dict[str, dict[str, Any]] = {}
        broken: dict[str, str] = {}
        for kind in KINDS:
            table: dict[str, Any] = {}
            for plugin, specs in results(kind.hook):
                if isinstance(specs, Exception):
                    log.warning("plugin %s failed in %s: %s", plugin, kind.hook, specs)
                    broken.setdefault(plugin, f"{kind.hook}: {specs}")
                    continue
                for spec in specs:
                    _check_spec(kind, spec, describe(plugin))
                    if spec.name in table:
                        raise DuplicatePluginName(kind.label, spec.name,
                                                  describe(table[spec.name].plugin),
                                                  describe(plugin))
                    table[spec.name] = replace(spec, plugin=plugin)
            tables[kind.hook] = table
        return cls(tables, broken)

    def table(self, hook: str) -> dict[str, Any]:
        """The specs one ``register_*`` hook registered, by name (a copy)."""
        return dict(self._tables[hook])


def _check_spec(kind: SpecKind, spec: object, plugin: str) -> None:
    """Refuse a spec the host could not use, naming the plugin and what is wrong with it."""
    if not isinstance(spec, kind.spec_type):
        raise PluginError(f"{plugin}: {kind.hook} returned {spec!r}, not a "
                          f"{kind.spec_type.__name__}")
    name = getattr(spec, "name", None)
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise PluginError(f"{plugin}: a {kind.spec_type.__name__} needs a name without "
                          f"surrounding spaces, not {name!r}")
    for spec_field in fields(spec):
        value = getattr(spec, spec_field.name)
        if spec_field.name in ("factory", "function", "check") and not callable(value):
            raise PluginError(f"{plugin}: {kind.spec_type.__name__} {name!r} has a "
                              f"{spec_field.name} that is not callable: {value!r}")
    if isinstance(spec, SettingsSpec) and not (isinstance(spec.model, type)
                                               and issubclass(spec.model, PluginSettings)):
        raise PluginError(f"{plugin}: SettingsSpec {name!r} needs a model that subclasses "
                          f"alejandria.plugin_types.PluginSettings, not {spec.model!r}")

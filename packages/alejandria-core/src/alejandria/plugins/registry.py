"""The registry: every plugin's specs, collected from the ``register_*`` hooks once.

Built when the archive opens (``PluginManager.validate``) and again only when the set of
plugins changes, so a search does not call ``register_search_backends`` and a duplicate name or
a malformed spec is found at start-up, naming the plugins and packages involved, not at the
first sync that happens to look the name up. A plugin whose hook raises, whose spec is
malformed or whose name another plugin took first is left out whole: it is listed with the
reason (``alejandria plugins`` exits non-zero, ``doctor`` fails it) and the other plugins go
on working.
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
    MediaStoreSpec,
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
    SpecKind("register_media_stores", "media store", MediaStoreSpec),
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
        #: plugin name → why it was left out: a hook that raised, a malformed spec, a name
        #: another plugin registered first, a hook that does not exist
        self.broken = broken

    @classmethod
    def build(cls, results: HookResults, describe: Describe,
              broken: dict[str, str] | None = None) -> Registry:
        """Call each ``register_*`` hook once; validate every spec and every name.

        A plugin with anything wrong is left out whole (none of its specs is registered) and
        recorded in ``broken`` with the reason and the fix, so the other plugins work and
        ``alejandria plugins``/``doctor`` name it. Of two plugins registering one name, core
        keeps its own names, then a plugin named like the name keeps it (the ``pdf`` plugin
        its ``pdf`` source), else the one registered first. ``broken`` may
        come with plugins already left out (unknown hooks, see ``PluginManager``).
        """
        broken = dict(broken or {})
        collected = {kind.hook: list(results(kind.hook)) for kind in KINDS}
        for kind in KINDS:
            for plugin, specs in collected[kind.hook]:
                if plugin in broken:
                    continue
                if isinstance(specs, PluginError):
                    broken[plugin] = str(specs)
                    continue
                if isinstance(specs, Exception):
                    broken[plugin] = f"{kind.hook} raised {type(specs).__name__}: {specs}"
                    continue
                try:
                    for spec in specs:
                        _check_spec(kind, spec, describe(plugin))
                except PluginError as exc:
                    broken[plugin] = str(exc)
        while True:  # a plugin left out for a clash frees its other names: build again
            tables, clashes = _tables(collected, broken, describe)
            if not clashes:
                break
            broken.update(clashes)
        for plugin, reason in broken.items():
            log.warning("plugin %s left out: %s", plugin, reason)
        return cls(tables, broken)

    def table(self, hook: str) -> dict[str, Any]:
        """The specs one ``register_*`` hook registered, by name (a copy)."""
        return dict(self._tables[hook])


#: Core's built-ins: their names are never taken over.
CORE = "core"


def _owns(plugin: str, name: str) -> bool:
    """A plugin named like what it registers (the ``pdf`` plugin's ``pdf`` source) owns the
    name: another plugin taking it is the one left out, whichever loaded first."""
    return plugin == name


def _tables(collected: dict[str, list[tuple[str, list[Any] | Exception]]],
            broken: dict[str, str], describe: Describe,
            ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The tables of the plugins not broken, and the plugins that take a name registered
    before them (with the message naming both)."""
    tables: dict[str, dict[str, Any]] = {}
    clashes: dict[str, str] = {}
    for kind in KINDS:
        table: dict[str, Any] = {}
        for plugin, specs in collected[kind.hook]:
            if plugin in broken or plugin in clashes or isinstance(specs, Exception):
                continue
            for spec in specs:
                if spec.name in table:
                    first = table[spec.name].plugin
                    message = str(DuplicatePluginName(kind.label, spec.name, describe(first),
                                                      describe(plugin)))
                    if _owns(plugin, spec.name) and not _owns(first, spec.name) and \
                            first != CORE:
                        clashes.setdefault(first, message)  # the name's owner keeps it
                        table[spec.name] = replace(spec, plugin=plugin)
                    else:
                        clashes.setdefault(plugin, message)
                    continue
                table[spec.name] = replace(spec, plugin=plugin)
        tables[kind.hook] = table
    return tables, clashes


def _check_spec(kind: SpecKind, spec: object, plugin: str) -> None:
    """Refuse a spec the host could not use, naming the plugin and what is wrong with it."""
    if not isinstance(spec, kind.spec_type):
        shown = repr(spec)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise PluginError(f"{plugin}: {kind.hook} returned a {type(spec).__name__} "
                          f"({shown}), expected a {kind.spec_type.__name__} "
                          "(from alejandria.plugin_types)")
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

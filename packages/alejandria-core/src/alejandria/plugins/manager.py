"""The plugin manager: loads the ``alejandria`` entry points lazily and isolates failures.

Nothing here runs at import time. The rest of the code calls the typed getters
(``sources()``, ``search_backends()``, ...), never ``pm.hook``; they read the ``Registry``,
built once from the ``register_*`` hooks (``validate`` builds it at start-up) and again only
when a plugin is registered or unregistered.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, TypeVar

import pluggy

from alejandria import hookspecs
from alejandria.errors import UnknownName
from alejandria.plugin_types import (
    EmbedderSpec,
    ExtractorSpec,
    HealthCheckSpec,
    JobTypeSpec,
    MigrationSpec,
    ProcessorSpec,
    SearchBackendSpec,
    SettingsSpec,
    SourceSpec,
    TranscriberSpec,
)
from alejandria.plugins.registry import Registry

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "alejandria"

SpecT = TypeVar("SpecT", SourceSpec, ProcessorSpec, SearchBackendSpec, EmbedderSpec,
                TranscriberSpec, MigrationSpec, JobTypeSpec)


@dataclass
class PluginInfo:
    """What ``alejandria plugins`` shows for one plugin."""

    name: str
    package: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    builtin: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "package": self.package,
            "version": self.version,
            "hooks": self.hooks,
            "error": self.error,
            "builtin": self.builtin,
        }


class PluginManager:
    """A pluggy manager with error isolation, provenance and typed getters."""

    def __init__(self) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._info: dict[str, PluginInfo] = {}
        self._registry: Registry | None = None

    # -- loading -------------------------------------------------------------------------

    @property
    def hook(self) -> Any:
        """pluggy's hook relay, for packages that call hooks of their own (``add_hookspecs``)."""
        return self._pm.hook

    def add_hookspecs(self, module_or_class: ModuleType | type) -> None:
        """Declare more hooks: a package with its own extension points (the web app's
        routes and menu links) adds its hookspecs here, then calls them through ``hook``."""
        self._pm.add_hookspecs(module_or_class)
        self._changed()

    def register(self, plugin: object, name: str, *, package: str | None = None,
                 version: str | None = None, builtin: bool = False) -> None:
        """Register a module or object of hookimpls under ``name``."""
        self._pm.register(plugin, name=name)
        hooks = sorted(caller.name for caller in self._pm.get_hookcallers(plugin) or [])
        self._info[name] = PluginInfo(name=name, package=package, version=version, hooks=hooks,
                                      builtin=builtin)
        self._changed()

    def unregister(self, name: str) -> None:
        self._pm.unregister(name=name)
        self._info.pop(name, None)
        self._changed()

    def load_entrypoints(self, *, disabled: Iterable[str] = (),
                         only: Sequence[str] | None = None) -> None:
        """Import each ``alejandria`` entry point; a failure is recorded, not raised."""
        disabled_names = set(disabled)
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            name = entry_point.name
            if name in disabled_names or (only is not None and name not in only):
                continue
            dist = entry_point.dist
            package = dist.name if dist else None
            version = dist.version if dist else None
            if name in self._info:
                other = self._info[name].package or name
                self._info[f"{name} ({package})"] = PluginInfo(
                    name=name, package=package, version=version,
                    error=f"plugin name {name!r} is already used by {other}",
                )
                continue
            try:
                module = entry_point.load()
                self.register(module, name, package=package, version=version)
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the app
                summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                log.warning("plugin %s (%s) failed to load: %s", name, package, summary)
                self._info[name] = PluginInfo(name=name, package=package, version=version,
                                              error=summary)

    def plugins(self) -> list[PluginInfo]:
        """Every plugin, core's built-ins first, with the error of any hook that raised."""
        registry = self._registry
        if registry is None:
            try:
                registry = self.registry
            except Exception:  # noqa: BLE001 - listed below; validate() raises it
                registry = None
        for name, error in (registry.broken if registry else {}).items():
            info = self._info.get(name)
            if info is not None and info.error is None:
                info.error = error
        return sorted(self._info.values(), key=lambda info: (not info.builtin, info.name))

    # -- the registry --------------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        """Every plugin's specs, built on first use and after each change of plugins."""
        if self._registry is None:
            self._registry = Registry.build(self._hook_results, self.describe)
        return self._registry

    def validate(self) -> None:
        """Build the registry now: a duplicate name or a malformed spec raises here, at
        start-up (``Archive.open``), with the plugins and packages involved."""
        _ = self.registry

    def _changed(self) -> None:
        self._registry = None

    def _hook_results(self, hook_name: str) -> Iterator[tuple[str, list[Any] | Exception]]:
        caller = getattr(self._pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):  # registration order
            try:
                yield impl.plugin_name, list(impl.function() or [])
            except Exception as exc:  # noqa: BLE001 - isolated: see Registry.build
                yield impl.plugin_name, exc

    def describe(self, plugin_name: str) -> str:
        """How errors name a plugin: with its package when it came from one."""
        info = self._info.get(plugin_name)
        if info and info.package:
            return f"plugin {plugin_name!r} from package {info.package}"
        return f"plugin {plugin_name!r}"

    # -- typed getters -------------------------------------------------------------------

    def sources(self) -> dict[str, SourceSpec]:
        return self.registry.table("register_sources")

    def processors(self) -> dict[str, ProcessorSpec]:
        return self.registry.table("register_processors")

    def search_backends(self) -> dict[str, SearchBackendSpec]:
        return self.registry.table("register_search_backends")

    def embedders(self) -> dict[str, EmbedderSpec]:
        return self.registry.table("register_embedders")

    def transcribers(self) -> dict[str, TranscriberSpec]:
        return self.registry.table("register_transcribers")

    def migrations(self) -> dict[str, MigrationSpec]:
        return self.registry.table("register_migrations")

    def settings_specs(self) -> dict[str, SettingsSpec]:
        return self.registry.table("register_settings")

    def extractors(self) -> dict[str, ExtractorSpec]:
        return self.registry.table("register_extractors")

    def job_types(self) -> dict[str, JobTypeSpec]:
        return self.registry.table("register_job_types")

    def health_checks(self) -> dict[str, HealthCheckSpec]:
        return self.registry.table("register_health_checks")

    def source(self, name: str) -> SourceSpec:
        return _pick(self.sources(), "source", name)

    def processor(self, name: str) -> ProcessorSpec:
        return _pick(self.processors(), "processor", name)

    def transcriber(self, name: str) -> TranscriberSpec:
        return _pick(self.transcribers(), "transcriber", name)

    def search_backend(self, name: str) -> SearchBackendSpec:
        return _pick(self.search_backends(), "search mode", name)

    def job_type(self, name: str) -> JobTypeSpec:
        return _pick(self.job_types(), "job type", name)

    def source_for_url(self, url: str) -> SourceSpec | None:
        """The source whose ``url_patterns`` match ``url`` (the first registered), or None."""
        for spec in self.sources().values():
            if any(re.fullmatch(pattern, url) for pattern in spec.url_patterns):
                return spec
        return None

    # -- events --------------------------------------------------------------------------

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation of an event hook; log, never raise, a plugin's failure."""
        caller = getattr(self._pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            try:
                impl.function(**args)
            except Exception:
                log.exception("plugin %s failed handling %s", impl.plugin_name, hook_name)

    def register_commands(self, cli: Any) -> None:
        self.notify("register_commands", cli=cli)


def _pick(found: dict[str, SpecT], kind: str, name: str) -> SpecT:
    try:
        return found[name]
    except KeyError:
        raise UnknownName(kind, name, list(found)) from None

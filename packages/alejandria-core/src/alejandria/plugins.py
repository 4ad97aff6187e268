"""The plugin manager: loads the ``alejandria`` entry points lazily and isolates failures.

Nothing here runs at import time. ``build_plugin_manager`` makes a fresh manager (tests use it
with ``load_entrypoints=False``); ``get_plugin_manager`` caches one per process. The rest of the
code calls the typed getters (``sources()``, ``search_backends()``, ...), never ``pm.hook``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import metadata
from types import ModuleType
from typing import Any, TypeVar

import pluggy

from alejandria import hookspecs
from alejandria.errors import DuplicatePluginName, UnknownName
from alejandria.plugin_types import (
    EmbedderSpec,
    MigrationSpec,
    ProcessorSpec,
    SearchBackendSpec,
    SourceSpec,
    TranscriberSpec,
)

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "alejandria"
BUILTIN_PLUGIN = "core"

SpecT = TypeVar("SpecT", SourceSpec, ProcessorSpec, SearchBackendSpec, EmbedderSpec,
                TranscriberSpec, MigrationSpec)

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

    # -- loading -------------------------------------------------------------------------

    @property
    def hook(self) -> Any:
        return self._pm.hook

    def register(self, plugin: object, name: str, *, package: str | None = None,
                 version: str | None = None, builtin: bool = False) -> None:
        """Register a module or object of hookimpls under ``name``."""
        self._pm.register(plugin, name=name)
        hooks = sorted(caller.name for caller in self._pm.get_hookcallers(plugin) or [])
        self._info[name] = PluginInfo(name=name, package=package, version=version, hooks=hooks,
                                      builtin=builtin)

    def unregister(self, name: str) -> None:
        self._pm.unregister(name=name)
        self._info.pop(name, None)

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
        return sorted(self._info.values(), key=lambda info: (not info.builtin, info.name))

    # -- typed getters -------------------------------------------------------------------

    def _collect(self, hook_name: str, kind: str) -> list[tuple[str, list[Any]]]:
        results: list[tuple[str, list[Any]]] = []
        caller = getattr(self._pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):  # registration order
            try:
                specs = impl.function()
            except Exception as exc:  # noqa: BLE001
                log.warning("plugin %s failed in %s: %s", impl.plugin_name, hook_name, exc)
                info = self._info.get(impl.plugin_name)
                if info is not None and info.error is None:
                    info.error = f"{hook_name}: {exc}"
                continue
            results.append((impl.plugin_name, list(specs or [])))
        return results

    def _by_name(self, hook_name: str, kind: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for plugin_name, specs in self._collect(hook_name, kind):
            for spec in specs:
                stamped = replace(spec, plugin=plugin_name)
                if spec.name in found:
                    raise DuplicatePluginName(kind, spec.name,
                                              self._describe(found[spec.name].plugin),
                                              self._describe(plugin_name))
                found[spec.name] = stamped
        return found

    def _describe(self, plugin_name: str) -> str:
        info = self._info.get(plugin_name)
        if info and info.package:
            return f"plugin {plugin_name!r} from package {info.package}"
        return f"plugin {plugin_name!r}"

    def sources(self) -> dict[str, SourceSpec]:
        return self._by_name("register_sources", "source")

    def processors(self) -> dict[str, ProcessorSpec]:
        return self._by_name("register_processors", "processor")

    def search_backends(self) -> dict[str, SearchBackendSpec]:
        return self._by_name("register_search_backends", "search backend")

    def embedders(self) -> dict[str, EmbedderSpec]:
        return self._by_name("register_embedders", "embedder")

    def transcribers(self) -> dict[str, TranscriberSpec]:
        return self._by_name("register_transcribers", "transcriber")

    def migrations(self) -> dict[str, MigrationSpec]:
        return self._by_name("register_migrations", "migration branch")

    def source(self, name: str) -> SourceSpec:
        return _pick(self.sources(), "source", name)

    def processor(self, name: str) -> ProcessorSpec:
        return _pick(self.processors(), "processor", name)

    def transcriber(self, name: str) -> TranscriberSpec:
        return _pick(self.transcribers(), "transcriber", name)

    def search_backend(self, name: str) -> SearchBackendSpec:
        return _pick(self.search_backends(), "search mode", name)

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

def _builtin_modules() -> list[tuple[str, ModuleType]]:
    from alejandria import builtins

    return [(BUILTIN_PLUGIN, builtins)]

def build_plugin_manager(*, load_entrypoints: bool = True, disabled: Iterable[str] = (),
                         only: Sequence[str] | None = None,
                         extra: Iterable[tuple[str, object]] = ()) -> PluginManager:
    """A fresh manager with core's built-ins, then installed plugins (unless told not to)."""
    manager = PluginManager()
    version = _core_version()
    for name, module in _builtin_modules():
        manager.register(module, name, package="alejandria-core", version=version, builtin=True)
    if load_entrypoints:
        manager.load_entrypoints(disabled=disabled, only=only)
    for name, plugin in extra:
        manager.register(plugin, name)
    return manager

@lru_cache(maxsize=8)
def get_plugin_manager(load_entrypoints: bool = True,
                       disabled: tuple[str, ...] = ()) -> PluginManager:
    """The process-wide manager, built on first use (never at import)."""
    return build_plugin_manager(load_entrypoints=load_entrypoints, disabled=disabled)

def _core_version() -> str | None:
    try:
        return metadata.version("alejandria-core")
    except metadata.PackageNotFoundError:
        return None

HookCallable = Callable[..., Any]

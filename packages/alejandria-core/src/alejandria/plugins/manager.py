"""The plugin manager: loads the ``alejandria`` entry points lazily and isolates failures.

Nothing here runs at import time. The rest of the code calls the typed getters
(``sources()``, ``search_backends()``, ...), never ``pm.hook``; they read the ``Registry``,
built once from the ``register_*`` hooks (``validate`` builds it at start-up) and again only
when a plugin is registered or unregistered.
"""

from __future__ import annotations

import difflib
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
from alejandria.errors import PluginError, UnknownName
from alejandria.plugin_types import (
    EmbedderSpec,
    ExtractorSpec,
    HealthCheckSpec,
    JobTypeSpec,
    MediaStoreSpec,
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
                TranscriberSpec, MigrationSpec, JobTypeSpec, MediaStoreSpec)


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
            self._registry = Registry.build(self._hook_results, self.describe,
                                            broken=self._unknown_hooks())
        return self._registry

    def _unknown_hooks(self) -> dict[str, str]:
        """Plugins implementing a hook nobody declared (a misspelt ``register_source``):
        pluggy would call it never, silently. Each is left out with a did-you-mean hint, as
        pytest refuses an unknown ``pytest_*`` hook. ``optionalhook=True`` implementations
        (hooks of a package that may not be installed) are allowed."""
        known = [name for name, caller in vars(self._pm.hook).items()
                 if getattr(caller, "spec", None) is not None]
        found: dict[str, str] = {}
        for name, caller in sorted(vars(self._pm.hook).items()):
            if getattr(caller, "spec", True) is not None:
                continue
            for impl in caller.get_hookimpls():
                if impl.optionalhook or impl.plugin_name in found:
                    continue
                close = difflib.get_close_matches(name, known, n=1)
                hint = (f"did you mean {close[0]!r}?" if close else
                        "see the hooks in docs/plugins.md")
                found[impl.plugin_name] = (
                    f"implements {name!r}, which is not an Alejandria hook: {hint} "
                    "(or mark it @hookimpl(optionalhook=True) if it belongs to another "
                    "package's hooks)")
        return found

    def broken(self) -> dict[str, str]:
        """Plugins left out, with why: failed imports, hooks that raised, malformed specs,
        names taken first by another plugin, unknown hooks."""
        found = {name: info.error for name, info in self._info.items() if info.error}
        found.update(self.registry.broken)
        return found

    def validate(self) -> None:
        """Build the registry now, at start-up (``Archive.open``): a plugin with a duplicate
        name, a malformed spec or an unknown hook is left out and logged, naming the plugins
        and packages involved; the others work (``broken`` lists what was left out)."""
        _ = self.registry

    def _changed(self) -> None:
        self._registry = None

    def _hook_results(self, hook_name: str) -> Iterator[tuple[str, list[Any] | Exception]]:
        caller = getattr(self._pm.hook, hook_name)
        order = {name: index for index, name in enumerate(self._info)}
        # registration order (core's built-ins first), which decides who keeps a name;
        # pluggy's own order is the reverse, and tryfirst/trylast would reorder it
        impls = sorted(caller.get_hookimpls(),
                       key=lambda impl: order.get(impl.plugin_name, len(order)))
        for impl in impls:
            try:
                returned = impl.function()
            except Exception as exc:  # noqa: BLE001 - isolated: see Registry.build
                yield impl.plugin_name, exc
                continue
            if returned is None:
                yield impl.plugin_name, []
            elif isinstance(returned, (list, tuple)):
                yield impl.plugin_name, list(returned)
            else:
                yield impl.plugin_name, PluginError(
                    f"{self.describe(impl.plugin_name)}: {hook_name} returned a "
                    f"{type(returned).__name__}, expected a list (return [spec], not spec)")

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

    def media_stores(self) -> dict[str, MediaStoreSpec]:
        return self.registry.table("register_media_stores")

    def media_store(self, scheme: str) -> MediaStoreSpec:
        """The backend for the media URLs of ``scheme`` (``file``, ``s3``)."""
        return _pick(self.media_stores(), "media store", scheme)

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
        left_out = self.registry.broken
        for impl in reversed(caller.get_hookimpls()):
            if impl.plugin_name in left_out:
                continue
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

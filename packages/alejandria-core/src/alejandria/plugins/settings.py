"""Reading the plugins' own settings (``register_settings``) once, when the archive opens."""

from __future__ import annotations

from collections.abc import Iterable

from alejandria.errors import ConfigurationError
from alejandria.plugin_types import PluginSettings, SettingsSpec, settings_error


def env_prefix(spec: SettingsSpec) -> str:
    """``ALEJANDRIA_PATREON_`` for the settings named ``patreon``."""
    return f"ALEJANDRIA_{spec.name.upper().replace('-', '_')}_"


def load_plugin_settings(
        specs: Iterable[SettingsSpec]) -> dict[type[PluginSettings], PluginSettings]:
    """Each spec's model, read from its ``ALEJANDRIA_<NAME>_*`` environment variables.

    A value the model refuses is a ``ConfigurationError`` naming the variable, so a typo in a
    deployment's environment stops the archive from opening instead of surfacing mid-sync.
    """
    loaded: dict[type[PluginSettings], PluginSettings] = {}
    for spec in specs:
        prefix = env_prefix(spec)
        try:
            loaded[spec.model] = spec.model(_env_prefix=prefix)
        except ValueError as exc:
            raise ConfigurationError(settings_error(f"{spec.name} settings", exc,
                                                    env_prefix=prefix)) from None
    return loaded

"""The plugin registry: loading the ``alejandria`` entry points (``manager``) and the spec
tables built once from their hooks and validated then (``registry``)."""

from alejandria.plugins.manager import ENTRY_POINT_GROUP, PluginInfo, PluginManager

__all__ = ["ENTRY_POINT_GROUP", "PluginInfo", "PluginManager"]

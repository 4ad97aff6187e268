"""Alejandria: a self-hosted archive for content you paid for.

``from alejandria import hookimpl`` to write a plugin; ``from alejandria import Archive`` to use
the Python API. ``Archive`` is imported lazily so that ``alejandria --help`` and plugin modules
stay fast to import.
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

from alejandria.hookspecs import hookimpl

if TYPE_CHECKING:
    from alejandria.api import Archive

try:
    __version__ = metadata.version("alejandria-core")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["Archive", "__version__", "hookimpl"]


def __getattr__(name: str) -> Any:
    if name == "Archive":
        from alejandria.api import Archive

        return Archive
    raise AttributeError(f"module 'alejandria' has no attribute {name!r}")

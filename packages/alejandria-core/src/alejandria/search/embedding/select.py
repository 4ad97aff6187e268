"""Which embedder serves this archive: the configured one, built once per process.

``ALEJANDRIA_EMBEDDER=auto`` (the default) takes the first bundled local model that is
installed (``LOCAL_PREFERENCE``, best first by our evaluation); ``none`` turns semantic search
off; any other value names a registered embedder.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from alejandria.models import Availability

if TYPE_CHECKING:
    from alejandria.plugin_types import Embedder, Plugins
    from alejandria.settings import Settings

#: Local embedders ``auto`` tries, best first (see bench/search_eval for the numbers).
LOCAL_PREFERENCE = ("use-multilingual", "e5-small")
NONE_VALUES = frozenset({"", "none", "off"})

_cache: dict[tuple[object, ...], Embedder] = {}
_cache_lock = threading.Lock()


def embedder_name(settings: Settings, plugins: Plugins) -> str | None:
    """The registered embedder the settings ask for, or None when none is wanted or found."""
    wanted = settings.embedder.strip().lower()
    if wanted in NONE_VALUES:
        return None
    specs = plugins.embedders()
    if wanted != "auto":
        return wanted if wanted in specs else None
    for name in LOCAL_PREFERENCE:
        if name in specs and specs[name].factory(settings).availability().available:
            return name
    return None


def _why_none(settings: Settings, plugins: Plugins) -> str:
    wanted = settings.embedder.strip().lower()
    if wanted in NONE_VALUES:
        return "no embedder is configured (ALEJANDRIA_EMBEDDER=none)"
    if wanted == "auto":
        return ("no local embedder is installed: pip install 'alejandria-core[embed]', or set "
                "ALEJANDRIA_EMBEDDER=openai-api with ALEJANDRIA_OPENAI_BASE_URL")
    known = ", ".join(sorted(plugins.embedders())) or "none"
    return f"unknown embedder {wanted!r} in ALEJANDRIA_EMBEDDER (installed: {known})"


def load_embedder(settings: Settings, plugins: Plugins,
                  name: str | None = None) -> tuple[Embedder | None, Availability]:
    """The embedder ``name`` (default: the configured one), shared per process, and whether it
    can run here."""
    name = name or embedder_name(settings, plugins)
    if name is None:
        return None, Availability.no(_why_none(settings, plugins))
    key = (name, settings.embed_model, settings.embed_dimensions, settings.openai_base_url,
           settings.openai_api_key)
    with _cache_lock:
        embedder = _cache.get(key)
        if embedder is None:
            spec = plugins.embedders().get(name)
            if spec is None:
                return None, Availability.no(f"the embedder {name!r} is not installed")
            embedder = spec.factory(settings)
            availability = embedder.availability()
            if not availability.available:
                return None, availability
            _cache[key] = embedder
    return embedder, Availability.yes()

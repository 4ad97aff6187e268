"""The importers' source specs, registered by core's ``register_sources`` like ``files``.

Kept apart from ``sources`` so that registering them imports nothing but this module."""

from __future__ import annotations

from alejandria.plugin_types import Source, SourceContext, SourceSpec


def _legacy(context: SourceContext) -> Source:
    from alejandria.imports.sources import LegacySource

    return LegacySource(context)


def _gallery_dl(context: SourceContext) -> Source:
    from alejandria.imports.sources import GalleryDlSource

    return GalleryDlSource(context)


def import_sources() -> list[SourceSpec]:
    """``legacy`` and ``gallery-dl``: ``alejandria import legacy|gallery-dl`` runs them."""
    return [
        SourceSpec(name="legacy", factory=_legacy,
                   description="Import the old system's JSON files (creators.json, "
                               "*_posts_detailed.json): alejandria import legacy"),
        SourceSpec(name="gallery-dl", factory=_gallery_dl,
                   description="Import a gallery-dl download tree with its --write-metadata "
                               "sidecars: alejandria import gallery-dl"),
    ]

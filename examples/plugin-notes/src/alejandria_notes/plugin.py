"""Registers the ``notes`` source.

Every ``alejandria`` command imports this module (through the entry point), so it stays cheap:
the source module is imported by ``create_source``, only when a ``notes`` sync actually runs.
"""

from __future__ import annotations

from alejandria import hookimpl
from alejandria.plugin_types import Source, SourceContext, SourceSpec


def create_source(context: SourceContext) -> Source:
    """Build the source for one sync (the ``SourceSpec.factory``)."""
    from alejandria_notes.source import NotesSource

    return NotesSource(context)


@hookimpl
def register_sources() -> list[SourceSpec]:
    return [
        SourceSpec(
            name="notes",
            factory=create_source,
            description="Markdown and text notes in local folders, one post per file",
        )
    ]

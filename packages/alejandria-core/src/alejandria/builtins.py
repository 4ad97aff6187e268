"""Core's built-in plugin: registered through the same hooks as any third-party plugin."""

from __future__ import annotations

from pathlib import Path

from alejandria.hookspecs import hookimpl
from alejandria.plugin_types import MigrationSpec, SearchBackendSpec, SourceSpec


@hookimpl(trylast=True)
def register_sources() -> list[SourceSpec]:
    from alejandria.sources.files import FilesSource

    return [
        SourceSpec(
            name="files", factory=FilesSource, capabilities=frozenset({"files"}),
            description="Media files you already have: one post per file, folder as collection",
        )
    ]


@hookimpl(trylast=True)
def register_search_backends() -> list[SearchBackendSpec]:
    from alejandria.search.fulltext import FullTextBackend

    return [
        SearchBackendSpec(
            name="fulltext", kind="fulltext", factory=FullTextBackend,
            description="Weighted, accent-insensitive Postgres full-text search",
        )
    ]


@hookimpl(trylast=True)
def register_migrations() -> list[MigrationSpec]:
    return [MigrationSpec(name="core", path=Path(__file__).parent / "db/migrations/versions")]

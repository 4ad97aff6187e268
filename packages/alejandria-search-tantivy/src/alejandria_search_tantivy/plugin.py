"""The bm25 backend as an Alejandria plugin: the backend, its settings, its tables, its
commands, its health check, and catching the index up after each sync where it serves."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from alejandria import hookimpl
from alejandria.plugin_types import (
    HealthCheckSpec,
    HealthContext,
    HealthResult,
    MigrationSpec,
    SearchBackendSpec,
    SettingsSpec,
)

if TYPE_CHECKING:
    import click

    from alejandria.api import Archive
    from alejandria.models import SyncReport

log = logging.getLogger(__name__)


@hookimpl
def register_search_backends() -> list[SearchBackendSpec]:
    from alejandria_search_tantivy.backend import Bm25Backend

    return [SearchBackendSpec(
        name="bm25", factory=Bm25Backend,
        description="BM25 ranking on a Tantivy index of the full-text vectors "
                    "(ALEJANDRIA_FULLTEXT_BACKEND=bm25 makes it the full-text search)")]


@hookimpl
def register_settings() -> list[SettingsSpec]:
    from alejandria_search_tantivy.settings import Bm25Settings

    return [SettingsSpec(name="bm25", model=Bm25Settings,
                         description="the BM25 full-text index: where it lives, catching up")]


@hookimpl
def register_migrations() -> list[MigrationSpec]:
    return [MigrationSpec(name="bm25", path=Path(__file__).parent / "migrations" / "versions")]


@hookimpl
def register_commands(cli: click.Group) -> None:
    from alejandria_search_tantivy.cli import bm25

    cli.add_command(bm25)


@hookimpl
def register_health_checks() -> list[HealthCheckSpec]:
    return [HealthCheckSpec(name="bm25", check=_health)]


@hookimpl
def sync_finished(archive: Archive, report: SyncReport) -> None:
    """Where bm25 serves full-text search, index what the sync wrote before anyone asks."""
    if archive.settings.fulltext_backend != "bm25":
        return
    from alejandria_search_tantivy.service import catch_up

    result = catch_up(archive)
    if result.busy:
        log.info("the BM25 index is being caught up by another process")


def _health(context: HealthContext) -> list[HealthResult]:
    from alejandria_search_tantivy.service import health

    return health(context)

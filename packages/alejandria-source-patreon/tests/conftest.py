"""A local Patreon per test, and an archive whose patreon source talks to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from alejandria.api import Archive
from alejandria.plugins import PluginManager
from alejandria.settings import Settings
from alejandria.testing import source_context
from alejandria_source_patreon.source import PatreonSource
from alejandria_source_patreon.testing import FakeCampaign, PatreonFixture, demo_campaign


@pytest.fixture
def site() -> Iterator[PatreonFixture]:
    """A Patreon with one creator (``demo_campaign``: every kind of post), 4 posts a page."""
    with PatreonFixture(page_size=4) as fixture:
        fixture.add_campaign(demo_campaign())
        yield fixture


@pytest.fixture
def campaign(site: PatreonFixture) -> FakeCampaign:
    return site.campaigns["5001"]


@pytest.fixture(autouse=True)
def patreon_env(site: PatreonFixture, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The source's settings for the fixture: its URL, its cookie, no politeness delays."""
    env = {
        "ALEJANDRIA_PATREON_BASE_URL": site.base_url,
        "ALEJANDRIA_PATREON_SESSION_ID": site.session_id,
        "ALEJANDRIA_PATREON_REQUESTS_PER_SECOND": "0",
        "ALEJANDRIA_PATREON_BACKOFF_S": "0.01",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ALEJANDRIA_SECRET_KEY", raising=False)
    return env


@pytest.fixture
def archive(alejandria_database_url: str, plugin_manager: PluginManager,
            tmp_path: Path) -> Iterator[Archive]:
    """An archive on a fresh database; media processing, video downloads and embeddings off
    (fast; ``test_media_probes_read_the_served_images`` runs the processors)."""
    settings = Settings(data_dir=tmp_path / "data", database_url=alejandria_database_url,
                        process_media=False, download_embeds=False,
                        **{"embed_after_sync": False})
    with Archive.open(settings=settings, plugins=plugin_manager, migrate=False) as opened:
        yield opened


@pytest.fixture
def make_source(tmp_path: Path, plugin_manager: PluginManager) -> Callable[..., PatreonSource]:
    """The source as a sync builds it (its settings read from the environment now)."""
    def make(credentials: dict[str, Any] | None = None, **options: Any) -> PatreonSource:
        return PatreonSource(source_context(plugin_manager, Settings(data_dir=tmp_path),
                                            options=options, credentials=credentials))

    return make


def rows(archive: Archive, query: str, **params: Any) -> list[Any]:
    with archive.engine.connect() as conn:
        return list(conn.execute(text(query), params).all())


def scalar(archive: Archive, query: str, **params: Any) -> Any:
    with archive.engine.connect() as conn:
        return conn.execute(text(query), params).scalar_one()

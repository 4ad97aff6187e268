"""A local Patreon per test, and an archive whose patreon source talks to it.

``archive``, ``open_archive``, ``alejandria_cli`` and the rest come from the
``alejandria.testing`` pytest plugin; this file only sets the archive's settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from alejandria.testing import PluginManager, Settings, source_context
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
def alejandria_settings_overrides() -> dict[str, Any]:
    """Media processing and video downloads off (fast;
    ``test_media_probes_read_the_served_images`` opens an archive that runs the processors)."""
    return {"process_media": False, "download_embeds": False}


@pytest.fixture
def make_source(plugin_manager: PluginManager,
                alejandria_settings: Settings) -> Callable[..., PatreonSource]:
    """The source as a sync builds it (its settings read from the environment now)."""
    def make(credentials: dict[str, Any] | None = None, **options: Any) -> PatreonSource:
        return PatreonSource(source_context(plugin_manager, alejandria_settings,
                                            options=options, credentials=credentials))

    return make

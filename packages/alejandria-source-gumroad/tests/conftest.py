"""A local Gumroad per test, and an archive whose gumroad source talks to it.

``archive``, ``alejandria_cli`` and the rest come from the ``alejandria.testing`` pytest
plugin; this file only sets the archive's settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from alejandria_source_gumroad.testing import GumroadFixture, demo_library


@pytest.fixture(params=["react", "inertia"])
def site(request: pytest.FixtureRequest) -> Iterator[GumroadFixture]:
    """A Gumroad with ``demo_library`` in each library format (Inertia: 2 cards a page)."""
    with GumroadFixture(format=request.param, page_size=2) as fixture:
        fixture.add(*demo_library())
        yield fixture


@pytest.fixture(autouse=True)
def gumroad_env(site: GumroadFixture, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The source's settings for the fixture: its URL, its cookie, no politeness delays."""
    env = {
        "ALEJANDRIA_GUMROAD_BASE_URL": site.base_url,
        "ALEJANDRIA_GUMROAD_APP_SESSION": site.app_session,
        "ALEJANDRIA_GUMROAD_REQUESTS_PER_SECOND": "0",
        "ALEJANDRIA_GUMROAD_BACKOFF_S": "0.01",
        "ALEJANDRIA_GUMROAD_STAMP_WAIT_S": "0.01",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ALEJANDRIA_SECRET_KEY", raising=False)
    return env


@pytest.fixture
def alejandria_settings_overrides(site: GumroadFixture) -> dict[str, Any]:
    """The signed-URL host and the sellers' host are other loopback ports: allowed like LAN
    hosts would be. Media processing off (fast)."""
    return {"process_media": False, "download_embeds": False,
            "allow_private_hosts": site.other_hosts}

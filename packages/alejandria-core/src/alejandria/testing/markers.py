"""The markers every plugin's test suite gets, and the ones the kit sets by itself.

``-m "not slow and not needs_model"`` is the quick run while working; the full suite before
a push. Registered here for every project that has alejandria-core installed, so
``--strict-markers`` accepts them.
"""

from __future__ import annotations

import pytest

MARKERS = {
    "slow": "takes more than about 2 s; deselect with -m 'not slow'",
    "needs_redis": "needs a Redis server (set by the kit on tests using alejandria_redis_url)",
    "needs_model": "loads a local ML model (Whisper transcription, a local embedder)",
}

#: Fixtures whose use marks a test by itself.
FIXTURE_MARKERS = {"alejandria_redis_url": "needs_redis"}


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = getattr(item, "fixturenames", ())
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in used and item.get_closest_marker(marker) is None:
                item.add_marker(getattr(pytest.mark, marker))

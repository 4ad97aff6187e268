"""What the kit sets up for the whole test session: its markers, and no lingering server.

Commands leave the embedded Postgres running for ``ALEJANDRIA_EMBEDDED_LINGER_S`` after they
exit (``storage.embedded_linger``). In a test session that would leave a server, and its
reaper, behind each test that runs a command on a data dir of its own, for minutes after
pytest has deleted the directory. So the kit sets the linger to 0 for the session (the
process and every subprocess it starts); a test of the linger itself sets it again.
"""

from __future__ import annotations

import os

import pytest

from alejandria.testing import markers

LINGER_ENV = "ALEJANDRIA_EMBEDDED_LINGER_S"


def pytest_configure(config: pytest.Config) -> None:
    markers.pytest_configure(config)
    os.environ[LINGER_ENV] = "0"

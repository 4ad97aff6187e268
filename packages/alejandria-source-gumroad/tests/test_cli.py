"""The ``alejandria`` command as a user runs it, in a subprocess, against the local Gumroad:
``alejandria sync gumroad`` with no target archives the whole library."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from alejandria.testing import CliResult
from alejandria_source_gumroad.testing import GumroadFixture

Cli = Callable[..., CliResult]


@pytest.mark.parametrize("site", ["react"], indirect=True)
def test_sync_with_no_target_archives_the_whole_library(alejandria_cli: Cli) -> None:
    result = alejandria_cli("sync", "gumroad", "--json")

    assert result.returncode == 0, result.stderr
    assert (result.json()["posts_written"], result.json()["media_stored"]) == (5, 6)


@pytest.mark.parametrize("site", ["react"], indirect=True)
def test_an_expired_session_exits_non_zero_saying_log_in_again(alejandria_cli: Cli,
                                                               site: GumroadFixture) -> None:
    site.expire_session()

    result = alejandria_cli("sync", "gumroad")

    assert result.returncode == 1
    assert "log in" in result.stderr and "credentials set gumroad" in result.stderr
    assert site.app_session not in result.stderr + result.stdout

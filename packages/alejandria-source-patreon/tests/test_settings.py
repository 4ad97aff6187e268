"""Patreon's settings: ``ALEJANDRIA_PATREON_*`` read as the archive opens, ``-o`` options
validated on top, errors that name the option, and the session kept out of options."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from alejandria.errors import ConfigurationError


def test_options_override_the_environment_and_lists_take_both_forms(
        make_source, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEJANDRIA_PATREON_TIERS", "Oro, Plata")
    monkeypatch.setenv("ALEJANDRIA_PATREON_TYPES", '["image_file", "audio_file"]')
    monkeypatch.setenv("ALEJANDRIA_PATREON_MAX_RETRIES", "2")

    config = make_source(max_retries="7", until="2024-05-31", since="2024-05-01T10:00",
                         dry_run="yes").config

    assert config.filters.tiers == frozenset({"oro", "plata"})
    assert config.filters.types == frozenset({"image_file", "audio_file"})
    assert config.max_retries == 7 and config.dry_run
    assert config.filters.since == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert config.filters.until == datetime(2024, 5, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert make_source(tiers='["Bronce"]').config.filters.tiers == frozenset({"bronce"})


@pytest.mark.parametrize(("options", "message"), [
    ({"requests_per_second": "fast"}, "option requests_per_second: Input should be a valid "
                                      "number"),
    ({"checkpoint_every": 0}, "option checkpoint_every: Input should be greater than or equal "
                              "to 1"),
    ({"since": "31/05/2024"}, "option since: Value error, must be a date like 2024-05-31, "
                              "not '31/05/2024'"),
    ({"colour": "red"}, "option colour: no such option"),
    ({"session_id": "abc"}, "the Patreon session is not a sync option"),
])
def test_a_bad_option_is_one_line_naming_it(make_source, options: dict[str, object],
                                            message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_source(**options)
    assert message in str(caught.value)
    assert "abc" not in str(caught.value)


def test_a_bad_variable_is_named(make_source, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEJANDRIA_PATREON_MAX_RETRIES", "many")

    with pytest.raises(ConfigurationError, match="ALEJANDRIA_PATREON_MAX_RETRIES: Input should "
                                                 "be a valid integer"):
        make_source()


def test_stored_credentials_come_before_the_session_variable(make_source) -> None:
    config = make_source(credentials={"session_id": "from-the-store"}).config

    assert config.cookie == "session_id=from-the-store"
    assert "from-the-store" not in repr(config)


def test_registering_the_plugin_does_not_import_the_http_client() -> None:
    code = ("import sys, alejandria_source_patreon.plugin as p; p.register_settings(); "
            "print(sorted(m for m in ('urllib3', 'certifi') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"

"""The HTTP transport: proxies from the environment, cookies kept on Patreon's host."""

from __future__ import annotations

import os

import pytest

from alejandria_source_patreon.testing import PatreonFixture
from alejandria_source_patreon.transport import Transport, finish


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_requests_go_through_the_proxy_the_environment_names(
        site: PatreonFixture, no_proxies: pytest.MonkeyPatch) -> None:
    no_proxies.setenv("http_proxy", site.base_url)  # the fixture answers absolute URIs too
    transport = Transport(timeout_s=5, user_agent="test", pool_size=2)

    response = transport.get("http://patreon.invalid/api/current_user",
                             {"Cookie": f"session_id={site.session_id}"}, preload=True)

    assert response.status == 200
    assert site.hits["/api/current_user"] == 1
    finish(response, complete=True)
    transport.close()


def test_no_proxy_hosts_are_reached_directly(site: PatreonFixture,
                                             no_proxies: pytest.MonkeyPatch) -> None:
    no_proxies.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    no_proxies.setenv("no_proxy", "127.0.0.1")
    transport = Transport(timeout_s=5, user_agent="test", pool_size=2)

    response = transport.get(f"{site.base_url}/api/current_user",
                             {"Cookie": f"session_id={site.session_id}"}, preload=True)

    assert response.status == 200
    transport.close()


def test_the_cookie_is_not_carried_to_another_host_by_a_redirect(
        site: PatreonFixture, no_proxies: pytest.MonkeyPatch) -> None:
    other = site.base_url.replace("127.0.0.1", "localhost")
    site.fail("/api/current_user", 302, headers={"Location": f"{other}/api/current_user"})
    transport = Transport(timeout_s=5, user_agent="test", pool_size=2)

    response = transport.get(f"{site.base_url}/api/current_user",
                             {"Cookie": f"session_id={site.session_id}"}, preload=True)

    assert response.status == 401  # followed, and logged out on the other host
    assert [("Cookie" in headers) for path, headers in site.requests] == [True, False]
    transport.close()

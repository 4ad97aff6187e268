"""alejandria.net: backoff, Retry-After, the per-host rate limit, and the sources' HTTP client
against a real HTTP server on loopback (retries, rate limits, cookies per host, proxies).
``test_net_download.py`` covers the resumable download on the same server."""

from __future__ import annotations

import gzip
import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from alejandria.errors import RateLimited, SourceError
from alejandria.net.addresses import AllowList
from alejandria.net.backoff import backoff, retry_after
from alejandria.net.client import HttpClient
from alejandria.net.rate_limit import HostRateLimiter
from alejandria.net.transport import Transport, finish

from .net_site import SECRET, Reply, Site


def test_backoff_doubles_up_to_its_cap_with_jitter_around_it() -> None:
    for attempt, middle in enumerate([2, 4, 8, 16, 30, 30, 30]):
        waits = [backoff(attempt, base=2, cap=30) for _ in range(200)]
        assert all(middle * 0.5 <= wait <= middle * 1.5 for wait in waits), attempt
        assert max(waits) - min(waits) > middle * 0.3  # spread, not one value
    assert all(54 <= backoff(0, base=60, cap=3600, jitter=0.1) <= 66 for _ in range(100))
    assert backoff(10_000, base=1, cap=5) <= 7.5  # no overflow however many attempts


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    in_90_s = format_datetime(now + timedelta(seconds=90), usegmt=True)

    assert retry_after("120") == 120.0
    assert retry_after(" 7 ") == 7.0
    assert retry_after(in_90_s, now=now) == 90.0
    assert retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=now) == 0.0  # already past
    assert retry_after("Sun, 01 Mar 2026 12:00:30 -0000", now=now) == 30.0
    for garbage in (None, "", "soon", "-5", "12s", "Sun, 99 Foo 2026"):
        assert retry_after(garbage) is None, garbage


# -- rate limit -----------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_the_rate_limit_spaces_requests_to_one_host_and_not_to_others() -> None:
    clock = FakeTime()
    limiter = HostRateLimiter(2, sleep=clock.sleep, clock=lambda: clock.now)

    for host in ("api", "api", "cdn", "api", "cdn"):
        limiter.wait(host)

    assert clock.slept == [0.5, 0.5]  # api at 100, 100.5, 101; cdn at 100.5 and 101 unslowed


def test_no_rate_limit_at_zero() -> None:
    clock = FakeTime()
    limiter = HostRateLimiter(0, sleep=clock.sleep, clock=lambda: clock.now)
    for _ in range(5):
        limiter.wait("api")
    assert clock.slept == []


def test_the_rate_limit_holds_across_threads_on_a_real_server(site: Site) -> None:
    client = HttpClient(site="Testsite", user_agent="t", requests_per_second=20, proxies={},
                        allowed_hosts=[f"127.0.0.1:{site.port}"])
    start = time.monotonic()

    threads = [threading.Thread(target=lambda: [client.request(site.url("/a"))
                                                for _ in range(3)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert site.hits("/a") == 12
    assert time.monotonic() - start >= 11 / 20 - 0.01  # 12 requests, 1/20 s apart at least
    client.close()


# -- retries --------------------------------------------------------------------------------


def test_429_waits_out_retry_after_then_succeeds(site: Site, make_client: Any,
                                                 sleeps: list[float]) -> None:
    site.script("/api", Reply(429, headers={"Retry-After": "3"}), Reply(200, b"fine"))

    response = make_client().request(site.url("/api"))

    assert (response.status, response.data) == (200, b"fine")
    assert sleeps == [3.0] and site.hits("/api") == 2


def test_429_with_a_date_or_without_retry_after(site: Site, make_client: Any,
                                                sleeps: list[float]) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    site.script("/api", Reply(429, headers={"Retry-After": soon}), Reply(429), Reply(200))

    assert make_client().request(site.url("/api")).status == 200

    assert 28 <= sleeps[0] <= 30
    assert 1.0 <= sleeps[1] <= 3.0  # no Retry-After: the backoff of the second try


def test_a_retry_after_longer_than_the_max_wait_raises_rate_limited(
        site: Site, make_client: Any, sleeps: list[float]) -> None:
    site.script("/api", Reply(429, headers={"Retry-After": "7200"}))

    with pytest.raises(RateLimited) as caught:
        make_client(max_wait_s=900).request(site.url("/api?token=abc"))

    assert caught.value.retry_after == 7200
    assert str(caught.value) == ("Testsite is rate limiting us (HTTP 429); try again in 7200 s "
                                 "or lower -o requests_per_second")
    assert sleeps == [] and site.hits("/api") == 1


def test_server_errors_are_retried_with_backoff_then_succeed(site: Site, make_client: Any,
                                                             sleeps: list[float]) -> None:
    site.script("/api", Reply(503), Reply(502), Reply(500), Reply(200, b"at last"))

    response = make_client().request(site.url("/api"))

    assert response.data == b"at last" and site.hits("/api") == 4
    assert [0.5 <= sleeps[0] <= 1.5, 1 <= sleeps[1] <= 3, 2 <= sleeps[2] <= 6] == [True] * 3


def test_a_server_that_keeps_failing_is_one_readable_line(site: Site, make_client: Any,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="alejandria")
    site.script("/files/a.pdf", *[Reply(503)] * 5)

    with pytest.raises(SourceError) as caught:
        make_client(max_retries=2).request(site.url("/files/a.pdf?token-hash=SIGNED"))

    assert str(caught.value) == (f"Testsite keeps failing (HTTP 503) for 127.0.0.1:{site.port}"
                                 "/files/a.pdf after 3 tries; try again later")
    assert site.hits("/files/a.pdf") == 3
    assert "HTTP 503 on" in caplog.text
    assert "SIGNED" not in caplog.text and "s3cr3t" not in caplog.text


def test_an_unreachable_site_is_named_after_the_tries(site: Site, make_client: Any,
                                                      sleeps: list[float]) -> None:
    site.stop()  # nothing listens on its port any more

    with pytest.raises(SourceError) as caught:
        make_client(max_retries=1).request(site.url("/api?token=SIGNED"))

    assert str(caught.value) == (f"cannot reach Testsite at 127.0.0.1:{site.port}: "
                                 "NewConnectionError after 2 tries; check the network or try "
                                 "again later")
    assert len(sleeps) == 1


def test_a_name_that_does_not_resolve_fails_at_once(site: Site, make_client: Any,
                                                    sleeps: list[float],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline (or a misspelt host), retrying for a minute only hides it: ``credentials set
    patreon`` took 66 s to say it could not reach the site."""
    import socket

    def no_dns(*_args: Any, **_kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    started = time.monotonic()

    with pytest.raises(SourceError) as caught:
        make_client(max_retries=5).request("https://www.testsite.example/api?token=SIGNED")

    assert str(caught.value) == ("cannot reach Testsite: the name www.testsite.example does not "
                                 "resolve; check the network connection (and DNS) and try again")
    assert sleeps == [] and time.monotonic() - started < 5


def test_a_body_that_breaks_off_is_asked_for_again(site: Site, make_client: Any) -> None:
    site.script("/api", Reply(200, b"x" * 1000, cut_at=10), Reply(200, b"y" * 1000))

    assert make_client().request(site.url("/api")).data == b"y" * 1000


def test_other_statuses_are_the_callers_to_check(site: Site, make_client: Any) -> None:
    site.script("/api", Reply(401, b"log in"), Reply(404, b"gone"))
    client = make_client()

    assert client.request(site.url("/api")).status == 401
    assert client.request(site.url("/api")).data == b"gone"
    assert site.hits("/api") == 2


def test_responses_are_asked_for_compressed_and_read_decompressed(site: Site,
                                                                  make_client: Any) -> None:
    site.script("/api", Reply(200, gzip.compress(b'{"a": 1}'),
                              {"Content-Encoding": "gzip"}))

    assert make_client().request(site.url("/api")).data == b'{"a": 1}'
    assert "gzip" in site.requests[0].headers["Accept-Encoding"]


# -- cookies --------------------------------------------------------------------------------


def test_the_cookie_goes_to_its_host_only(site: Site, make_client: Any) -> None:
    client = make_client()

    client.request(site.url("/api"))
    client.request(site.url("/api", host="localhost"))  # the same server, another host

    assert [seen.headers.get("Cookie") for seen in site.requests] == [SECRET, None]


def test_a_redirect_to_another_host_does_not_carry_the_cookie(site: Site,
                                                              make_client: Any) -> None:
    site.script("/file", Reply(302, b"", {"Location": site.url("/cdn/f", host="localhost")}))

    response = make_client().request(site.url("/file"))

    assert response.status == 200
    assert [(seen.path, seen.headers.get("Cookie")) for seen in site.requests] == [
        ("/file", SECRET), ("/cdn/f", None)]


def test_a_redirect_within_the_host_keeps_the_cookie(site: Site, make_client: Any) -> None:
    site.script("/old", Reply(301, b"", {"Location": "/new"}))

    make_client().request(site.url("/old"))

    assert [seen.headers.get("Cookie") for seen in site.requests] == [SECRET, SECRET]


# -- proxies (the transport) ----------------------------------------------------------------


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_requests_go_through_the_proxy_the_environment_names(
        site: Site, no_proxies: pytest.MonkeyPatch) -> None:
    no_proxies.setenv("http_proxy", site.url(""))  # the server answers absolute URIs too
    transport = Transport(timeout_s=5, user_agent="test", pool_size=2)

    response = transport.request("GET", "http://site.invalid/api", {}, preload=True)

    assert response.status == 200
    assert site.requests[0].target == "http://site.invalid/api"
    finish(response, complete=True)
    transport.close()


def test_no_proxy_hosts_are_reached_directly(site: Site,
                                             no_proxies: pytest.MonkeyPatch) -> None:
    no_proxies.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    no_proxies.setenv("no_proxy", "127.0.0.1")
    transport = Transport(timeout_s=5, user_agent="test", pool_size=2,
                          allow=AllowList.parse([f"127.0.0.1:{site.port}"]))

    response = transport.request("GET", site.url("/api"), {}, preload=True)

    assert response.status == 200 and site.requests[0].target == "/api"
    transport.close()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.DependencyWarning")
def test_a_socks_proxy_without_pysocks_says_what_to_install() -> None:
    try:
        import socks  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("PySocks is installed: the SOCKS proxy works")

    with pytest.raises(SourceError) as caught:
        Transport(timeout_s=5, user_agent="t", pool_size=1,
                  proxies={"https": "socks5h://user:pw@proxy.lan:1080"})

    assert str(caught.value) == ("the proxy proxy.lan:1080 is a SOCKS proxy: pip install "
                                 "'urllib3[socks]' to use it")


def test_every_request_carries_the_clients_user_agent(site: Site, make_client) -> None:
    """urllib3 drops a pool's default headers when a request brings its own: the user agent
    a source sets (Patreon's ``-o user_agent=...``) must still reach the site."""
    site.files["/f.bin"] = b"data"
    client = make_client()

    client.request(site.url("/a"), headers={"Accept": "application/json"})
    with client.open(site.url("/f.bin"), subject="f.bin") as stream:
        stream.read()

    assert [seen.headers.get("User-Agent") for seen in site.requests] == [
        "alejandria-tests", "alejandria-tests"]


def test_own_host_is_what_an_allow_list_names() -> None:
    from alejandria.net.urls import own_host

    assert own_host("https://www.patreon.com") == "www.patreon.com:443"
    assert own_host("http://127.0.0.1:8123/base") == "127.0.0.1:8123"
    assert own_host("http://[::1]:9000") == "[::1]:9000"
    assert own_host("not a url") is None and own_host("http://[::1") is None


def test_a_stored_secret_wins_over_the_environment() -> None:
    from pydantic import SecretStr

    from alejandria.plugin_types import stored_secret

    env = SecretStr("from-env")
    assert stored_secret({"session_id": "stored"}, ("session_id", "cookie"), env) == "stored"
    assert stored_secret({"cookie": SecretStr("old")}, ("session_id", "cookie"), env) == "old"
    assert stored_secret({"session_id": ""}, ("session_id",), env) == "from-env"
    assert stored_secret(None, ("session_id",), None) is None

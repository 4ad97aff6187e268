"""alejandria.net's bounds on what a site sends: a file's size (its Content-Length, then its
bytes), an API answer's decoded size (a gzip bomb is stopped, not inflated), a transfer that
crawls (the low-speed rule) and an API answer that never ends (the deadline)."""

from __future__ import annotations

import gzip
import itertools
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from alejandria.errors import SourceError, TooLarge
from alejandria.net.client import HttpClient
from alejandria.net.limits import MB, SpeedGuard, TransferLimits
from alejandria.settings import Settings
from alejandria.storage.media_store import MediaStore

from .net_site import Reply, Site


def endless() -> Iterator[bytes]:
    return itertools.repeat(b"z" * 65536)


def trickle(pieces: int, every_s: float) -> Callable[[], Iterator[bytes]]:
    def send() -> Iterator[bytes]:
        for _ in range(pieces):
            time.sleep(every_s)
            yield b"."
    return send


def test_the_client_defaults_are_the_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MAX_DOWNLOAD_MB", "MAX_API_RESPONSE_MB", "LOW_SPEED_LIMIT_BPS",
                 "LOW_SPEED_TIME_S", "API_DEADLINE_S"):
        monkeypatch.delenv(f"ALEJANDRIA_{name}", raising=False)
    monkeypatch.setenv("ALEJANDRIA_MAX_DOWNLOAD_MB", "20480")

    assert TransferLimits.from_settings(Settings()) == TransferLimits()
    custom = TransferLimits.from_settings(Settings(max_download_mb=5, max_api_response_mb=2))
    assert (custom.max_download_bytes, custom.max_api_response_bytes) == (5 * MB, 2 * MB)


# -- file downloads -------------------------------------------------------------------------


def test_a_file_announced_over_the_cap_is_refused_before_its_body_is_read(
        site: Site, make_client: Callable[..., HttpClient]) -> None:
    site.files["/big.bin"] = b"x" * (2 * MB)
    client = make_client(limits=TransferLimits(max_download_bytes=1 * MB))

    with pytest.raises(TooLarge) as caught:
        client.open(site.url("/big.bin?sig=SIGNED"), subject="big.bin")

    assert str(caught.value) == ("big.bin is 2.0 MB, over the download limit of 1.0 MB: raise "
                                 "ALEJANDRIA_MAX_DOWNLOAD_MB to fetch it")


def test_an_endless_file_stops_at_the_cap_and_leaves_nothing_stored(
        site: Site, make_client: Callable[..., HttpClient], tmp_path: Path) -> None:
    site.script("/endless.bin", Reply(pieces=endless))  # no Content-Length, never ends
    client = make_client(limits=TransferLimits(max_download_bytes=1 * MB))
    store = MediaStore(tmp_path)

    with pytest.raises(TooLarge, match=r"endless\.bin goes on, over the download limit of "
                                       r"1\.0 MB: raise ALEJANDRIA_MAX_DOWNLOAD_MB"), \
            client.open(site.url("/endless.bin"), subject="endless.bin") as stream:
        store.put_stream(stream)  # type: ignore[arg-type]

    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_a_trickling_file_is_abandoned_by_the_low_speed_rule(
        site: Site, make_client: Callable[..., HttpClient]) -> None:
    site.script("/slow.bin", Reply(pieces=trickle(60, 0.05), length=60))  # 20 bytes/s
    client = make_client(limits=TransferLimits(low_speed_limit_bps=100, low_speed_time_s=0.5))
    start = time.monotonic()

    with pytest.raises(SourceError, match=r"slow.bin: slower than 100 bytes/s for \d+ s"), \
            client.open(site.url("/slow.bin"), subject="slow.bin") as stream:
        stream.read()

    assert time.monotonic() - start < 2  # 3 s for the whole body


def test_a_file_just_fast_enough_is_not_abandoned(site: Site,
                                                  make_client: Callable[..., HttpClient]) -> None:
    site.script("/steady.bin", Reply(pieces=trickle(20, 0.01), length=20))  # ~100 bytes/s
    client = make_client(limits=TransferLimits(low_speed_limit_bps=10, low_speed_time_s=0.05))

    with client.open(site.url("/steady.bin"), subject="steady.bin") as stream:
        assert stream.read() == b"." * 20


# -- API answers ----------------------------------------------------------------------------


def test_a_gzip_bomb_is_stopped_at_the_decoded_cap_without_inflating_it(
        site: Site, make_client: Callable[..., HttpClient]) -> None:
    bomb = gzip.compress(b"[" + b" " * (64 * MB), compresslevel=9, mtime=0)  # ~64 KB
    site.script("/api/posts", Reply(200, bomb, {"Content-Encoding": "gzip",
                                                "Content-Type": "application/json"}))
    client = make_client(limits=TransferLimits(max_api_response_bytes=1 * MB))
    tracemalloc.start()

    try:
        with pytest.raises(TooLarge) as caught:
            client.request(site.url("/api/posts?page=SIGNED"))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert str(caught.value) == (f"Testsite sent more than 1.0 MB (decoded) for 127.0.0.1:"
                                 f"{site.port}/api/posts: raise ALEJANDRIA_MAX_API_RESPONSE_MB "
                                 "if that is expected")
    assert peak < 8 * MB, peak  # never the 64 MB it inflates to
    assert site.hits("/api/posts") == 1  # not retried


def test_an_answer_under_the_cap_is_read_whole(site: Site,
                                               make_client: Callable[..., HttpClient]) -> None:
    body = b'{"data": "' + b"a" * 300_000 + b'"}'
    site.script("/api", Reply(200, gzip.compress(body), {"Content-Encoding": "gzip"}))

    response = make_client(limits=TransferLimits(max_api_response_bytes=1 * MB)).request(
        site.url("/api"))

    assert response.data == body and response.headers["Content-Length"] == str(len(body))


def test_an_api_answer_that_never_ends_hits_the_deadline_and_is_not_retried(
        site: Site, make_client: Callable[..., HttpClient], sleeps: list[float]) -> None:
    site.script("/api/slow", Reply(pieces=trickle(100, 0.02), length=100))
    client = make_client(limits=TransferLimits(api_deadline_s=0.3, low_speed_limit_bps=0))
    start = time.monotonic()

    with pytest.raises(SourceError, match=r"Testsite answering 127.0.0.1:\d+/api/slow: not "
                                          r"complete after 0 s \(ALEJANDRIA_API_DEADLINE_S\)"):
        client.request(site.url("/api/slow"))

    assert time.monotonic() - start < 1.5  # 2 s for the whole body: each piece is checked
    assert site.hits("/api/slow") == 1 and sleeps == []


# -- the low-speed rule itself --------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_speed_guard_averages_over_its_window() -> None:
    clock = Clock()
    guard = SpeedGuard("f", min_bps=1000, window_s=10, clock=clock)
    for _ in range(30):  # 2000 bytes/s for 30 s: fine
        clock.now += 1
        guard.received(2000)
    clock.now += 9  # a 9 s pause, then a burst: the window's average holds
    guard.received(9000)
    clock.now += 1
    guard.received(2000)
    for _ in range(9):  # then 100 bytes/s ...
        clock.now += 1
        guard.received(100)
    clock.now += 1

    with pytest.raises(SourceError, match="f: slower than 1000 bytes/s for 10 s"):
        guard.received(100)  # ... for a whole window


def test_the_deadline_counts_from_the_start() -> None:
    clock = Clock()
    guard = SpeedGuard("answer", min_bps=0, window_s=1, clock=clock, deadline_s=5)
    clock.now = 5
    guard.received(10)
    clock.now = 5.1

    with pytest.raises(SourceError, match="answer: not complete after 5 s"):
        guard.received(10)

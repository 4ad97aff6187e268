"""A Redis of the test session's own, so tests never touch a Redis someone else uses.

The kit used to pick a random database on the machine's Redis (127.0.0.1:6379) and flush it:
a plugin author's or user's data there could be lost, and two test runs at once fed each
other's workers. Now a session starts a private ``redis-server`` on a free port (no
persistence, its files in a temporary folder) and stops it at the end; each test gets a
database of it, flushed before use. Only ``ALEJANDRIA_TEST_REDIS_URL``, named explicitly,
points the tests elsewhere: then the database it names is the one flushed, and nothing else.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TEST_REDIS_ENV = "ALEJANDRIA_TEST_REDIS_URL"
#: Databases a private server has (Redis's default).
DATABASES = 16
START_TIMEOUT_S = 20.0


class RedisUnavailable(Exception):
    """No Redis for the tests: the message says what to install or set."""


@dataclass
class TestRedis:
    """The session's Redis: ``database_url()`` hands out a flushed database per call."""

    base_url: str
    #: the one database to use, when the user named it (``…/3``); None: any of a private server
    fixed_database: int | None = None
    _next: int = field(default=0, repr=False)

    def database_url(self) -> str:
        import redis

        if self.fixed_database is not None:
            number = self.fixed_database
        else:  # rotate, so a worker a failed test left behind cannot feed on the next one
            number = self._next % DATABASES
            self._next += 1
        url = f"{self.base_url}/{number}"
        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
        finally:
            client.close()
        return url


def named_redis(url: str) -> TestRedis:
    """The Redis the user named: its database (0 when the URL names none) is the tests'."""
    base, _, last = url.rstrip("/").rpartition("/")
    if last.isdigit() and "://" in base:
        return TestRedis(base, fixed_database=int(last))
    return TestRedis(url.rstrip("/"), fixed_database=0)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class PrivateRedis:
    """A ``redis-server`` on a free loopback port, its files in ``folder``."""

    process: subprocess.Popen[bytes]
    port: int
    folder: Path

    @classmethod
    def start(cls) -> PrivateRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable(
                "the queue tests need redis-server (apt-get install redis-server), or "
                f"{TEST_REDIS_ENV} naming a Redis database the tests may flush")
        folder = Path(tempfile.mkdtemp(prefix="alejandria-test-redis-"))
        for _ in range(5):  # the free port may be taken between the probe and the start
            port = free_port()
            process = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(folder), "--databases", str(DATABASES),
                 "--logfile", str(folder / "redis.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + START_TIMEOUT_S
            while process.poll() is None and time.monotonic() < deadline:
                if _answers(port):
                    return cls(process, port, folder)
                time.sleep(0.05)
            _stop(process)
        log = (folder / "redis.log").read_text(errors="replace")[-500:] \
            if (folder / "redis.log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RedisUnavailable(f"redis-server did not start: {log}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def stop(self) -> None:
        _stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def private_redis_or_skip() -> PrivateRedis:
    """A redis-server of the caller's own (which it may stop): the test is skipped when none
    can start, and fails under CI, where every test must run."""
    try:
        return PrivateRedis.start()
    except RedisUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def alejandria_test_redis() -> Iterator[TestRedis]:
    """The session's Redis: ``ALEJANDRIA_TEST_REDIS_URL`` when set, else a private server.
    Skipped when neither is possible (failed under CI, where every test must run)."""
    named = os.environ.get(TEST_REDIS_ENV)
    if named:
        yield named_redis(named)
        return
    server = private_redis_or_skip()
    try:
        yield TestRedis(server.url)
    finally:
        server.stop()


@pytest.fixture
def alejandria_redis_url(alejandria_test_redis: TestRedis) -> str:
    """A flushed Redis database for this test, on the session's own Redis (see the module).
    Tests that use it are marked ``needs_redis``."""
    return alejandria_test_redis.database_url()

"""``GET /health`` over real servers: the default app, a private redis-server really stopped
under it, and (slow) a private embedded Postgres really stopped under it.

The rule (``api.meta.health``): 503 when the report is "down" (the database fails) or any
check fails; 200 when every check is ok or some only warn ("degraded" with warnings)."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from alejandria.ops.health import CHECK_NAMES
from alejandria.testing.redis_server import PrivateRedis, private_redis_or_skip

REDIS_PASSWORD = "s3cret-redis-pw"
#: An absolute path: a slash that follows no word, dot, colon or slash (not a URL's).
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/[\w.-]")


def assert_shape(body: dict[str, Any]) -> None:
    assert set(body) == {"status", "checks"}
    assert body["status"] in ("ok", "degraded", "down")
    assert list(body["checks"]) == list(CHECK_NAMES)
    assert set(CHECK_NAMES) == {"database", "redis", "workers", "disk", "pgvector"}
    for name, check in body["checks"].items():
        assert set(check) == {"status", "why", "latency_ms"}, name
        assert check["status"] in ("ok", "warn", "fail"), name
        assert isinstance(check["why"], str) and check["why"], name
        assert isinstance(check["latency_ms"], int | float) and check["latency_ms"] >= 0, name


def assert_clean(text: str, *secrets: str) -> None:
    """No absolute path, no URL with credentials, no secret."""
    body = json.loads(text)
    for check in body["checks"].values():
        assert not ABSOLUTE_PATH.search(check["why"]), check["why"]
    for secret in secrets:
        if secret:
            assert secret not in text
    assert not re.search(r"://[^/\s\"]*:[^/\s\"*]+@", text), text  # user:password@
    assert "postgresql://" not in text and "postgresql+psycopg://" not in text


def expected_status(body: dict[str, Any]) -> int:
    """The rule of ``api.meta.health``, from the body."""
    failed = any(check["status"] == "fail" for check in body["checks"].values())
    return 503 if body["status"] == "down" or failed else 200


def database_password(archive: Any) -> str:
    url = archive.settings.database_url
    if url is None:
        return ""
    from sqlalchemy.engine import make_url

    return make_url(url.get_secret_value()).password or ""


def wait_for_status(client: TestClient[Any], status: int, within_s: float) -> tuple[Any, float]:
    """Ask ``/health`` until it answers ``status``; the answer and the seconds it took."""
    started = time.monotonic()
    while True:
        answer = client.get("/health")
        elapsed = time.monotonic() - started
        if answer.status_code == status or elapsed > within_s:
            return answer, elapsed
        time.sleep(0.05)


# -- the default app --------------------------------------------------------------------------


def test_health_on_the_default_app(client: Any, archive: Any, tmp_path: Path) -> None:
    answer = client.get("/health")  # anonymous: no session, no token

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    body = answer.json()
    assert_shape(body)
    # a server without pgvector (the second pass of the suite) is degraded: search still
    # works, semantic search does not
    assert body["status"] == ("ok" if body["checks"]["pgvector"]["status"] == "ok"
                              else "degraded")
    assert all(check["status"] == "ok" for name, check in body["checks"].items()
               if name != "pgvector"), body
    assert expected_status(body) == answer.status_code
    assert_clean(answer.text, database_password(archive), str(tmp_path),
                 str(archive.settings.data_dir))
    assert "MB free" in body["checks"]["disk"]["why"]


def test_docs_page_names_one_charset(client: Any) -> None:
    answer = client.get("/api/v1/docs")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"


# -- Redis really stopped ---------------------------------------------------------------------


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of this test's own, which the test stops; it asks for a password."""
    server = private_redis_or_skip()
    import redis

    admin = redis.Redis.from_url(server.url)
    admin.config_set("requirepass", REDIS_PASSWORD)
    admin.close()
    yield server
    server.stop()


def redis_url(server: PrivateRedis, database: int) -> str:
    return f"redis://:{REDIS_PASSWORD}@127.0.0.1:{server.port}/{database}"


@pytest.fixture
def app_over(open_archive: Callable[..., Any]) -> Iterator[Callable[..., TestClient[Any]]]:
    """``app_over(**settings)``: a client (lifespan running) of a new app over a new archive
    with those settings."""
    from alejandria_web.app import create_app

    clients: list[TestClient[Any]] = []

    def make(**overrides: Any) -> TestClient[Any]:
        test_client = TestClient(create_app(archive=open_archive(**overrides)),
                                 base_url="http://testserver.local")
        test_client.__enter__()
        clients.append(test_client)
        return test_client

    yield make
    for test_client in clients:
        test_client.__exit__(None, None, None)


def test_redis_cache_stopped_gives_503(app_over: Callable[..., TestClient[Any]],
                                       private_redis: PrivateRedis) -> None:
    client = app_over(cache_url=redis_url(private_redis, 0))

    answer = client.get("/health")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert_shape(body)
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["redis"]["why"] == "answers (search cache)"
    assert body["status"] == ("ok" if body["checks"]["pgvector"]["status"] == "ok"
                              else "degraded")
    assert_clean(answer.text, REDIS_PASSWORD)

    private_redis.stop()
    answer, elapsed = wait_for_status(client, 503, within_s=3.0)

    assert answer.status_code == 503, answer.text
    assert elapsed < 3.0
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert_shape(body)
    assert body["checks"]["redis"]["status"] == "fail"
    assert "cannot reach Redis" in body["checks"]["redis"]["why"]
    assert body["checks"]["database"]["status"] == "ok"
    assert body["status"] == "degraded"  # searches still work: a failed check is still 503
    assert expected_status(body) == 503
    assert_clean(answer.text, REDIS_PASSWORD)
    assert "internal_error" not in answer.text


@pytest.mark.slow
def test_redis_broker_warns_with_200_then_fails_with_503(
        app_over: Callable[..., TestClient[Any]], private_redis: PrivateRedis) -> None:
    """No worker answers: a warning, so "degraded" and still 200; the broker's Redis stopped:
    redis and workers fail, 503."""
    client = app_over(broker_url=redis_url(private_redis, 1))

    answer = client.get("/health")  # asks the workers: a Celery ping of about a second
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert_shape(body)
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["workers"]["status"] == "warn"
    assert "alejandria worker" in body["checks"]["workers"]["why"]
    assert body["status"] == "degraded"
    assert expected_status(body) == 200
    assert_clean(answer.text, REDIS_PASSWORD)

    private_redis.stop()
    answer, elapsed = wait_for_status(client, 503, within_s=3.0)

    assert answer.status_code == 503, answer.text
    assert elapsed < 3.0
    body = answer.json()
    assert body["checks"]["redis"]["status"] == "fail"
    assert body["checks"]["workers"]["status"] == "fail"
    assert body["status"] == "degraded"
    assert_clean(answer.text, REDIS_PASSWORD)


# -- the database really stopped --------------------------------------------------------------


@pytest.fixture
def server_root() -> Iterator[Path]:
    """A folder for an embedded Postgres of the test's own, outside pytest's temporary root
    (see core's tests/conftest.py: another pytest run would make that root private, and a
    server run as another user could not write its control file)."""
    root = Path(tempfile.mkdtemp(prefix="alejandria-web-test-server-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_database_stopped_gives_503_down(server_root: Path, plugin_manager: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from alejandria.api import Archive
    from alejandria.settings import Settings
    from alejandria_web.app import create_app
    from alejandria_web.testing import PASSWORD, Person, login

    monkeypatch.delenv("ALEJANDRIA_DATABASE_URL", raising=False)
    settings = Settings(data_dir=server_root / "data", embedded_linger_s=0,
                        embed_after_sync=False)
    # the embedded database is migrated on open, the web app's sessions table included
    with Archive.open(settings=settings, plugins=plugin_manager) as archive:
        account = archive.accounts.create("alice", PASSWORD, role="user")
        with TestClient(create_app(archive=archive),
                        base_url="http://testserver.local") as client:
            answer = client.get("/health")
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert_shape(body)
            assert body["status"] == "ok", body
            assert "(embedded)" in body["checks"]["database"]["why"]
            assert_clean(answer.text, str(server_root))
            login(client, Person(account.id, "alice", "user"))
            assert client.get("/api/v1/posts").status_code == 200

            archive.database.embedded.stop()  # the last user: the server stops
            started = time.monotonic()
            answer = client.get("/health")
            elapsed = time.monotonic() - started

            assert answer.status_code == 503, answer.text
            assert elapsed < 3.0
            assert answer.headers["content-type"] == "application/json"
            body = answer.json()
            assert_shape(body)
            assert body["status"] == "down"
            assert body["checks"]["database"]["status"] == "fail"
            assert body["checks"]["database"]["why"].startswith("cannot reach the database")
            assert body["checks"]["pgvector"]["status"] == "fail"
            assert "internal_error" not in answer.text
            assert_clean(answer.text, str(server_root))

            # asked again, the same; the rest of the API says so too, in the error shape
            assert client.get("/health").status_code == 503
            for path in ("/api/v1/posts", "/api/v1/posts/1"):
                failed = client.get(path)
                assert failed.status_code == 503, (path, failed.text)
                assert failed.json()["error"]["code"] == "unavailable"

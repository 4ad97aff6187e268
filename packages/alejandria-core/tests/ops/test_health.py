"""The health report of ``GET /health``: real Postgres, real Redis, real Celery workers, and
servers really stopped (or frozen) under it."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker

from alejandria.api import Archive
from alejandria.ops.health import CHECK_NAMES, HealthReport, health_report
from alejandria.settings import Settings
from alejandria.testing.redis_server import free_port, private_redis_or_skip


@pytest.fixture
def private_redis():
    """A redis-server of this test's own, which the test may stop."""
    server = private_redis_or_skip()
    yield server
    server.stop()


def timed_report(archive, **kwargs) -> tuple[HealthReport, float]:
    started = time.perf_counter()
    report = health_report(archive.context, **kwargs)
    return report, time.perf_counter() - started


def statuses(report: HealthReport) -> dict[str, str]:
    return {name: check.status for name, check in report.checks.items()}


def assert_clean(report: HealthReport, *paths) -> None:
    """The JSON holds no absolute path (nor the given folders) and no password."""
    text = json.dumps(report.as_json())
    for path in paths:
        assert str(path) not in text
    for check in report.checks.values():
        assert not check.why.startswith("/") and " /" not in check.why and '"/' not in check.why


def expected_status(report) -> str:
    """"ok", or "degraded" on a server without pgvector (the suite's second pass): search
    works there, semantic search does not."""
    return "ok" if report.checks["pgvector"].status == "ok" else "degraded"


def test_all_ok_without_a_broker(archive, tmp_path):
    health_report(archive.context)  # the pool's first connection
    report, elapsed = timed_report(archive)

    assert list(report.checks) == list(CHECK_NAMES)
    assert report.status == expected_status(report) and report.healthy, report.as_json()
    checks = report.checks
    assert checks["redis"].why == "not configured: jobs run in-process"
    assert "in-process" in checks["workers"].why
    assert "MB free" in checks["disk"].why
    assert "answers" in checks["database"].why
    if checks["pgvector"].status == "ok":
        assert checks["pgvector"].why.startswith("pgvector ")
    else:
        assert checks["pgvector"].status == "warn"
    assert all(check.latency_ms >= 0 for check in checks.values())
    assert elapsed < 0.5
    body = json.loads(json.dumps(report.as_json()))
    assert body["status"] == expected_status(report)
    assert set(body["checks"]) == set(CHECK_NAMES)
    assert set(body["checks"]["database"]) == {"status", "why", "latency_ms"}
    assert isinstance(body["checks"]["database"]["latency_ms"], float)
    assert_clean(report, tmp_path)


def test_disk_fails_below_the_minimum_and_warns_near_it(open_archive, tmp_path):
    huge = open_archive(min_free_disk_mb=10**9)
    report = health_report(huge.context)
    assert report.checks["disk"].status == "fail"
    assert "MB free" in report.checks["disk"].why and "1,000,000,000 MB" in report.checks[
        "disk"].why
    assert report.status == "degraded" and report.healthy

    free_mb = shutil.disk_usage(huge.settings.data_dir).free // 2**20
    near = open_archive(min_free_disk_mb=max(1, int(free_mb / 1.5)))
    assert health_report(near.context).checks["disk"].status == "warn"
    assert_clean(report, tmp_path)


def test_redis_cache_answers_then_fails_when_stopped(open_archive, private_redis):
    archive = open_archive(cache_url=private_redis.url + "/0")
    report = health_report(archive.context)
    others = {name: status for name, status in statuses(report).items() if name != "pgvector"}
    assert others == dict.fromkeys(others, "ok") and len(others) == 4, report.as_json()
    assert report.checks["redis"].why == "answers (search cache)"

    private_redis.stop()
    report, elapsed = timed_report(archive, timeout_s=1.0)

    assert report.checks["redis"].status == "fail"
    assert "cannot reach Redis" in report.checks["redis"].why
    assert report.status == "degraded"
    assert report.checks["database"].status == "ok"
    assert elapsed < 1.5


@pytest.mark.slow
def test_redis_broker_without_workers_warns_then_fails_fast_when_stopped(open_archive,
                                                                        private_redis,
                                                                        monkeypatch):
    archive = open_archive(broker_url=private_redis.url + "/0")
    report = health_report(archive.context)
    assert report.checks["redis"].status == "ok"
    assert report.checks["redis"].why == "answers (broker and search cache)"
    assert report.checks["workers"].status == "warn"
    assert "alejandria worker" in report.checks["workers"].why
    assert report.status == "degraded"

    # the workers' answer is kept: the next reports do not ping them again
    again, elapsed = timed_report(archive)
    assert again.checks["workers"].status == "warn"
    assert elapsed < 0.3
    # an older answer is still served, while a new one is sought in the background
    monkeypatch.setattr("alejandria.ops.health.WORKERS_FRESH_S", 0.0)
    again, elapsed = timed_report(archive)
    assert again.checks["workers"].status == "warn"
    assert elapsed < 0.3

    private_redis.stop()
    report, elapsed = timed_report(archive, timeout_s=1.0)
    assert report.checks["redis"].status == "fail"
    assert report.checks["workers"].status == "fail"
    assert "broker (the same Redis) does not answer" in report.checks["workers"].why
    assert report.status == "degraded"
    assert elapsed < 1.5


@pytest.mark.slow
def test_a_running_worker_answers(open_archive, private_redis, monkeypatch):
    from alejandria.queue.celery_app import make_celery

    archive = open_archive(broker_url=private_redis.url + "/1")
    app = make_celery(archive.settings, open_host=lambda: archive.context)
    monkeypatch.setattr("alejandria.queue.broker.celery_app_for", lambda *_args: app)
    with start_worker(app, pool="solo", perform_ping_check=False, queues=["sources"],
                      shutdown_timeout=10):
        report = health_report(archive.context)

    assert report.checks["workers"].status == "ok", report.as_json()
    assert report.checks["workers"].why == "1 worker answering"


def test_no_password_in_what_fails(open_archive, private_redis):
    stopped = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    archive = open_archive(broker_url=stopped, cache_url=stopped)
    report, elapsed = timed_report(archive, timeout_s=1.0)
    assert report.checks["redis"].status == "fail"
    assert report.checks["workers"].status == "fail"
    assert "s3cret" not in json.dumps(report.as_json())
    assert elapsed < 1.5

    # a running Redis refusing the password it was given
    import redis

    admin = redis.Redis.from_url(private_redis.url)
    admin.config_set("requirepass", "the-right-one")
    admin.close()
    wrong = private_redis.url.replace("redis://", "redis://:s3cret-too@") + "/0"
    archive = open_archive(cache_url=wrong)
    report = health_report(archive.context)
    assert report.checks["redis"].status == "fail", report.as_json()
    assert "s3cret" not in json.dumps(report.as_json())
    assert "the-right-one" not in json.dumps(report.as_json())
    assert "invalid username-password pair" in report.checks["redis"].why


def _postgres_processes(archive):
    import psutil

    postmaster = psutil.Process(archive.database.embedded._server.get_pid())
    return [postmaster, *postmaster.children(recursive=True)]


@pytest.mark.slow
def test_database_frozen_then_stopped(server_root, plugin_manager, monkeypatch):
    """A server that stops answering (frozen) fails the check within the timeout; one that
    is stopped fails at once; either way pgvector is not ok, the report says "down", and
    nothing raises."""
    monkeypatch.delenv("ALEJANDRIA_DATABASE_URL", raising=False)
    settings = Settings(data_dir=server_root / "data", embedded_linger_s=0,
                        embed_after_sync=False)
    with Archive.open(settings=settings, plugins=plugin_manager) as archive:
        report = health_report(archive.context)
        assert report.status == "ok", report.as_json()
        assert "(embedded)" in report.checks["database"].why

        def probes() -> int:
            return sum(thread.name == "alejandria-health" for thread in threading.enumerate())

        before = probes()  # a workers' ping an earlier test left may still run
        frozen = _postgres_processes(archive)
        for process in frozen:
            process.send_signal(signal.SIGSTOP)
        try:
            report, elapsed = timed_report(archive, timeout_s=1.0)
            assert elapsed < 1.6
            assert report.checks["database"].status == "fail"
            assert "no answer within 1 s" in report.checks["database"].why
            assert report.checks["pgvector"].status == "fail"
            assert report.status == "down" and not report.healthy
            # asked again meanwhile: waits for the same probe, does not start another
            again, elapsed = timed_report(archive, timeout_s=0.5)
            assert again.status == "down" and elapsed < 1.0
            time.sleep(0.05)
            assert probes() <= before + 1
        finally:
            for process in frozen:
                process.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 10
        while health_report(archive.context).status != "ok":
            assert time.monotonic() < deadline, "the database did not come back"
            time.sleep(0.1)

        archive.database.embedded.stop()  # the last user: the server stops
        report, elapsed = timed_report(archive)

        assert elapsed < 2.5
        assert report.checks["database"].status == "fail"
        assert report.checks["database"].why.startswith("cannot reach the database: ")
        assert report.checks["pgvector"].status == "fail"
        assert "unknown" in report.checks["pgvector"].why
        assert report.status == "down"
        assert_clean(report, server_root)

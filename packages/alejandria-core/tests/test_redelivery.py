"""A message delivered again (Redis's visibility timeout, a worker that died) runs its job
only when no live attempt is running it and it has not ended."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from pydantic import SecretStr
from sqlalchemy import text

from alejandria import hookimpl
from alejandria.plugin_types import JobTypeSpec
from alejandria.queue import running
from alejandria.queue.broker import TASK_NAME
from alejandria.queue.celery_app import make_celery
from alejandria.queue.redelivery import Delivery, recheck_delay, redelivery
from alejandria.queue.running import RunningMark


def _job(archive, status: str, beaten_s_ago: float | None = None) -> int:
    job_id = archive.jobs.create("sync", {}, queue="sources", priority=5,
                                 task_id=f"task-{status}-{beaten_s_ago}")
    with archive.engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET status = :status, heartbeat_at = CASE WHEN "
                          "CAST(:ago AS float) IS NULL THEN NULL ELSE now() - "
                          "make_interval(secs => :ago) END WHERE id = :id"),
                     {"status": status, "ago": beaten_s_ago, "id": job_id})
    return job_id


@pytest.mark.parametrize(("status", "beaten_s_ago", "action"), [
    ("pending", None, Delivery.RUN),          # never started, or killed before it was marked
    ("retrying", None, Delivery.RUN),
    ("running", 2.0, Delivery.LATER),         # alive on another worker: look again later
    ("running", 3600.0, Delivery.RUN),        # its worker died
    ("running", None, Delivery.RUN),
    ("completed", 1.0, Delivery.SKIP),        # restored while it ran: never run twice
    ("failed", None, Delivery.SKIP),
    ("cancelled", None, Delivery.SKIP),
])
def test_what_a_delivery_again_does(archive, status, beaten_s_ago, action):
    assert redelivery(archive.jobs, _job(archive, status, beaten_s_ago)) is action


def test_a_job_that_does_not_exist_is_not_run(archive):
    assert redelivery(archive.jobs, 987654) is Delivery.SKIP


def test_a_postponed_copy_looks_again_well_within_the_visibility_timeout():
    assert recheck_delay(3600) == 30.0
    assert recheck_delay(3) == 1.5


def test_a_running_job_is_beaten_until_it_ends(archive, monkeypatch):
    monkeypatch.setattr(running, "HEARTBEAT_S", 0.2)
    job_id = archive.jobs.create("sync", {}, queue="sources", priority=5, task_id="beaten")
    mark = RunningMark(archive.jobs, job_id)
    mark.write()

    def beat_age() -> float:
        with archive.engine.connect() as conn:
            return float(conn.execute(text("SELECT EXTRACT(EPOCH FROM now() - heartbeat_at) "
                                           "FROM jobs WHERE id = :id"), {"id": job_id}).scalar())

    time.sleep(1.5)
    assert beat_age() < 1.2  # beaten since it was marked, not only at the mark
    assert redelivery(archive.jobs, job_id) is Delivery.LATER
    mark.finish()
    archive.jobs.completed(job_id, {})
    assert redelivery(archive.jobs, job_id) is Delivery.SKIP


@pytest.fixture
def counted(archive, alejandria_redis_url, monkeypatch, register_plugin):
    """A real worker (thread) and a job type that counts its runs."""
    calls: list[int] = []

    class Counting:
        @hookimpl
        def register_job_types(self):
            return [JobTypeSpec(name="counted", function=lambda archive, progress:
                                calls.append(1) or {"calls": len(calls)}, queue="sources")]

    register_plugin(Counting(), name="counting")
    monkeypatch.setattr(archive.settings, "broker_url", SecretStr(alejandria_redis_url))
    app = make_celery(archive.settings, open_host=lambda: archive.context)
    monkeypatch.setattr("alejandria.queue.broker.celery_app_for", lambda *_args: app)
    with start_worker(app, pool="solo", perform_ping_check=False, queues=["sources"],
                      shutdown_timeout=10):
        yield archive, app, calls


def _wait(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_copy_of_an_ended_job_delivered_again_does_not_run_it_again(counted):
    archive, app, calls = counted
    job_id = archive.submit("counted")
    _wait(lambda: archive.jobs.get(job_id).status == "completed")

    # what a restored message is once the job completed: the same message, again
    app.send_task(TASK_NAME, kwargs={"job_id": job_id, "job_type": "counted", "kwargs": {},
                                     "recheck": True}, queue="sources")
    other = archive.submit("counted")  # queued after it: once it ran, the copy was seen
    _wait(lambda: archive.jobs.get(other).status == "completed")

    assert len(calls) == 2  # the job and the other one, not the copy
    assert archive.jobs.get(job_id).attempts == 1

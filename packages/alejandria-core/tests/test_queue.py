"""The job queue against the real Redis and a real Celery worker; and the inline mode."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from pydantic import SecretStr

from alejandria import hookimpl
from alejandria.errors import ItemRejected, RateLimited, SourceError
from alejandria.models import Checkpoint, CreatorIn, Expect, PostIn
from alejandria.plugin_types import JobTypeSpec
from alejandria.queue import runner
from alejandria.queue.celery_app import make_celery


def wait_for(archive, job_id, *, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = archive.jobs.get(job_id)
        if job.status in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {archive.jobs.get(job_id).status}")


@pytest.fixture
def job_type(register_plugin):
    """``job_type(name, function, queue)``: register a job type for one test."""

    def add(name, function, queue="sources"):
        class JobPlugin:
            @hookimpl
            def register_job_types(self):
                return [JobTypeSpec(name=name, function=function, queue=queue)]

        register_plugin(JobPlugin(), name=f"job-{name}")

    return add


@pytest.fixture
def redis_url(alejandria_redis_url):
    return alejandria_redis_url


@pytest.fixture
def queued(archive, redis_url, monkeypatch):
    """The archive with a broker, and a real worker (in a thread) consuming every queue."""
    monkeypatch.setattr(archive.settings, "broker_url", SecretStr(redis_url))
    monkeypatch.setattr(runner, "BACKOFF_BASE_S", 0.05)
    app = make_celery(archive.settings, open_host=lambda: archive.context)
    app.conf.broker_transport_options["visibility_timeout"] = 5
    monkeypatch.setattr("alejandria.queue.broker.celery_app_for",
                        lambda *_args: app)
    with start_worker(app, pool="solo", perform_ping_check=False,
                      queues=["sources", "media", "transcription", "search"],
                      shutdown_timeout=10):
        yield archive


def test_sync_runs_on_the_worker_and_is_mirrored_in_jobs(queued, memory_source):
    memory_source.content["t"] = [CreatorIn(external_id="c", name="C"),
                                  PostIn(external_id="p", creator_external_id="c",
                                         title="Desde el worker"), Checkpoint()]

    job_id = queued.submit("sync", {"source": "memory", "targets": ["t"]})
    job = wait_for(queued, job_id)

    assert (job.status, job.attempts, job.queue) == ("completed", 1, "sources")
    assert job.result["posts_written"] == 1 and job.started_at and job.completed_at
    assert [h.title for h in queued.search("worker")] == ["Desde el worker"]


def flaky_factory(errors):
    calls = []

    def flaky(archive, progress):
        calls.append(time.monotonic())
        if errors:
            raise errors.pop(0)
        return {"calls": len(calls)}

    return flaky, calls


def test_transient_errors_retry_with_backoff_then_succeed(queued, monkeypatch, job_type):
    flaky, calls = flaky_factory([SourceError("HTTP 503"), SourceError("HTTP 502")])
    job_type("flaky", flaky, "media")

    job = wait_for(queued, queued.submit("flaky"))

    assert job.status == "completed" and job.attempts == 3 and job.result == {"calls": 3}
    assert min(calls[1] - calls[0], calls[2] - calls[1]) >= 0.02  # backed off each time


def test_rate_limit_waits_its_retry_after(queued, monkeypatch, job_type):
    flaky, calls = flaky_factory([RateLimited("429 Too Many Requests", retry_after=1.0)])
    job_type("flaky", flaky, "sources")

    job = wait_for(queued, queued.submit("flaky"))

    assert job.status == "completed"
    assert calls[1] - calls[0] >= 0.95


def test_permanent_error_fails_at_once_with_its_message(queued, monkeypatch, job_type):
    flaky, calls = flaky_factory([ItemRejected("broken.pdf", "encrypted PDF")])
    job_type("flaky", flaky, "sources")

    job = wait_for(queued, queued.submit("flaky"))

    assert (job.status, job.attempts, len(calls)) == ("failed", 1, 1)
    assert job.error_message == "ItemRejected: broken.pdf: encrypted PDF"
    assert "ItemRejected" in job.traceback


def test_priorities_let_a_manual_request_jump_the_backlog(archive, redis_url, monkeypatch,
                                                          job_type):
    monkeypatch.setattr(archive.settings, "broker_url", SecretStr(redis_url))
    app = make_celery(archive.settings, open_host=lambda: archive.context)
    monkeypatch.setattr("alejandria.queue.broker.celery_app_for", lambda *_a: app)
    order: list[str] = []
    job_type("note", lambda archive, name, progress: order.append(name) or {}, "sources")
    for name in ("nightly-1", "nightly-2", "nightly-3"):
        archive.submit("note", {"name": name}, priority=1)
    archive.submit("note", {"name": "manual"}, priority=9)
    with start_worker(app, pool="solo", perform_ping_check=False, queues=["sources"]):
        deadline = time.monotonic() + 20
        while len(order) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert order[0] == "manual"


def test_without_a_broker_jobs_run_inline_with_the_same_rows(archive, monkeypatch, job_type):
    monkeypatch.setattr(runner, "BACKOFF_BASE_S", 0.01)
    flaky, calls = flaky_factory([SourceError("timeout")])
    job_type("flaky", flaky, "media")

    job = archive.jobs.get(archive.submit("flaky"))

    assert (job.status, job.attempts, len(calls)) == ("completed", 2, 2)


def test_cancelled_job_does_not_run_and_retry_runs_it(archive, monkeypatch, job_type):
    flaky, calls = flaky_factory([ItemRejected("x", "bad input")])
    job_type("flaky", flaky, "media")
    job_id = archive.submit("flaky")
    assert archive.jobs.get(job_id).status == "failed"

    from alejandria.queue.submit import retry

    retry(archive.context, job_id)

    job = archive.jobs.get(job_id)
    assert (job.status, job.attempts, len(calls)) == ("completed", 2, 2)


def test_jobs_are_routed_to_their_queue(archive, redis_url, monkeypatch, job_type):
    monkeypatch.setattr(archive.settings, "broker_url", SecretStr(redis_url))
    app = make_celery(archive.settings, open_host=lambda: archive.context)
    monkeypatch.setattr("alejandria.queue.broker.celery_app_for", lambda *_a: app)
    def nothing(archive, progress):
        return {}

    job_type("on_media", nothing, "media")
    job_type("on_sources", nothing, "sources")
    sources_id = archive.submit("on_sources")
    media_id = archive.submit("on_media")
    with start_worker(app, pool="solo", perform_ping_check=False, queues=["media"]):
        job = wait_for(archive, media_id)
    assert (job.status, job.queue) == ("completed", "media")
    assert archive.jobs.get(sources_id).status == "pending"  # no worker for "sources"


def test_a_job_delivered_twice_leaves_one_result(queued, memory_source):
    """acks_late redelivery runs a job again: it must not duplicate anything."""
    memory_source.content["t"] = [CreatorIn(external_id="c", name="C"),
                                  PostIn(external_id="p", creator_external_id="c",
                                         title="Una vez"), Checkpoint()]
    job_id = queued.submit("sync", {"source": "memory", "targets": ["t"]})
    first = wait_for(queued, job_id)
    assert first.status == "completed"

    from alejandria.queue.submit import retry

    retry(queued, job_id)  # the same job, delivered again
    again = wait_for(queued, job_id)

    assert (again.status, again.attempts) == ("completed", 2)
    assert again.result["posts_written"] == 0 and again.result["posts_unchanged"] == 1
    with queued.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM posts")).scalar_one() == 1


def test_sync_progress_is_written_to_the_job(archive, memory_source):
    for name in ("a", "b", "c"):
        memory_source.content[name] = [CreatorIn(external_id="c", name="C"), Checkpoint()]

    job = archive.jobs.get(archive.submit("sync", {"source": "memory",
                                                   "targets": ["a", "b", "c"]}))

    assert (job.progress_current, job.progress_total) == (3, 3)


def test_a_sync_of_one_target_shows_its_posts_in_the_job(archive, memory_source):
    memory_source.content["creator"] = [
        Expect(posts=5), CreatorIn(external_id="c", name="C"),
        *(PostIn(external_id=f"p{i}", creator_external_id="c", title=f"P{i}") for i in range(5)),
        Checkpoint()]

    job = archive.jobs.get(archive.submit("sync", {"source": "memory",
                                                   "targets": ["creator"]}))

    assert (job.progress_current, job.progress_total) == (5, 5)


def test_a_syncs_job_progress_passes_posts_on_at_most_once_a_second():
    from alejandria.sync.jobs import JobProgress
    from alejandria.sync.pipeline import ProgressEvent

    one: list[tuple[int, int | None]] = []
    many: list[tuple[int, int | None]] = []
    for calls, total in ((one, 1), (many, 2)):
        job = JobProgress(lambda done, total, calls=calls: calls.append((done, total)))
        job(ProgressEvent("resolved", 0, total))
        job(ProgressEvent("target", 0, total, "t"))
        for posts in range(1, 1001):  # all within a second
            job(ProgressEvent("posts", 0, total, "t", posts=posts, posts_expected=None))
        job(ProgressEvent("done", total, total))

    assert one == [(0, 1), (0, 1), (1, None), (1000, 1000)]
    assert many == [(0, 2), (0, 2), (2, 2)]  # many targets: the targets


def test_daily_sync_refreshes_everything_synced_before(archive, memory_source):
    memory_source.content["t"] = [CreatorIn(external_id="c", name="C"), Checkpoint()]
    archive.sync("memory", "t")
    archive.sync("memory", "t")  # remembered once
    assert archive.subscriptions() == [{"source": "memory", "targets": ["t"], "options": {}}]

    archive.submit("daily_sync")

    done = [(job.job_type, job.status, job.priority) for job in archive.jobs.list()]
    assert done == [("sync", "completed", 1), ("daily_sync", "completed", 5)]


def test_beat_runs_the_daily_sync_and_cleanup_at_the_configured_hour(archive):
    from alejandria.queue.broker import beat_schedule

    schedule = beat_schedule(archive.settings, hour=23)

    assert schedule["daily-sync"]["args"] == ["daily_sync"]
    assert schedule["daily-sync"]["schedule"].hour == {23}
    assert schedule["cleanup"]["schedule"].hour == {0}


@pytest.mark.slow
def test_doctor_checks_broker_and_workers(archive, redis_url, plugin_manager):
    from alejandria.ops.doctor import run_checks

    settings = archive.settings.model_copy(update={"broker_url": SecretStr(redis_url)})
    checks = {c.name: c for c in run_checks(settings, plugin_manager)}
    assert checks["broker"].status == "ok"
    assert checks["workers"].status == "warn" and "alejandria worker" in checks["workers"].detail

    down = settings.model_copy(update={"broker_url": SecretStr("redis://127.0.0.1:1/0")})
    assert {c.name: c.status for c in run_checks(down, plugin_manager)}["broker"] == "fail"


def test_submit_many_records_the_jobs_in_order_and_the_worker_runs_them(queued, monkeypatch,
                                                                        job_type):
    seen: list[str] = []
    job_type("note", lambda archive, name, progress: seen.append(name) or {"name": name}, "sources")
    from alejandria.queue.submit import submit_many

    ids = submit_many(queued.context, "note", [{"name": f"n{i}"} for i in range(5)], priority=3)

    jobs = [wait_for(queued, job_id) for job_id in ids]
    assert ids == sorted(ids)
    assert [(j.status, j.payload, j.result, j.priority, j.attempts) for j in jobs] == [
        ("completed", {"name": f"n{i}"}, {"name": f"n{i}"}, 3, 1) for i in range(5)]
    assert sorted(seen) == [f"n{i}" for i in range(5)]


def test_submit_many_without_a_broker_runs_them_inline(archive):
    from alejandria.queue.submit import submit_many

    ids = submit_many(archive.context, "noop", [{}, {}])

    assert [archive.jobs.get(job_id).status for job_id in ids] == ["completed", "completed"]
    assert submit_many(archive.context, "noop", []) == []


def _backend_pid(conn):
    from sqlalchemy import text

    return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_worker_thread_writes_job_states_over_one_connection(archive):
    """The held connection: one for every write of this thread; relaxing the commit of
    "running" does not leak into the next statement (a failure must reach the disk)."""
    from sqlalchemy import text

    from alejandria.queue.held import held_connection, hold_connection

    jobs = archive.jobs
    job_id = jobs.create("noop", {}, queue="sources", priority=5, task_id="t-held")
    hold_connection(archive.engine)

    assert jobs.started(job_id)
    conn = held_connection(archive.engine)
    jobs.progress(job_id, 1, 2)
    assert held_connection(archive.engine) is conn
    assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
    jobs.completed(job_id, {"ok": True})

    job = jobs.get(job_id)
    assert (job.status, job.attempts, job.result) == ("completed", 1, {"ok": True})
    assert (job.progress_current, job.progress_total) == (1, 2)
    archive.engine.dispose()  # Archive.close: the held connection is closed with the pool
    assert conn.closed


def test_a_held_connection_the_server_dropped_is_replaced(archive):
    from sqlalchemy import text

    from alejandria.queue.held import held_connection, hold_connection

    jobs = archive.jobs
    job_id = jobs.create("noop", {}, queue="sources", priority=5, task_id="t-dropped")
    hold_connection(archive.engine)
    assert jobs.started(job_id)
    held = held_connection(archive.engine)
    with archive.engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": _backend_pid(held)})
        admin.commit()

    jobs.completed(job_id, {})  # the dead connection fails; the write is made on a new one

    assert jobs.get(job_id).status == "completed"
    assert held.invalidated or held.closed
    assert held_connection(archive.engine) is not held


def test_a_worker_thread_sends_completed_and_reads_the_answer_later(archive):
    """Postgres commits the "completed" a worker thread sent while the thread goes on (another
    connection sees it); the thread reads the answer before its next statement."""
    from sqlalchemy import text

    from alejandria.queue import unawaited
    from alejandria.queue.held import hold_connection

    jobs = archive.jobs
    first = jobs.create("noop", {}, queue="sources", priority=5, task_id="t-sent-1")
    second = jobs.create("noop", {}, queue="sources", priority=5, task_id="t-sent-2")
    hold_connection(archive.engine)

    jobs.completed(first, {"n": 1}, unmarked_s=0.01)

    assert unawaited.unread()
    deadline = time.monotonic() + 10
    with archive.engine.connect() as other:
        while other.execute(text("SELECT status FROM jobs WHERE id = :id"),
                            {"id": first}).scalar_one() != "completed":
            assert time.monotonic() < deadline, "the sent statement was never committed"
            other.rollback()
            time.sleep(0.01)
    jobs.completed(second, {"n": 2}, unmarked_s=0.01)  # reads the first answer, sends anew
    job = jobs.get(second)  # this thread reads what it wrote
    assert not unawaited.unread()
    assert (job.status, job.attempts, job.result) == ("completed", 1, {"n": 2})


def test_a_sent_statement_that_fails_is_written_again_the_usual_way(archive):
    from sqlalchemy import text

    from alejandria.queue import unawaited
    from alejandria.queue.held import held_connection, hold_connection

    hold_connection(archive.engine)
    held = held_connection(archive.engine)
    seen: list[object] = []

    assert unawaited.send(held, "SELECT 1 / %(zero)s::int", {"zero": 0},
                          on_rows=seen.append, redo=lambda: seen.append("redo"))
    unawaited.settle()

    assert seen == ["redo"]
    assert held.execute(text("SELECT 2")).scalar_one() == 2  # the connection is usable


def test_cancelled_before_it_started_a_queued_job_does_not_run(archive, redis_url, monkeypatch,
                                                               job_type):
    monkeypatch.setattr(archive.settings, "broker_url", SecretStr(redis_url))
    app = make_celery(archive.settings, open_host=lambda: archive.context)
    monkeypatch.setattr("alejandria.queue.broker.celery_app_for", lambda *_a: app)
    ran: list[str] = []
    job_type("note", lambda archive, name, progress: ran.append(name) or {}, "sources")
    cancelled = archive.submit("note", {"name": "cancelled"})
    kept = archive.submit("note", {"name": "kept"})
    assert archive.jobs.cancel(cancelled)

    with start_worker(app, pool="solo", perform_ping_check=False, queues=["sources"]):
        job = wait_for(archive, kept)

    assert job.status == "completed" and ran == ["kept"]
    assert archive.jobs.get(cancelled).status == "cancelled"


def test_writing_a_new_job_twice_leaves_one_row(archive, count):
    """A state write is tried again after a dropped connection: creating is idempotent."""
    jobs = archive.jobs
    first = jobs.create("noop", {"a": 1}, queue="sources", priority=5, task_id="t-twice")
    again = jobs.create("noop", {"a": 1}, queue="sources", priority=5, task_id="t-twice")
    many = jobs.create_many("noop", [{"a": 1}, {"b": 2}], queue="sources", priority=5,
                            task_ids=["t-twice", "t-other"])

    assert first == again == many[0] and many[1] > first
    assert count(archive, "jobs") == 2


def test_cleanup_sends_again_a_running_job_whose_outcome_a_database_restart_lost(
        queued, monkeypatch, job_type):
    """"completed" is committed without waiting for the WAL: were Postgres to restart before
    the flush, the job would look running for ever. The cleanup sends such a job again."""
    from sqlalchemy import text

    ran: list[str] = []
    job_type("note", lambda archive, name, progress: ran.append(name) or {}, "sources")
    jobs = queued.jobs
    lost = jobs.create("note", {"name": "lost"}, queue="sources", priority=5, task_id="t-lost")
    quick = jobs.create("note", {"name": "quick"}, queue="sources", priority=5,
                        task_id="t-quick")
    running = jobs.create("note", {"name": "running"}, queue="sources", priority=5,
                          task_id="t-running")
    with queued.engine.begin() as conn:  # as the worker left them; two before the restart
        conn.execute(text("UPDATE jobs SET status = 'running', attempts = 1, started_at = "
                          "CASE WHEN id = :lost THEN now() - interval '1 day' ELSE now() END "
                          "WHERE id IN (:lost, :running)"), {"lost": lost, "running": running})
        # a quick job is never marked running: its lost outcome leaves it pending
        conn.execute(text("UPDATE jobs SET created_at = now() - interval '1 day' "
                          "WHERE id = :quick"), {"quick": quick})

    from alejandria.ops.jobs import cleanup

    result = cleanup(queued.context)

    assert result["jobs_recovered"] == [lost, quick]
    job = wait_for(queued, lost)
    assert (job.status, job.attempts) == ("completed", 2)
    assert wait_for(queued, quick).status == "completed"
    assert sorted(ran) == ["lost", "quick"]
    assert jobs.get(running).status == "running"  # may be running right now: left alone


def test_a_job_is_marked_running_once_it_has_run_a_moment_and_counted_once(archive,
                                                                          monkeypatch, job_type):
    """A quick job records its attempt with its outcome (one read before, one write after);
    a longer one is marked running while it runs, and its attempt is still counted once."""
    from alejandria.queue import running

    monkeypatch.setattr(running, "RUNNING_AFTER_S", 0.05)
    seen: list[str] = []

    def slow(archive, progress):
        job = archive.jobs.list(limit=1)[0]
        deadline = time.monotonic() + 5
        while job.status != "running" and time.monotonic() < deadline:
            time.sleep(0.01)
            job = archive.jobs.get(job.id)
        seen.append(job.status)
        return {}

    job_type("slow", slow, "sources")
    job_type("quick", lambda archive, progress: {}, "sources")
    slow_id = archive.submit("slow")
    quick_id = archive.submit("quick")

    assert seen == ["running"]
    for job_id in (slow_id, quick_id):
        job = archive.jobs.get(job_id)
        assert (job.status, job.attempts) == ("completed", 1)
        assert job.started_at is not None and job.started_at <= job.completed_at


def test_a_worker_knows_the_cancelled_jobs_without_a_read_per_job(archive, monkeypatch):
    """Each "completed" write says whether anything was cancelled since the worker last read
    the cancelled jobs; only then, or when it sat idle, does it read them again."""
    from sqlalchemy import text

    from alejandria.queue import cancelled
    from alejandria.queue import ledger as jobs_module

    reads: list[int] = []
    real_write = jobs_module.JobStore._write

    def counting(self, statement, params=None):
        if statement is jobs_module._MAY_RUN:
            reads.append(params["job_id"])
        return real_write(self, statement, params)

    monkeypatch.setattr(jobs_module.JobStore, "_write", counting)
    monkeypatch.setattr(cancelled, "FRESH_S", 5.0)
    jobs = archive.jobs
    first, second, third = (jobs.create("noop", {}, queue="sources", priority=5,
                                        task_id=f"t-view-{n}") for n in range(3))

    assert jobs.may_run(first) and reads == [first]  # nothing known yet: read
    jobs.completed(first, {}, unmarked_s=0.0)
    assert jobs.may_run(second) and reads == [first]  # confirmed by that write: no read
    with archive.engine.begin() as conn:  # another process cancels the third job
        conn.exec_driver_sql(jobs_module._CANCEL, {"job_id": third})
    jobs.completed(second, {}, unmarked_s=0.0)  # ... which this write notices
    assert not jobs.may_run(third) and reads == [first, third]

    monkeypatch.setattr(cancelled, "FRESH_S", 0.0)  # an idle worker reads again
    jobs.completed(third, {}, unmarked_s=0.0)  # a cancelled job's row is not overwritten
    assert not jobs.may_run(third) and reads == [first, third, third]
    with archive.engine.connect() as conn:
        statuses = conn.execute(text("SELECT status FROM jobs ORDER BY id")).scalars().all()
    assert statuses == ["completed", "completed", "cancelled"]

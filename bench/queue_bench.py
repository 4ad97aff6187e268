"""The job queue: our Celery wrapper against bare Celery tasks, and a sync on 1 vs 2 workers.

``python bench/queue_bench.py [--quick] [--no-sync]``. Needs the Redis at ``--broker`` (it uses
one db number of its own, flushed before and after every run). Workers are real ``celery
worker`` subprocesses loading ``bench/queue_worker.py``; Postgres is the embedded pgserver of
``harness.py``, one fresh database per run.

Part 1 sends N no-op tasks four ways, all through the same app config, broker and solo worker:
ours with one ``archive.submit`` per job, ours with one ``submit_many``, and two baselines: a
bare task that signals with a Redis ``INCR`` (nothing durable), and a bare task that inserts
one Postgres row (the least a task that records its state durably must do). Each round runs
all four back to back, in a rotated order; the ratios are paired within a round, so a change in
the machine's load between rounds does not skew them. The worker's CPU time per task is
reported too: unlike throughput it hardly moves with what else the machine is doing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from harness import Server, machine
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from alejandria import Archive
from alejandria.builtins import build_plugin_manager
from alejandria.queue.broker import broker_priority, celery_app_for
from alejandria.settings import Settings

BARE_TASK = "bench.noop"
BARE_COUNTER = "bench:done"
READY_COUNTER = "bench:ready"
PARTS = 20
POSTS_PER_PART = 50
POLL_S = 0.01
TIMEOUT_S = 300.0
VISIBILITY_TIMEOUT = 3600
_BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Context:
    server: Server
    broker: str
    workdir: Path

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.broker)

    def settings(self, database: str) -> Settings:
        return Settings(data_dir=self.workdir / "data", load_plugins=False,
                        database_url=SecretStr(self.server.url_for(database)),
                        broker_url=SecretStr(self.broker),
                        broker_visibility_timeout=VISIBILITY_TIMEOUT,
                        process_media=False, download_embeds=False)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT_S) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(POLL_S)


@contextmanager
def worker(ctx: Context, mode: str, database: str, *, pool: str,
           processes: int) -> Iterator[subprocess.Popen[bytes]]:
    """A ``celery worker`` subprocess on the ``sources`` queue, ready when this yields it."""
    env = {**os.environ, "BENCH_QUEUE_MODE": mode, "BENCH_BROKER_URL": ctx.broker,
           "BENCH_DATABASE_URL": ctx.server.url_for(database),
           "BENCH_DATA_DIR": str(ctx.workdir / "data")}
    argv = ["celery", "-A", "queue_worker", "worker", "--pool", pool, "-c", str(processes),
            "-Q", "sources", "--loglevel", "WARNING", "--without-heartbeat",
            "--without-gossip", "--without-mingle"]
    # ``-c`` so the bench folder is importable whatever the working directory.
    boot = (f"import sys; sys.path.append({str(_BENCH)!r}); sys.argv = {argv!r}; "
            "from celery.__main__ import main; main()")
    log = (ctx.workdir / f"worker-{mode}-{pool}-{processes}.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-c", boot], env=env, cwd=ctx.workdir,
                            stdout=log, stderr=subprocess.STDOUT)
    client = ctx.redis()
    try:
        wait_for(lambda: int(client.get(READY_COUNTER) or 0) >= processes
                 or proc.poll() is not None, "the worker to start", 120)
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited; see {log.name}")
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def fresh_broker(ctx: Context) -> None:
    ctx.redis().flushdb()


def count(ctx: Context, database: str, query: str) -> Callable[[], int]:
    engine = create_engine(ctx.server.url_for(database), poolclass=NullPool)
    conn = engine.connect()
    conn.execution_options(isolation_level="AUTOCOMMIT")

    def current() -> int:
        return int(conn.execute(text(query)).scalar_one())

    return current


# -- 1. no-op tasks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NoopRun:
    seconds: float
    send_seconds: float
    worker_cpu_s: float  # user + system time of the worker process over the measured part
    extra: str = ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def noop_ours(ctx: Context, n: int, *, batch: bool = False) -> NoopRun:
    """N no-op jobs: ``archive.submit`` each (or one ``submit_many``), run by our task."""
    fresh_broker(ctx)
    database = ctx.server.fresh_database()
    plugins = build_plugin_manager(load_entrypoints=False)
    with Archive.open(settings=ctx.settings(database), plugins=plugins,
                      migrate=False) as archive, \
            worker(ctx, "ours", database, pool="solo", processes=1) as proc:
        done = count(ctx, database, "SELECT count(*) FROM jobs WHERE status = 'completed'")
        archive.submit("noop")  # warm-up: connections, the cached app
        wait_for(lambda: done() >= 1, "the warm-up job")
        cpu = cpu_seconds(proc.pid)
        start = time.perf_counter()
        if batch:
            archive.submit_many("noop", [{}] * n)
        else:
            for _ in range(n):
                archive.submit("noop")
        sent = time.perf_counter()
        wait_for(lambda: done() >= n + 1, "the no-op jobs")
        end = time.perf_counter()
        cpu = cpu_seconds(proc.pid) - cpu
        stats = count(ctx, database, """
            SELECT round(1000 * avg(extract(epoch FROM completed_at - started_at)), 2)
              FROM jobs WHERE id > (SELECT min(id) FROM jobs)""")()
    ctx.server.drop(database)
    fresh_broker(ctx)
    return NoopRun(end - start, sent - start, cpu,
                   f"started→completed {stats} ms/job (DB clock)")


def noop_bare(ctx: Context, n: int, mode: str) -> NoopRun:
    fresh_broker(ctx)
    database = ctx.server.fresh_database()
    engine = create_engine(ctx.server.url_for(database), poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_done (id bigserial PRIMARY KEY, "
                          "at timestamptz NOT NULL DEFAULT now())"))
    engine.dispose()
    app = celery_app_for(ctx.broker, VISIBILITY_TIMEOUT)  # the very app ``submit`` sends with
    priority = broker_priority(ctx.broker, 5)
    client = ctx.redis()
    if mode == "bare":
        def done() -> int:
            return int(client.get(BARE_COUNTER) or 0)
    else:
        done = count(ctx, database, "SELECT count(*) FROM bench_done")
    with worker(ctx, mode, database, pool="solo", processes=1) as proc:
        app.send_task(BARE_TASK, queue="sources", priority=priority)
        wait_for(lambda: done() >= 1, "the warm-up task")
        cpu = cpu_seconds(proc.pid)
        start = time.perf_counter()
        for _ in range(n):
            app.send_task(BARE_TASK, queue="sources", priority=priority)
        sent = time.perf_counter()
        wait_for(lambda: done() >= n + 1, "the bare tasks")
        end = time.perf_counter()
        cpu = cpu_seconds(proc.pid) - cpu
    ctx.server.drop(database)
    fresh_broker(ctx)
    return NoopRun(end - start, sent - start, cpu)


def submit_only(ctx: Context, n: int) -> tuple[float, float]:
    """Seconds to send N with no worker: ``archive.submit`` (INSERT + send) vs ``send_task``."""
    fresh_broker(ctx)
    database = ctx.server.fresh_database()
    plugins = build_plugin_manager(load_entrypoints=False)
    app = celery_app_for(ctx.broker, VISIBILITY_TIMEOUT)
    priority = broker_priority(ctx.broker, 5)
    with Archive.open(settings=ctx.settings(database), plugins=plugins,
                      migrate=False) as archive:
        archive.jobs.create("noop", {}, queue="sources", priority=5, task_id="warm-up")
        start = time.perf_counter()
        for _ in range(n):
            archive.submit("noop")
        ours = time.perf_counter() - start
    app.send_task(BARE_TASK, queue="sources", priority=priority)
    start = time.perf_counter()
    for _ in range(n):
        app.send_task(BARE_TASK, queue="sources", priority=priority)
    bare = time.perf_counter() - start
    ctx.server.drop(database)
    fresh_broker(ctx)
    return ours, bare


# -- 2. a 1,000-post sync on 1 and 2 worker processes -----------------------------------------


def sync_run(ctx: Context, processes: int) -> float:
    fresh_broker(ctx)
    database = ctx.server.fresh_database()
    plugins = build_plugin_manager(load_entrypoints=False)
    with Archive.open(settings=ctx.settings(database), plugins=plugins,
                      migrate=False) as archive, \
            worker(ctx, "ours", database, pool="prefork", processes=processes):
        finished = count(ctx, database,
                         "SELECT count(*) FROM jobs WHERE status IN ('completed', 'failed')")
        start = time.perf_counter()
        for part in range(PARTS):
            archive.submit("sync", {"source": "bench-parts", "targets": [f"part-{part}"]})
        wait_for(lambda: finished() >= PARTS, "the sync jobs")
        seconds = time.perf_counter() - start
        failed = [job for job in archive.jobs.list(limit=10 * PARTS)
                  if job.job_type == "sync" and job.status != "completed"]
        posts = count(ctx, database, "SELECT count(*) FROM posts")()
    ctx.server.drop(database)
    fresh_broker(ctx)
    if failed or posts != PARTS * POSTS_PER_PART:
        raise RuntimeError(f"the sync went wrong: {posts} posts, failed: "
                           f"{[(job.id, job.error_message) for job in failed]}")
    return seconds


# -- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tasks", type=int, help="no-op tasks per run (2000; quick 300)")
    parser.add_argument("--repeat", type=int,
                        help="rounds of the no-op contenders, runs of each sync (3; quick 1)")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/13",
                        help="a Redis db of the bench's own: it is flushed")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-sync", action="store_true",
                        help="only the no-op tasks (skip part 2, the sync)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help=f"no-op contenders to run (default: all of {', '.join(CONTENDERS)})")
    args = parser.parse_args()
    n = args.tasks or (300 if args.quick else 2000)
    repeat = args.repeat or (1 if args.quick else 3)

    info = machine()
    print(f"CPU: {info['cpu']}  cores: {info['cores']}  memory: {info['memory']}")
    print(f"Python {info['python']} on {info['os']}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    try:
        with Server.start(workdir, args.database_url) as server:
            db = server.describe()
            print(f"Postgres {db['version']} ({db['where']}), fsync={db['fsync']}, "
                  f"synchronous_commit={db['synchronous_commit']}, "
                  f"shared_buffers={db['shared_buffers']}")
            print(f"Redis {args.broker} (flushed before and after each run); workers: "
                  "`celery worker` subprocesses, queue `sources`, the app of make_celery "
                  "(acks_late, prefetch 1)")
            ctx = Context(server, args.broker, workdir)
            run(ctx, n, repeat, args.contenders.split(","), sync=not args.no_sync)
    finally:
        redis.Redis.from_url(args.broker).flushdb()
        shutil.rmtree(workdir, ignore_errors=True)


#: The no-op contenders, in the order of the report.
CONTENDERS = {
    "ours": "ours: archive.submit('noop') per job → alejandria.job (INSERT; an UPDATE)",
    "ours-many": "ours: archive.submit_many('noop', N) → alejandria.job",
    "bare": "bare task, Redis INCR signal",
    "bare-pg": "bare task, one Postgres INSERT signal",
}


def run_noop(ctx: Context, contender: str, n: int) -> NoopRun:
    if contender.startswith("ours"):
        return noop_ours(ctx, n, batch=contender == "ours-many")
    return noop_bare(ctx, n, contender)


def spread(values: list[float]) -> str:
    """``median (min–max)``."""
    return (f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"
            if len(values) > 1 else f"{values[0]:.2f}")


def run(ctx: Context, n: int, repeat: int, contenders: list[str], *,
        sync: bool = True) -> None:
    names = [name for name in CONTENDERS if name in contenders]
    runs: dict[str, list[NoopRun]] = {name: [] for name in names}
    for round_ in range(repeat):
        # Every round runs all four back to back, each round in a rotated order, so drift in
        # the machine's load hits them alike; ratios are taken within a round.
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            runs[name].append(run_noop(ctx, name, n))
    sends = [submit_only(ctx, n) for _ in range(repeat)]
    send_ours = min(s[0] for s in sends)
    send_bare = min(s[1] for s in sends)

    syncs: dict[int, float] = {}
    for processes in (1, 2) if sync else ():
        syncs[processes] = min(sync_run(ctx, processes) for _ in range(repeat))
    posts = PARTS * POSTS_PER_PART

    def rate(count: int, seconds: float) -> str:
        return f"{count / seconds:,.0f}"

    print()
    print(f"1. No-op tasks, {n:,} per run, solo pool -c 1, {repeat} rounds; first send → last "
          "completion. Tasks/s: best, then median (min–max) of the rounds")
    print("| contender | tasks/s best | tasks/s median (min–max) | sending (s) | "
          "worker CPU ms/task |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        label = CONTENDERS[name]
        best = min(runs[name], key=lambda r: r.seconds)
        print(f"| {label} | {rate(n, best.seconds)} | "
              f"{spread([n / r.seconds for r in runs[name]]).replace('.00', '')} | "
              f"{best.send_seconds:.2f} | "
              f"{spread([1000 * r.worker_cpu_s / n for r in runs[name]])} |")
    print()
    print("Throughput ratios, ours/baseline, paired within each round: median (min–max); "
          "best/best")
    print("| ours | vs bare no-op | vs bare one-INSERT |")
    print("|---|---:|---:|")
    for ours in (name for name in names if name.startswith("ours")):
        cells = []
        for base in ("bare", "bare-pg"):
            if base not in runs:
                cells.append("–")
                continue
            paired = [b.seconds / o.seconds for o, b in zip(runs[ours], runs[base], strict=True)]
            best_ratio = (min(r.seconds for r in runs[base])
                          / min(r.seconds for r in runs[ours]))
            cells.append(f"{spread(paired)}; {best_ratio:.2f}")
        print(f"| {ours} | {cells[0]} | {cells[1]} |")
    print()
    if "ours" in runs:
        print(f"ours, per job on the worker: "
              f"{min(runs['ours'], key=lambda r: r.seconds).extra}")
    print(f"sending alone (no worker): archive.submit {rate(n, send_ours)}/s vs send_task "
          f"{rate(n, send_bare)}/s (ratio {send_bare / send_ours:.2f})")
    print("all runs (s): " + ", ".join(
        f"{name} {[round(r.seconds, 2) for r in runs[name]]}" for name in names))
    if not syncs:
        return
    print()
    print(f"2. Sync of {posts:,} synthetic posts (1–3 KB) as {PARTS} jobs of {POSTS_PER_PART}, "
          f"prefork pool, best of {repeat}; first submit → last job finished")
    print("| worker processes | seconds | posts/s | vs 1 process |")
    print("|---:|---:|---:|---:|")
    for processes, seconds in syncs.items():
        print(f"| {processes} | {seconds:.2f} | {rate(posts, seconds)} | "
              f"{syncs[1] / seconds:.2f} |")


if __name__ == "__main__":
    main()

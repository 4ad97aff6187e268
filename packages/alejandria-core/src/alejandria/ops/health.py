"""A fast health report of an open archive, for the web app's ``GET /health`` (polled by load
balancers) and anything else that asks often: the database, Redis, the workers, the data dir's
disk and pgvector -- what ``alejandria doctor`` checks, without opening a new database.

The checks run at once, each in a daemon thread, so a report costs about its slowest check and
never much more than ``timeout_s``: a check with no answer by then (a server that hangs, a
blackholed host) is reported failed and left to finish on its own. A check still running from
an earlier report is waited for again instead of started twice, so a hung server holds one
thread per check however often the report is asked for. Asking the workers costs a Celery ping
(about a second), so their answer is kept ``WORKERS_FRESH_S`` seconds, and an answer up to
``WORKERS_STALE_S`` old is served while a new one is sought in the background.

What the checks say (``why``) holds no secret and no absolute path: passwords of the configured
URLs are hidden, the data dir is called "data dir", and any other path is replaced.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from alejandria.plugin_types import HealthStatus
from alejandria.redaction import REDACTED, redact
from alejandria.storage.capabilities import DatabaseCapabilities

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from alejandria.context import ArchiveContext
    from alejandria.settings import Settings

__all__ = ["CHECK_NAMES", "CheckResult", "CheckStatus", "HealthReport", "ReportStatus",
           "health_report"]

#: A check's verdict (the same words as ``alejandria doctor``'s).
CheckStatus = HealthStatus
#: The report's verdict: see ``HealthReport.status``.
ReportStatus = Literal["ok", "degraded", "down"]
#: The checks of every report, in this order.
CHECK_NAMES = ("database", "redis", "workers", "disk", "pgvector")

#: Seconds a workers' answer is served without asking them again.
WORKERS_FRESH_S = 15.0
#: Seconds an older answer is still served while a new one is sought in the background.
WORKERS_STALE_S = 60.0
#: The most seconds a Celery ping waits for the workers' replies (it always waits that long).
WORKERS_PING_S = 1.0
#: Seconds a report waits beyond ``timeout_s`` so a check's own timeout error can arrive.
GRACE_S = 0.25
#: The longest ``why`` (a driver's message can run on).
MAX_WHY = 240

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

T = TypeVar("T")
#: What a probe finds: a status and why, before it is cleaned and timed.
_Outcome = tuple[CheckStatus, str]


@dataclass(frozen=True)
class CheckResult:
    """One check: ``status``, ``why`` in words an operator can act on, and ``latency_ms``, how
    long the report waited for it."""

    status: CheckStatus
    why: str
    latency_ms: float

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "why": self.why, "latency_ms": round(self.latency_ms, 2)}


@dataclass(frozen=True)
class HealthReport:
    """Every check of ``CHECK_NAMES``, by name."""

    checks: dict[str, CheckResult]

    @property
    def status(self) -> ReportStatus:
        """``down`` when the database fails (nothing works without it); ``degraded`` when any
        other check fails or any check warns (searches work, but jobs, the search cache,
        semantic search or new media may not); ``ok`` when every check is ok."""
        if self.checks["database"].status == "fail":
            return "down"
        if any(check.status != "ok" for check in self.checks.values()):
            return "degraded"
        return "ok"

    @property
    def healthy(self) -> bool:
        """Whether the archive can serve requests (a degraded one can): what a load balancer
        should be told."""
        return self.status != "down"

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status,
                "checks": {name: check.as_json() for name, check in self.checks.items()}}


def health_report(context: ArchiveContext, *, timeout_s: float = 2.0) -> HealthReport:
    """Check the archive's database, Redis, workers, disk and pgvector at once; returns in
    about ``timeout_s`` at most, and never raises for what it finds."""
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be positive, not {timeout_s}")
    settings = context.settings
    started = time.perf_counter()
    deadline = started + timeout_s + GRACE_S
    done_at: dict[str, float] = {}

    def timed(name: str, future: Future[T]) -> Future[T]:
        future.add_done_callback(lambda _f: done_at.setdefault(name, time.perf_counter()))
        return future

    engine = context.engine
    embedded = context.database.embedded is not None
    database = timed("database", _shared(
        "database", engine, lambda: _probe_database(engine, timeout_s, embedded=embedded)))
    redis_url = settings.search_cache_url
    redis = (timed("redis", _shared("redis", redis_url,
                                    lambda: _probe_redis(redis_url, timeout_s)))
             if redis_url is not None else None)
    data_dir, min_free_mb = settings.data_dir, settings.min_free_disk_mb
    disk = timed("disk", _shared("disk", (data_dir, min_free_mb),
                                 lambda: _probe_disk(data_dir, min_free_mb)))
    workers = timed("workers", _start(
        lambda: _check_workers(settings, redis_url, redis, timeout_s, deadline)))

    pending: list[Future[Any]] = [database, disk, workers]
    if redis is not None:
        pending.append(redis)
    wait_for(pending, timeout=max(0.0, deadline - time.perf_counter()))

    clean = _Scrubber(settings)
    late = f"no answer within {timeout_s:g} s"

    def result(name: str, outcome: _Outcome) -> CheckResult:
        elapsed = done_at.get(name, time.perf_counter()) - started
        return CheckResult(outcome[0], clean(outcome[1]), max(0.0, elapsed) * 1000)

    found = _found(database)
    if isinstance(found, tuple):
        db_outcome, vector_outcome = found
    else:
        why = late if found is None else _reason(found)
        db_outcome = ("fail", f"cannot reach the database: {why}")
        vector_outcome = ("fail", "unknown: the database does not answer")
    if redis is None:
        redis_outcome: _Outcome = ("ok", _no_redis_why(settings))
    else:
        redis_outcome = _or_failed(redis, late)
        if redis_outcome[0] == "ok":
            redis_outcome = ("ok", f"{redis_outcome[1]} ({_redis_roles(settings, redis_url)})")
    return HealthReport({
        "database": result("database", db_outcome),
        "redis": result("redis", redis_outcome),
        "workers": result("workers", _or_failed(workers, late)),
        "disk": result("disk", _or_failed(disk, late)),
        "pgvector": result("database", vector_outcome),
    })


# -- running the probes -----------------------------------------------------------------------

_lock = threading.Lock()
#: The probes running now, by kind and key (an engine, a URL, a folder).
_running: dict[tuple[str, object], Future[Any]] = {}


def _start(probe: Callable[[], T]) -> Future[T]:
    """``probe()`` in a daemon thread: one that hangs neither holds up the report nor keeps
    the process from exiting."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            value = probe()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            future.set_exception(exc)
        else:
            future.set_result(value)

    threading.Thread(target=run, name="alejandria-health", daemon=True).start()
    return future


def _shared(kind: str, key: object, probe: Callable[[], T]) -> Future[T]:
    """The probe of ``kind`` for ``key`` that is running now, else a new one."""
    with _lock:
        running = _running.get((kind, key))
        if running is not None and not running.done():
            return running
        future = _start(probe)
        _running[(kind, key)] = future

    def forget(_future: Future[T]) -> None:
        with _lock:
            if _running.get((kind, key)) is future:
                del _running[(kind, key)]

    future.add_done_callback(forget)
    return future


def _found(future: Future[T]) -> T | BaseException | None:
    """What the probe found, what it raised, or None while it runs."""
    if not future.done():
        return None
    return future.exception() or future.result()


def _or_failed(future: Future[_Outcome], late: str) -> _Outcome:
    """The probe's outcome; failed with ``late`` while it runs, or with what it raised."""
    found = _found(future)
    if found is None:
        return ("fail", late)
    if isinstance(found, BaseException):
        return ("fail", f"the check failed: {_reason(found)}")
    return found


def _reason(exc: BaseException) -> str:
    """A short reason: the driver's own message, its first line."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's
    text = str(orig if orig is not None else exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip()


# -- the checks -------------------------------------------------------------------------------

_DATABASE_QUERY = ("SELECT current_setting('server_version'), "
                   "current_setting('server_version_num'), "
                   "(SELECT extversion FROM pg_extension WHERE extname = 'vector')")


def _probe_database(engine: Engine, timeout_s: float, *, embedded: bool
                    ) -> tuple[_Outcome, _Outcome]:
    """The database answers a query within ``timeout_s`` (on a pooled connection; the pool
    pings it first and replaces a dead one); and whether pgvector is enabled there now."""
    from sqlalchemy import text

    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(timeout_s * 1000))}")
            version, version_num, vector = conn.execute(text(_DATABASE_QUERY)).one()
            available = vector is not None or conn.execute(text(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first() is not None
    except Exception as exc:  # noqa: BLE001 - whatever it is, the database does not answer
        return (("fail", f"cannot reach the database: {_reason(exc)}"),
                ("fail", "unknown: the database does not answer"))
    where = "embedded" if embedded else "server"
    caps = DatabaseCapabilities(server_version=str(version),
                                server_version_num=int(version_num),
                                vector_available=available, vector_installed=vector is not None,
                                vector_version=vector)
    reason = caps.semantic_search_reason
    return (("ok", f"PostgreSQL {version} ({where}) answers"),
            ("warn", reason) if reason else ("ok", f"pgvector {vector}"))


_redis_clients: dict[tuple[str, float], Any] = {}


def _redis_client(url: str, timeout_s: float) -> Any:
    """One client (and its connection pool) per URL and timeout: a refused connection is
    tried once more at once (a server restarted since), a timeout is not."""
    key = (url, timeout_s)
    with _lock:
        client = _redis_clients.get(key)
        if client is None:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            if len(_redis_clients) >= 8:  # settings changed many times (tests): start over
                _redis_clients.clear()
            client = redis.Redis.from_url(
                url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)))
            _redis_clients[key] = client
    return client


def _probe_redis(url: str, timeout_s: float) -> _Outcome:
    try:
        _redis_client(url, timeout_s).ping()
    except Exception as exc:  # noqa: BLE001 - refused, timed out, refused our password...
        return ("fail", f"cannot reach Redis: {_reason(exc)}")
    return ("ok", "answers")


def _redis_roles(settings: Settings, url: str | None) -> str:
    broker = settings.broker_url.get_secret_value() if settings.broker_url else None
    if settings.cache_url is None:
        return "broker and search cache"  # the cache is the broker's Redis
    return "search cache and broker" if broker == url else "search cache"


def _no_redis_why(settings: Settings) -> str:
    if settings.broker_url is None:
        return "not configured: jobs run in-process"
    return "not configured: searches are not cached (the broker is not Redis)"


def _probe_disk(data_dir: Path, min_free_mb: int) -> _Outcome:
    try:
        free_mb = shutil.disk_usage(data_dir).free // (1024 * 1024)
    except FileNotFoundError:
        return ("fail", "the data dir does not exist")
    except OSError as exc:
        return ("fail", f"cannot read the data dir: {exc.strerror or exc}")
    if not os.access(data_dir, os.W_OK):
        return ("fail", "the data dir is not writable")
    free = f"{free_mb:,} MB free"
    if free_mb < min_free_mb:
        return ("fail", f"{free}, below the minimum of {min_free_mb:,} MB: new media are refused")
    if free_mb < 2 * min_free_mb:
        return ("warn", f"{free}, close to the minimum of {min_free_mb:,} MB")
    return ("ok", free)


#: The workers' last answer per broker: (time.monotonic() when asked, outcome).
_workers_seen: dict[str, tuple[float, _Outcome]] = {}


def _check_workers(settings: Settings, redis_url: str | None, redis: Future[_Outcome] | None,
                   timeout_s: float, deadline: float) -> _Outcome:
    """No broker: jobs run in-process. Otherwise the broker must answer (a Redis broker's
    answer is the redis check's when it is the same server) before the workers are asked."""
    if settings.broker_url is None:
        return ("ok", "no broker: jobs run in-process")
    url = settings.broker_url.get_secret_value()
    same_redis = url == redis_url and redis is not None
    if url.startswith(_REDIS_SCHEMES):
        if not same_redis or redis is None:
            redis = _shared("redis", url, lambda: _probe_redis(url, timeout_s))
        reach = _wait(redis, deadline)
    else:
        reach = _wait(_shared("broker", url, lambda: _probe_broker(settings, url, timeout_s)),
                      deadline)
    if reach is None:
        return ("fail", f"the broker does not answer within {timeout_s:g} s")
    if reach[0] == "fail":
        return ("fail", "the broker (the same Redis) does not answer: no job runs" if same_redis
                else f"the broker does not answer, so no job runs ({reach[1]})")

    now = time.monotonic()
    with _lock:
        seen = _workers_seen.get(url)
    age = now - seen[0] if seen else None
    if seen and age is not None and age < WORKERS_FRESH_S:
        return _aged(seen[1], age)
    ping_s = min(WORKERS_PING_S, timeout_s / 2)
    visibility = settings.broker_visibility_timeout
    asking = _shared("workers", url, lambda: _ping_workers(url, visibility, ping_s))
    if seen and age is not None and age < WORKERS_STALE_S:
        return _aged(seen[1], age)  # ``asking`` brings the next report a fresh answer
    answer = _wait(asking, deadline)
    if answer is None:
        return ("fail", f"the workers' ping took more than {timeout_s:g} s")
    return answer


def _aged(outcome: _Outcome, age_s: float) -> _Outcome:
    return (outcome[0], f"{outcome[1]} ({age_s:.0f} s ago)") if age_s >= 1 else outcome


def _wait(future: Future[_Outcome], deadline: float) -> _Outcome | None:
    """The probe's outcome, or None when it has none by ``deadline``."""
    wait_for([future], timeout=max(0.0, deadline - time.perf_counter()))
    return None if not future.done() else _or_failed(future, "")


def _probe_broker(settings: Settings, url: str, timeout_s: float) -> _Outcome:
    """A broker other than Redis (RabbitMQ) accepts a connection."""
    from alejandria.queue.broker import celery_app_for

    app = celery_app_for(url, settings.broker_visibility_timeout)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout_s)
    except Exception as exc:  # noqa: BLE001 - any failure means the same to the operator
        return ("fail", f"cannot reach the broker: {_reason(exc)}")
    return ("ok", "reachable")


def _ping_workers(url: str, visibility_timeout: int, ping_s: float) -> _Outcome:
    """Ask the workers (Celery's ping waits ``ping_s`` for every reply); an answer is kept."""
    from alejandria.queue.broker import celery_app_for

    app = celery_app_for(url, visibility_timeout)
    try:
        replies = app.control.ping(timeout=ping_s) or []
    except Exception as exc:  # noqa: BLE001 - the broker went away meanwhile
        return ("fail", f"cannot ask the workers: {_reason(exc)}")
    outcome: _Outcome = (
        ("ok", f"{len(replies)} worker{'s' if len(replies) != 1 else ''} answering")
        if replies else
        ("warn", "no worker answers: start one with 'alejandria worker'"))
    with _lock:
        _workers_seen[url] = (time.monotonic(), outcome)
    return outcome


# -- keeping secrets and paths out ------------------------------------------------------------

#: ``scheme://user:password@`` in a URL: the user info goes.
_USERINFO = re.compile(r"(?<=://)[^/\s@]+@")
#: An absolute path: a slash that follows no word, dot, colon or slash (not a URL's).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/[^\s\"'()\[\]<>,;]+")


class _Scrubber:
    """Cleans a ``why``: no password of a configured URL, no user info of any URL, no
    registered secret, the data dir named "data dir" and no other absolute path."""

    def __init__(self, settings: Settings) -> None:
        self.secrets: list[str] = []
        for secret in (settings.database_url, settings.broker_url, settings.cache_url):
            if secret is not None:
                self.secrets.extend(_passwords(secret.get_secret_value()))
        self.secrets.sort(key=len, reverse=True)
        self.data_dir = str(settings.data_dir)

    def __call__(self, why: str) -> str:
        text = why.strip().splitlines()[0] if why.strip() else ""
        text = _USERINFO.sub(f"{REDACTED}@", text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = redact(text)
        if self.data_dir not in ("", "/"):
            text = re.sub(re.escape(self.data_dir) + r"(?=[/\s\"'),;:]|$)", "data dir", text)
        text = _ABSOLUTE_PATH.sub("[path]", text)
        return text if len(text) <= MAX_WHY else text[:MAX_WHY - 1] + "…"


def _passwords(url: str) -> list[str]:
    """The password of ``url`` (as written and decoded), if it has one."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if not password:
        # several hosts, odd ports: whatever sits between "://user:" and "@"
        match = re.search(r"://[^/@:]*:([^/@]+)@", url)
        password = match.group(1) if match else None
    return sorted({password, unquote(password)}) if password else []

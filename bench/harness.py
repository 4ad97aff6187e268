"""Shared plumbing for the benchmarks: a Postgres server, fresh databases, timing, machine info.

Every measured run gets its own database, copied from a template migrated once (``CREATE
DATABASE ... TEMPLATE`` takes milliseconds), so no run sees another's rows or bloat.
"""

from __future__ import annotations

import ctypes
import os
import platform
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from alejandria.builtins import build_plugin_manager
from alejandria.storage.embedded import EmbeddedPostgres, to_sqlalchemy_url
from alejandria.storage.migrate import upgrade

T = TypeVar("T")


@dataclass
class Server:
    """A Postgres server the benchmark may create and drop databases on."""

    admin_url: str  # SQLAlchemy URL (postgresql+psycopg://...) of a database we may connect to
    embedded: EmbeddedPostgres | None = None
    template: str = ""
    created: list[str] = field(default_factory=list)

    @classmethod
    @contextmanager
    def start(cls, workdir: Path, database_url: str | None = None) -> Iterator[Server]:
        """The server at ``database_url``, or an embedded pgserver under ``workdir``."""
        embedded = None
        if database_url is None:
            embedded = EmbeddedPostgres(workdir / "pgdata")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                url = embedded.start()
        else:
            url = to_sqlalchemy_url(database_url)
        server = cls(admin_url=url, embedded=embedded)
        try:
            server._make_template()
            yield server
        finally:
            for name in reversed(server.created):
                server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if embedded is not None:
                embedded.stop()

    def url_for(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(
            hide_password=False
        )

    def libpq_url(self, database: str) -> str:
        """The same URL for plain psycopg (no ``+psycopg`` driver suffix)."""
        return self.url_for(database).replace("postgresql+psycopg://", "postgresql://", 1)

    def execute(self, statement: str) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()

    def scalar(self, query: str) -> Any:
        engine = create_engine(self.admin_url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return conn.execute(text(query)).scalar_one()
        finally:
            engine.dispose()

    def _make_template(self) -> None:
        name = f"bench_tpl_{uuid.uuid4().hex[:8]}"
        self.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        engine = create_engine(self.url_for(name), poolclass=NullPool)
        try:
            upgrade(engine, build_plugin_manager().migrations())
        finally:
            engine.dispose()
        self.template = name

    def fresh_database(self) -> str:
        """Create a new migrated, empty database; return its name."""
        name = f"bench_{uuid.uuid4().hex[:10]}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def describe(self) -> dict[str, str]:
        with psycopg.connect(self.libpq_url(self.template)) as conn:
            def show(setting: str) -> str:
                row = conn.execute(f"SHOW {setting}").fetchone()
                return str(row[0]) if row else "?"

            return {
                "version": show("server_version"),
                "where": "embedded pgserver (Unix socket)" if self.embedded else "external",
                "fsync": show("fsync"),
                "synchronous_commit": show("synchronous_commit"),
                "shared_buffers": show("shared_buffers"),
            }


@dataclass
class Timing:
    """Seconds of each measured run; ``best`` is what the table reports."""

    runs: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.runs)


def best_of(repeat: int, run: Callable[[], float]) -> Timing:
    """Call ``run`` (which sets up, times its own measured part and returns seconds) N times."""
    timing = Timing()
    for _ in range(repeat):
        timing.runs.append(run())
    return timing


def race(contenders: dict[str, Callable[[], float]], repeat: int) -> dict[str, Timing]:
    """One unmeasured warm-up of each contender, then ``repeat`` measured runs of each,
    interleaved (A B C, A B C, ...) so that drift in the machine's load hits all alike. Each
    contender times its own measured part and returns seconds."""
    for run in contenders.values():
        run()
    timings = {name: Timing() for name in contenders}
    for _ in range(repeat):
        for name, run in contenders.items():
            timings[name].runs.append(run())
    return timings


def runs_line(scenario: str, timings: dict[str, Timing]) -> str:
    """``  scenario: name runs, s: 1.234, 1.200; ...``: every run, for the record."""
    return f"  {scenario}: " + "; ".join(
        f"{name} runs, s: {', '.join(f'{s:.3f}' for s in timing.runs)}"
        for name, timing in timings.items())


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """``with stopwatch() as elapsed: ...``; ``elapsed()`` is the block's wall time."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def machine() -> dict[str, str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or "?"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": f"{usable} usable / {os.cpu_count()} online",
        "memory": mem,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
    }


def print_rows(rows: Sequence[Sequence[str]]) -> None:
    """A table: the first row is the header (underlined), the first column left-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                        for i, (cell, width) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * width for width in widths))


def syncfs(folder: Path) -> None:
    """One ``syncfs`` of ``folder``'s filesystem (``os.sync`` where libc has none)."""
    function = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    if function is None:
        os.sync()
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        if function(fd) != 0:
            raise OSError(ctypes.get_errno(), "syncfs failed")
    finally:
        os.close(fd)


def rename_into(root: Path, temp: Path, sha256: str, made: set[Path]) -> Path:
    """The bare loops' last step of a content-addressed write: ``temp`` renamed to
    ``root/ab/cd/<sha256>`` (its folders made once, remembered in ``made``); the final path."""
    final = root / sha256[:2] / sha256[2:4] / sha256
    if final.parent not in made:
        final.parent.mkdir(parents=True, exist_ok=True)
        made.add(final.parent)
    os.replace(temp, final)
    return final

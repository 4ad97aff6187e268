"""``pg_dump`` and ``pg_restore`` of the server's own major version, and running them.

A dump made by an older ``pg_dump`` may miss what a newer server has, and a newer one writes
SQL an older server refuses (PostgreSQL 17's dumps ``SET transaction_timeout``), so the tools
are picked by the major version the server reports. They are looked for in
``ALEJANDRIA_PG_BIN_DIR``, in pgserver's bundled build (the embedded server's own), in the
places Debian, Red Hat and Homebrew install each version, and on ``PATH``.

The connection is handed to them as a libpq conninfo without the password, which goes in
``PGPASSWORD``: command lines are visible to every user of the machine (``ps``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, Engine

from alejandria.backup import BackupError
from alejandria.redaction import redact

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class PgTools:
    """The client tools of one major version, found in ``bin_dir``."""

    bin_dir: Path
    version: str
    major: int

    @property
    def pg_dump(self) -> Path:
        return self.bin_dir / "pg_dump"

    @property
    def pg_restore(self) -> Path:
        return self.bin_dir / "pg_restore"


@dataclass(frozen=True)
class Target:
    """Where the tools connect: a conninfo without secrets and the environment with them."""

    conninfo: str
    env: dict[str, str]
    description: str

    def with_database(self, name: str) -> Target:
        return Target(_replace_dbname(self.conninfo, name), self.env,
                      f"{self.description} (database {name})")


def target_for(engine: Engine, description: str | None = None) -> Target:
    """The libpq target of ``engine``'s URL (host may be a Unix socket folder)."""
    return target_for_url(engine.url, description)


def target_for_url(url: URL, description: str | None = None) -> Target:
    from psycopg.conninfo import make_conninfo

    params: dict[str, str] = {}
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = str(url.port)
    if url.username:
        params["user"] = url.username
    if url.database:
        params["dbname"] = url.database
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return Target(make_conninfo(**params), env,
                  description or url.render_as_string(hide_password=True))


def _replace_dbname(conninfo: str, name: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = {key: str(value) for key, value in conninfo_to_dict(conninfo).items()}
    params["dbname"] = name
    return make_conninfo(**params)


def server_major(engine: Engine) -> tuple[int, str]:
    """The server's major version and its full version string."""
    with engine.connect() as conn:
        number = int(conn.execute(text("SHOW server_version_num")).scalar_one())
        version = str(conn.execute(text("SHOW server_version")).scalar_one()).split()[0]
    return number // 10000, version


def tools_for(major: int, *, bin_dir: Path | None = None, embedded: bool = False) -> PgTools:
    """The ``pg_dump``/``pg_restore`` of PostgreSQL ``major``; ``BackupError`` naming what was
    found and how to add the right one when there is none."""
    found: list[PgTools] = []
    for directory in _candidate_dirs(major, bin_dir, embedded):
        tools = _tools_in(directory)
        if tools is None:
            continue
        if tools.major == major and tools.pg_restore.is_file():
            return tools
        found.append(tools)
    seen = "; ".join(f"{tools.version} in {tools.bin_dir}" for tools in dict.fromkeys(found))
    raise BackupError(
        f"no pg_dump of PostgreSQL {major} (the database server's version) was found"
        f"{f' (found: {seen})' if seen else ''}: install its client tools (e.g. "
        f"apt install postgresql-client-{major}) or set ALEJANDRIA_PG_BIN_DIR to the folder "
        "holding its pg_dump and pg_restore")


def _candidate_dirs(major: int, bin_dir: Path | None, embedded: bool) -> Iterator[Path]:
    if bin_dir is not None:
        yield bin_dir
    pgserver = _pgserver_bin()
    if embedded and pgserver is not None:
        yield pgserver
    yield Path(f"/usr/lib/postgresql/{major}/bin")
    yield Path(f"/usr/pgsql-{major}/bin")
    for prefix in ("/opt/homebrew/opt", "/usr/local/opt"):
        yield Path(f"{prefix}/postgresql@{major}/bin")
    on_path = shutil.which("pg_dump")
    if on_path:
        yield Path(on_path).resolve().parent
    if pgserver is not None:
        yield pgserver


def _pgserver_bin() -> Path | None:
    """pgserver's bundled binaries, found without importing it (its import starts work)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "pginstall" / "bin"


@lru_cache(maxsize=32)
def _tools_in(directory: Path) -> PgTools | None:
    pg_dump = directory / "pg_dump"
    if not pg_dump.is_file():
        return None
    try:
        done = subprocess.run([str(pg_dump), "--version"], capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)
    except OSError:
        return None
    match = _VERSION.search(done.stdout)
    if done.returncode != 0 or match is None:
        return None
    version = f"{match.group(1)}.{match.group(2) or 0}"
    return PgTools(directory, version, int(match.group(1)))


def run_tool(args: Sequence[str | Path], target: Target, *, action: str) -> None:
    """Run a client tool; ``BackupError`` with ``action`` and the tool's own last words when
    it fails (redacted: a server may echo what it was sent)."""
    try:
        done = subprocess.run([str(arg) for arg in args], capture_output=True, text=True,
                              env=target.env, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise BackupError(f"{action}: cannot run {args[0]}: {exc}") from exc
    if done.returncode != 0:
        raise BackupError(f"{action} failed: {tool_error(done.stderr)}")


def tool_error(stderr: str) -> str:
    """The lines of a tool's error output that say what went wrong, shortened."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    useful = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    chosen = (useful or lines or ["no error output"])[:3]
    message = " / ".join(chosen)
    if len(message) > 600:
        message = message[:600] + "…"
    return redact(message)


__all__ = ["PgTools", "Target", "run_tool", "server_major", "target_for", "target_for_url",
           "tool_error", "tools_for"]

"""The database half of a backup: dump, restore, empty a database, count its rows.

Dumps are pg_dump's custom format (compressed, restorable table by table). A restore runs
in one transaction and stops at the first error, so a dump that fails half-way leaves the
database as empty as it was before, never half restored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from alejandria.backup import BackupError
from alejandria.backup.pgtools import PgTools, Target, run_tool

#: How long emptying the database waits for a table another process holds.
LOCK_TIMEOUT = "10s"


def dump_database(tools: PgTools, target: Target, path: Path, *,
                  snapshot: str | None = None) -> None:
    """``pg_dump`` the target to ``path`` (custom format); ``snapshot``: an exported snapshot
    to dump, so the dump sees exactly what the caller's transaction sees."""
    args: list[str | Path] = [tools.pg_dump, "--format=custom", "--no-password",
                              f"--file={path}", f"--dbname={target.conninfo}"]
    if snapshot is not None:
        args.insert(3, f"--snapshot={snapshot}")
    run_tool(args, target, action=f"dumping {target.description} with {tools.pg_dump}")


def restore_database(tools: PgTools, target: Target, path: Path) -> None:
    """``pg_restore`` ``path`` into the target, in one transaction, stopping at the first
    error; owners and grants are left out (the target's user owns what it restores)."""
    run_tool([tools.pg_restore, "--exit-on-error", "--single-transaction", "--no-owner",
              "--no-privileges", "--no-password", f"--dbname={target.conninfo}", path],
             target, action=f"restoring {path.name} into {target.description}")


def wipe(engine: Engine) -> None:
    """Drop every schema of the database (tables, functions, extensions in them) and leave an
    empty ``public``: what a restore starts from."""
    try:
        with engine.begin() as conn:
            conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            schemas = conn.execute(text(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                "AND nspname <> 'information_schema'")).scalars().all()
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(text("CREATE SCHEMA public"))
    except DBAPIError as exc:
        if "lock timeout" in str(exc.orig):
            raise BackupError("the database is in use: stop the web app, the workers and beat "
                              "(they hold its tables), then restore again") from exc
        raise
    engine.dispose()  # pooled connections know the old types (pgvector's) by their ids


def table_counts(conn: Connection) -> dict[str, int]:
    """Rows of every table of the ``public`` schema."""
    names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                              "ORDER BY tablename")).scalars().all()
    return {name: int(conn.execute(text(f'SELECT count(*) FROM public."{name}"')).scalar_one())
            for name in names}


@contextmanager
def scratch_database(engine: Engine) -> Iterator[Engine]:
    """A new, empty database on ``engine``'s server for this block, dropped afterwards."""
    name = f"alejandria_verify_{uuid.uuid4().hex[:12]}"
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError as exc:
        admin.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise BackupError(f"cannot create a scratch database on "
                          f"{engine.url.render_as_string(hide_password=True)} to test the "
                          f"dump ({reason}): give its user CREATEDB, or verify with "
                          "ALEJANDRIA_DATABASE_URL naming a server where it may") from exc
    scratch = create_engine(engine.url.set(database=name), poolclass=NullPool)
    try:
        yield scratch
    finally:
        scratch.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


__all__ = ["dump_database", "restore_database", "scratch_database", "table_counts", "wipe"]

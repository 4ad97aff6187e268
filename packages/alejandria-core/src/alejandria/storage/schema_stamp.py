"""Telling whether the schema is current with one query instead of Alembic.

Every command opens the archive, and opening it made sure the schema was current by asking
Alembic: importing it and reading every revision script cost a command about 0.15 s, and its
answer was "nothing to do" all but once per release. Now each upgrade (``migrate.upgrade``)
ends by keeping a *stamp* in ``system_config``: a hash of the revision scripts of every branch
it applied (core's and each plugin's). A command whose branches hash to the stamp skips
Alembic; any change of the scripts (a new release, a plugin installed, enabled or disabled)
misses and runs the upgrade, which stamps again.

Only ``migrate.upgrade`` writes the stamp, so a database migrated by hand with the
``alembic`` command is checked by Alembic once, on its next open. ``alejandria db upgrade``
always runs the whole upgrade (and so enables pgvector on a server that gained it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from alejandria.plugin_types import MigrationSpec

STAMP_KEY = "schema.stamp"
#: Changes when what an upgrade does besides the scripts changes (``ensure_vector_storage``).
_STAMP_VERSION = "1"


def fingerprint(specs: Iterable[MigrationSpec]) -> str:
    """A hash of each branch's name and revision scripts (names and bytes)."""
    digest = hashlib.sha256(_STAMP_VERSION.encode())
    for spec in sorted(specs, key=lambda spec: spec.name):
        digest.update(b"\0branch\0" + spec.name.encode())
        for script in sorted(spec.path.glob("*.py")):
            digest.update(b"\0" + script.name.encode() + b"\0")
            digest.update(script.read_bytes())
    return digest.hexdigest()


def is_stamped(engine: Engine, stamp: str) -> bool:
    """Whether the last upgrade of this database applied exactly these scripts."""
    with engine.connect() as conn:
        try:
            value = conn.execute(
                text("SELECT value #>> '{}' FROM system_config WHERE key = :key"),
                {"key": STAMP_KEY},
            ).scalar()
        except DBAPIError:  # a new database: no system_config yet
            return False
    return bool(value == stamp)


def write_stamp(conn: Connection, stamp: str) -> None:
    """Keep ``stamp`` (in the upgrade's transaction, so it commits with the schema)."""
    conn.execute(
        text("INSERT INTO system_config (key, value, description) "
             "VALUES (:key, to_jsonb(CAST(:stamp AS text)), :description) "
             "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()"),
        {"key": STAMP_KEY, "stamp": stamp,
         "description": "hash of the migration scripts last applied (storage.schema_stamp)"},
    )

"""Applying migrations: core's Alembic branch plus every plugin's ``register_migrations``.

Each branch keeps its own version table (``alembic_version`` for core,
``alembic_version_<name>`` for a plugin), so a database stays usable when a plugin whose
migrations once ran is disabled or uninstalled: its tables simply stay, unused. Core runs
first, then plugins by name, so a plugin's migrations can rely on core's tables.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from alejandria.plugin_types import MigrationSpec
from alejandria.storage.schema_stamp import fingerprint, write_stamp
from alejandria.storage.vector_schema import ensure_vector_storage

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
CORE_BRANCH = "core"
#: Serialises concurrent upgrades from several processes (any constant works).
_UPGRADE_LOCK_KEY = 0x616C656A

Specs = dict[str, MigrationSpec]


def core_spec() -> MigrationSpec:
    return MigrationSpec(name=CORE_BRANCH, path=MIGRATIONS_DIR / "versions", plugin="core")


def version_table(branch: str) -> str:
    return "alembic_version" if branch == CORE_BRANCH else f"alembic_version_{branch}"


def alembic_config(spec: MigrationSpec | None = None,
                   connection: Connection | None = None) -> Config:
    """An Alembic config for one branch (core's by default, e.g. for ``alembic revision``)."""
    spec = spec or core_spec()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_locations", str(spec.path))
    config.set_main_option("path_separator", "space")
    config.attributes["version_table"] = version_table(spec.name)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _ordered(specs: Specs | None) -> list[MigrationSpec]:
    specs = dict(specs or {})
    core = specs.pop(CORE_BRANCH, core_spec())
    return [core, *(specs[name] for name in sorted(specs))]


def head_revisions(specs: Specs | None = None) -> dict[str, set[str]]:
    return {spec.name: set(ScriptDirectory.from_config(alembic_config(spec)).get_heads())
            for spec in _ordered(specs)}


def current_revisions(connection: Connection, specs: Specs | None = None) -> dict[str, set[str]]:
    return {
        spec.name: set(MigrationContext.configure(
            connection, opts={"version_table": version_table(spec.name)}).get_current_heads())
        for spec in _ordered(specs)
    }


def is_up_to_date(engine: Engine, specs: Specs | None = None) -> bool:
    with engine.connect() as conn:
        return current_revisions(conn, specs) == head_revisions(specs)


def upgrade(engine: Engine, specs: Specs | None = None) -> None:
    """Bring every branch to its newest revision (safe to run concurrently), and stamp the
    database with the scripts applied (``schema_stamp``)."""
    branches = _ordered(specs)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
        for spec in branches:
            command.upgrade(alembic_config(spec, conn), "heads")
        ensure_vector_storage(conn)
        write_stamp(conn, fingerprint(branches))
    log.info("database schema is up to date")

"""Applying migrations: core's Alembic branch plus every plugin's ``register_migrations``."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from alejandria.db.vectors import ensure_vector_storage
from alejandria.plugin_types import MigrationSpec

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: Serialises concurrent upgrades from several processes (any constant works).
_UPGRADE_LOCK_KEY = 0x616C656A


def alembic_config(connection: Connection | None = None,
                   plugin_migrations: dict[str, MigrationSpec] | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Core's own branch arrives through ``register_migrations`` like any plugin's; the
    # default keeps Alembic usable without a plugin manager (e.g. for ``revision``).
    locations = [str(spec.path) for spec in (plugin_migrations or {}).values()]
    locations = locations or [str(MIGRATIONS_DIR / "versions")]
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revisions(plugin_migrations: dict[str, MigrationSpec] | None = None) -> set[str]:
    script = ScriptDirectory.from_config(alembic_config(None, plugin_migrations))
    return set(script.get_heads())


def current_revisions(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def is_up_to_date(engine: Engine,
                  plugin_migrations: dict[str, MigrationSpec] | None = None) -> bool:
    with engine.connect() as conn:
        return current_revisions(conn) == head_revisions(plugin_migrations)


def upgrade(engine: Engine, plugin_migrations: dict[str, MigrationSpec] | None = None) -> None:
    """Bring the database to the newest revision of every branch (safe to run concurrently)."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
        command.upgrade(alembic_config(conn, plugin_migrations), "heads")
        ensure_vector_storage(conn)
    log.info("database schema is up to date")

"""Alembic environment: runs on the connection ``alejandria.storage.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from alejandria.storage.schema import metadata

config = context.config
context.configure(
    connection=config.attributes["connection"],
    target_metadata=metadata,
    version_table=config.attributes.get("version_table", "alembic_version"),
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

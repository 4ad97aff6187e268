"""Alembic environment: runs on the connection ``alejandria.db.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from alejandria.db.schema import metadata

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()

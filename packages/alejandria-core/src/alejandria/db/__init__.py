"""Postgres storage: schema, engine (embedded or external), migrations, repository."""

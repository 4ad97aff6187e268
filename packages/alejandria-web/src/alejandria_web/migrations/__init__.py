"""The web app's tables, in their own Alembic branch (``register_migrations``)."""

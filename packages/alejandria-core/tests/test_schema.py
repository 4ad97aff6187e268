"""The migrations build exactly the schema the code declares."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from alejandria.storage.schema import metadata


def test_migrated_database_matches_the_declared_schema(alejandria_database_url):
    engine = create_engine(alejandria_database_url, poolclass=NullPool)
    with warnings.catch_warnings(), engine.connect() as conn:
        warnings.simplefilter("ignore")  # SQLAlchemy does not know pgvector's column type
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    # the embedding tables are created outside the declared schema, only where pgvector exists;
    # installed plugins' own branches (the web app's sessions) are theirs to declare
    elsewhere = ("chunk_embeddings", "transcript_embeddings", "web_sessions", "bm25_",
                 "alembic_version_")
    assert [d for d in differences if not any(t in str(d) for t in elsewhere)] == []

"""A Postgres without pgvector: everything but vector storage works, and we say why."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from alejandria.api import Archive
from alejandria.errors import SearchUnavailable
from alejandria.models import Checkpoint, CreatorIn, PostIn
from alejandria.ops.doctor import run_checks
from alejandria.settings import Settings
from alejandria.testing import require

PLAIN_URL_ENV = "ALEJANDRIA_TEST_PLAIN_POSTGRES_URL"


@pytest.fixture
def plain_database_url():
    base = os.environ.get(PLAIN_URL_ENV)
    require(bool(base), f"set {PLAIN_URL_ENV} to a Postgres server without pgvector")
    assert base is not None
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name='vector'")).first():
            pytest.skip("that server has pgvector")
        name = f"alejandria_plain_{uuid.uuid4().hex[:10]}"
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_migrates_and_searches_without_pgvector(plain_database_url, plugin_manager, tmp_path,
                                                register_plugin, memory_source):
    settings = Settings(data_dir=tmp_path, database_url=plain_database_url)
    with Archive.open(settings=settings, plugins=plugin_manager, migrate=True) as archive:
        tables = set(inspect(archive.engine).get_table_names())
        assert {"posts", "chunks", "media_files", "jobs", "audit_log"} <= tables
        assert "chunk_embeddings" not in tables
        assert "pgvector" in archive.capabilities().semantic_search_reason

        memory_source.content["t"] = [CreatorIn(external_id="c", name="C"),
                                      PostIn(external_id="p", creator_external_id="c",
                                             title="Tránsitos", text="progresiones"),
                                      Checkpoint()]
        assert archive.sync("memory", "t").ok
        assert [h.title for h in archive.search("transitos")] == ["Tránsitos"]
        # a sentence would go to hybrid; without pgvector auto falls back to full-text
        assert [h.mode for h in archive.search("progresiones y tránsitos")] == ["fulltext"]
        for mode in ("semantic", "hybrid"):
            with pytest.raises(SearchUnavailable, match="no pgvector extension"):
                archive.search("progresiones", mode=mode)
        with pytest.raises(SearchUnavailable, match="pgvector"):
            archive.embed_backfill()

    checks = {c.name: c for c in run_checks(settings, plugin_manager)}
    assert checks["pgvector"].status == "warn"
    assert "semantic search is unavailable" in checks["pgvector"].detail
    assert checks["schema"].status == "ok"

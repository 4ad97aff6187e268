"""Real Postgres for tests: one server and one migrated template per session, a copy per test."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TEST_DATABASE_ENV = "ALEJANDRIA_TEST_DATABASE_URL"


def _admin_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    from alejandria.storage.embedded import to_sqlalchemy_url

    return make_url(to_sqlalchemy_url(url)).render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _execute_autocommit(url: str, statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=_null_pool())
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


@pytest.fixture(scope="session")
def alejandria_server_url() -> Iterator[str]:
    """An admin URL for a Postgres server the tests may create databases on.

    The embedded server's data lives in its own temporary folder, not under pytest's
    ``basetemp``: pytest deletes old basetemps when other pytest runs start, which would pull
    the data out from under a running server.
    """
    external = os.environ.get(TEST_DATABASE_ENV)
    if external:
        yield _admin_url(external)
        return
    from alejandria.storage.embedded import EmbeddedPostgres

    root = Path(tempfile.mkdtemp(prefix="alejandria-test-pg-"))
    server = EmbeddedPostgres(root / "pgdata")
    url = server.start()
    try:
        yield url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def alejandria_template_url(alejandria_server_url: str) -> Iterator[str]:
    """A database migrated once per session; each test copies it."""
    from sqlalchemy import create_engine

    from alejandria.builtins import build_plugin_manager
    from alejandria.storage.migrate import upgrade

    name = f"alejandria_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _execute_autocommit(alejandria_server_url, f'CREATE DATABASE "{name}"')
    url = _with_database(alejandria_server_url, name)
    engine = create_engine(url, poolclass=_null_pool())
    try:
        upgrade(engine, build_plugin_manager().migrations())
    finally:
        engine.dispose()
    try:
        yield url
    finally:
        _execute_autocommit(alejandria_server_url, f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture
def alejandria_database_url(alejandria_server_url: str,
                            alejandria_template_url: str) -> Iterator[str]:
    """A fresh migrated database for one test, dropped afterwards."""
    from sqlalchemy.engine import make_url

    template = make_url(alejandria_template_url).database
    name = f"alejandria_test_{uuid.uuid4().hex[:12]}"
    _execute_autocommit(alejandria_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _with_database(alejandria_server_url, name)
    finally:
        _execute_autocommit(alejandria_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

"""The ``alejandria.testing`` pytest plugin: real Postgres databases and fresh plugin managers.

Installed with alejandria-core (``pytest11`` entry point), so plugin authors get:

- ``alejandria_database_url``: a new, migrated, empty database for this test (created from a
  template in milliseconds), on ``ALEJANDRIA_TEST_DATABASE_URL`` or an embedded pgserver;
- ``plugin_manager``: a fresh manager with core's built-ins and the installed plugins;
- ``register_plugin``: register a module/object of hookimpls for one test (always removed);
- ``archive``: an open ``Archive`` on that database with a temporary data dir;
- ``alejandria_redis_url``: a Redis database of its own, for tests of the job queue;

and two helpers: ``require`` (skip a test locally when a tool is missing, fail it in CI) and
``run_cli`` (the real ``alejandria`` command in a subprocess, as a user or a script runs it).

Nothing heavy is imported until a fixture is used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from alejandria.api import Archive
    from alejandria.models import Actor, JsonDict
    from alejandria.plugin_types import SourceContext
    from alejandria.plugins import PluginManager
    from alejandria.settings import Settings

TEST_DATABASE_ENV = "ALEJANDRIA_TEST_DATABASE_URL"


def require(condition: bool, hint: str) -> None:
    """Skip locally when a tool is missing, but fail in CI, where it must be installed."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"missing in CI: {hint}")
    pytest.skip(hint)


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(env: dict[str, str], *args: str | Path, timeout: float = 120) -> CliResult:
    """Run ``alejandria ARGS`` in a subprocess with ``env`` (no stdin, output captured)."""
    done = subprocess.run([sys.executable, "-m", "alejandria.cli.main", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return CliResult(done.returncode, done.stdout, done.stderr)


def source_context(plugins: PluginManager, settings: Settings, *,
                   options: JsonDict | None = None, credentials: JsonDict | None = None,
                   actor: Actor | None = None) -> SourceContext:
    """A ``SourceContext`` as a sync builds one (every plugin's settings read from the
    environment now), to test a source's ``resolve``/``fetch`` without the pipeline."""
    from alejandria.plugin_types import SourceContext
    from alejandria.plugins.settings import load_plugin_settings

    return SourceContext(settings=settings, credentials=credentials, options=dict(options or {}),
                         actor=actor,
                         plugin_settings=load_plugin_settings(plugins.settings_specs().values()))


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


@pytest.fixture
def alejandria_redis_url() -> Iterator[str]:
    """A Redis database of its own (flushed before and after) on ``ALEJANDRIA_TEST_REDIS_URL``
    (default 127.0.0.1:6379): skipped without Redis, failed under CI."""
    import random

    import redis

    base = os.environ.get("ALEJANDRIA_TEST_REDIS_URL", "redis://127.0.0.1:6379")
    url = f"{base.rstrip('/')}/{random.randint(1, 15)}"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not running at {base}")
        pytest.skip(f"Redis is not running at {base}")
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def plugin_manager() -> PluginManager:
    """A fresh plugin manager: core's built-ins plus the installed entry points."""
    from alejandria.builtins import build_plugin_manager

    return build_plugin_manager()


@pytest.fixture
def register_plugin(plugin_manager: PluginManager) -> Iterator[Callable[..., None]]:
    """``register_plugin(module_or_object, name=...)`` for the length of one test."""
    added: list[str] = []

    def register(plugin: object, name: str | None = None) -> None:
        plugin_name = name or getattr(plugin, "__name__", None) or f"test-{len(added)}"
        plugin_manager.register(plugin, plugin_name)
        added.append(plugin_name)

    yield register
    for name in added:
        plugin_manager.unregister(name)


@pytest.fixture
def archive(alejandria_database_url: str, plugin_manager: PluginManager,
            tmp_path: Path) -> Iterator[Archive]:
    """An open archive on a fresh database, with its data dir in ``tmp_path``.

    Syncs do not embed what they wrote (``embed_after_sync`` off: a local model costs
    seconds per sync); a test of semantic search turns it on or calls ``embed_backfill()``.
    """
    from alejandria.api import Archive
    from alejandria.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", database_url=alejandria_database_url,
                        embed_after_sync=False)
    with Archive.open(settings=settings, plugins=plugin_manager, migrate=False) as opened:
        yield opened

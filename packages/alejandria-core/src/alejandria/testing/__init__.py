"""The ``alejandria.testing`` pytest plugin: real Postgres databases, archives and read helpers.

Installed with alejandria-core (``pytest11`` entry point), so plugin authors get, without a
``conftest.py``:

- ``alejandria_database_url``: a new, migrated, empty database for this test (created from a
  template in milliseconds), on ``ALEJANDRIA_TEST_DATABASE_URL`` or an embedded pgserver;
- ``plugin_manager``: a fresh manager with core's built-ins and the installed plugins;
- ``register_plugin``: register a module/object of hookimpls for one test (always removed);
- ``alejandria_settings_overrides``: override it in a conftest to change the settings below;
- ``alejandria_settings``: this test's ``Settings`` (data dir in ``tmp_path``, no database);
- ``archive``: an open ``Archive`` with those settings on the test's database;
- ``open_archive``: ``open_archive(**overrides)`` opens another one on the same database;
- ``alejandria_cli_env`` / ``alejandria_cli``: the real ``alejandria`` command on that
  database and data dir, in a subprocess;
- ``alejandria_redis_url``: a flushed Redis database for tests of the job queue, on a private
  ``redis-server`` the session starts on a free port (never the machine's Redis), or on
  ``ALEJANDRIA_TEST_REDIS_URL`` when you name one;
- ``alejandria_s3`` (``S3Bucket``): a fresh bucket on a real S3-protocol server (moto's
  server mode on a free port, or ``ALEJANDRIA_TEST_S3_ENDPOINT``) and the settings that keep
  an archive's media there (``settings``, ``env``);
- ``alejandria_http_server``: a local HTTP server (``HttpFixture``) on 127.0.0.1 and a free
  port, serving the JSON (or bytes, or ``Reply``) of its ``routes`` dict, for a source that
  reads a site;

the markers ``slow``, ``needs_redis`` (set by the kit on tests using Redis) and
``needs_model``; the helpers ``require`` (skip a test locally when a tool is missing, fail it
in CI), ``run_cli``/``CliResult`` and ``source_context``; ``reads``, typed reads of what a sync
stored (``from alejandria.testing import reads``); and ``contracts.SourceContract``. The
session runs with ``ALEJANDRIA_EMBEDDED_LINGER_S=0``: no embedded server outlives a test.

Nothing heavy is imported until a fixture or ``reads`` is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from alejandria.testing.databases import (
    TEST_DATABASE_ENV,
    alejandria_database_url,
    alejandria_server_url,
    alejandria_template_url,
)
from alejandria.testing.fixtures import (
    DEFAULT_SETTINGS,
    alejandria_cli,
    alejandria_cli_env,
    alejandria_settings,
    alejandria_settings_overrides,
    archive,
    open_archive,
    plugin_manager,
    register_plugin,
)
from alejandria.testing.helpers import CliResult, require, run_cli, source_context
from alejandria.testing.http_fixture import HttpFixture, Reply, alejandria_http_server
from alejandria.testing.markers import pytest_collection_modifyitems
from alejandria.testing.redis_server import (
    TEST_REDIS_ENV,
    alejandria_redis_url,
    alejandria_test_redis,
)
from alejandria.testing.s3_server import (
    TEST_S3_ENV,
    S3Bucket,
    S3Server,
    alejandria_s3,
    alejandria_s3_server,
)
from alejandria.testing.session import pytest_configure

if TYPE_CHECKING:
    from alejandria.plugins import PluginManager
    from alejandria.settings import Settings
    from alejandria.testing import reads

__all__ = [
    "DEFAULT_SETTINGS",
    "TEST_DATABASE_ENV",
    "TEST_REDIS_ENV",
    "TEST_S3_ENV",
    "CliResult",
    "HttpFixture",
    "PluginManager",
    "Reply",
    "S3Bucket",
    "S3Server",
    "Settings",
    "alejandria_cli",
    "alejandria_cli_env",
    "alejandria_database_url",
    "alejandria_http_server",
    "alejandria_redis_url",
    "alejandria_s3",
    "alejandria_s3_server",
    "alejandria_server_url",
    "alejandria_settings",
    "alejandria_settings_overrides",
    "alejandria_template_url",
    "alejandria_test_redis",
    "archive",
    "open_archive",
    "plugin_manager",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "reads",
    "register_plugin",
    "require",
    "run_cli",
    "source_context",
]


#: Imported when first asked for, so loading the pytest plugin stays cheap: the read helpers,
#: and the types of the fixtures' values, for a test's annotations.
_LAZY = {
    "reads": ("alejandria.testing.reads", None),
    "PluginManager": ("alejandria.plugins", "PluginManager"),
    "Settings": ("alejandria.settings", "Settings"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'alejandria.testing' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)

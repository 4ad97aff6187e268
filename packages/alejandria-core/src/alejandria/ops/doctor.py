"""``alejandria doctor`` (and the web app's health page): every registered health check,
core's and the plugins', run against the database opened once."""

from __future__ import annotations

import logging

from alejandria.errors import AlejandriaError
from alejandria.ops import checks as builtin
from alejandria.plugin_types import HealthContext, HealthResult
from alejandria.plugins import PluginManager
from alejandria.settings import Settings
from alejandria.storage.engine import Database, open_database

log = logging.getLogger(__name__)

#: What ``run_checks`` returns: one result per line of ``alejandria doctor``.
Check = HealthResult


def run_checks(settings: Settings, plugins: PluginManager) -> list[HealthResult]:
    """Run every health check; one that raises is a failed check naming its plugin."""
    database: Database | None = None
    error = None
    try:
        database = open_database(settings)
    except AlejandriaError as exc:
        error = str(exc)
    try:
        context = HealthContext(settings=settings, plugins=plugins,
                                engine=database.engine if database else None,
                                database=database.description if database else "",
                                database_error=error)
        try:
            checks = plugins.health_checks().values()
        except AlejandriaError as exc:
            # a broken registry: still report what core can see without it
            return [*builtin.data_dir(context), HealthResult("plugins", "fail", str(exc)),
                    *builtin.database(context)]
        results: list[HealthResult] = []
        for spec in checks:
            try:
                results.extend(spec.check(context))
            except Exception as exc:
                log.debug("health check %s failed", spec.name, exc_info=True)
                results.append(HealthResult(spec.name, "fail", f"{plugins.describe(spec.plugin)}"
                                            f" failed: {type(exc).__name__}: {exc}"))
        return results
    finally:
        if database is not None:
            database.close()

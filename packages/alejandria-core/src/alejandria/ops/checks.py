"""Core's health checks (registered through ``register_health_checks`` like a plugin's):
the data dir, the plugins, the media tools, the database and the queue. Each says what to do
when it warns or fails."""

from __future__ import annotations

import importlib.util
import os
import shutil

from alejandria.errors import AlejandriaError
from alejandria.plugin_types import HealthContext, HealthResult
from alejandria.plugins import PluginManager
from alejandria.storage.capabilities import detect_capabilities

MIN_SERVER_VERSION = 140000


def data_dir(context: HealthContext) -> list[HealthResult]:
    settings = context.settings
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return [HealthResult("data dir", "fail", f"cannot create {path}: {exc.strerror}")]
    if not os.access(path, os.W_OK):
        return [HealthResult("data dir", "fail", f"{path} is not writable")]
    free_mb = shutil.disk_usage(path).free // (1024 * 1024)
    if free_mb < settings.min_free_disk_mb:
        return [HealthResult("data dir", "fail", f"{path}: only {free_mb} MB free "
                             f"(minimum {settings.min_free_disk_mb} MB)")]
    return [HealthResult("data dir", "ok", f"{path} ({free_mb:,} MB free)")]


def media_store(context: HealthContext) -> list[HealthResult]:
    """The media store answers (a folder is writable; a bucket exists and takes our keys)."""
    from alejandria.context import open_media_store

    manager = context.plugins
    assert isinstance(manager, PluginManager)
    try:
        store = open_media_store(context.settings, manager)
        described = store.check()
    except AlejandriaError as exc:
        return [HealthResult("media store", "fail", str(exc))]
    return [HealthResult("media store", "ok", described)]


def plugins(context: HealthContext) -> list[HealthResult]:
    manager = context.plugins
    assert isinstance(manager, PluginManager)
    results = []
    broken = [info for info in manager.plugins() if info.error]
    for info in broken:
        results.append(HealthResult(f"plugin {info.name}", "fail",
                                    f"{info.package or info.name}: {info.error}"))
    try:
        sources = manager.sources()
        backends = manager.search_backends()
    except AlejandriaError as exc:
        return [*results, HealthResult("plugins", "fail", str(exc))]
    loaded = len(manager.plugins()) - len(broken)
    results.append(HealthResult(
        "plugins", "ok", f"{loaded} loaded; sources: {', '.join(sorted(sources)) or 'none'}; "
                         f"search: {', '.join(sorted(backends))}"))
    return results


def media_tools(context: HealthContext) -> list[HealthResult]:
    """Transcriber and video downloader that cannot run here, with the install command."""
    settings = context.settings
    results = []
    try:
        transcriber = context.plugins.transcriber(settings.transcriber)
        engine = transcriber.factory(settings)
        availability = engine.availability()
        name = f"transcriber {transcriber.name}"
        results.append(HealthResult(name, "ok", f"model {engine.model_name}")
                       if availability.available
                       else HealthResult(name, "warn", availability.reason or "unavailable"))
    except AlejandriaError as exc:
        results.append(HealthResult("transcriber", "warn", str(exc)))
    if importlib.util.find_spec("yt_dlp") is None:
        results.append(HealthResult("video", "warn", "embedded videos are not downloaded: "
                                    "pip install 'alejandria-core[video]'"))
    else:
        results.append(HealthResult("video", "ok", "embedded videos are downloaded with yt-dlp"))
    return results


def database(context: HealthContext) -> list[HealthResult]:
    if context.engine is None:
        return [HealthResult("database", "fail", context.database_error or "not opened")]
    manager = context.plugins
    assert isinstance(manager, PluginManager)
    try:
        specs = manager.migrations()
    except AlejandriaError:
        specs = {}  # reported by the plugins check
    # imported here: registering the checks (every command does) must not import Alembic
    from alejandria.storage.migrate import current_revisions, head_revisions

    with context.engine.connect() as conn:
        caps = detect_capabilities(conn)
        current = current_revisions(conn, specs)
    heads = head_revisions(specs)
    results = []
    if caps.server_version_num < MIN_SERVER_VERSION:
        results.append(HealthResult("database", "fail",
                                    f"{context.database}: PostgreSQL {caps.server_version} is "
                                    "too old (14 or newer is needed)"))
    else:
        results.append(HealthResult("database", "ok",
                                    f"{context.database} (PostgreSQL {caps.server_version})"))
    behind = sorted(name for name in heads if current.get(name) != heads[name])
    if behind:
        state = ("not created yet" if not any(current.values())
                 else f"behind ({', '.join(behind)})")
        if context.settings.uses_embedded_database:
            results.append(HealthResult("schema", "warn", f"schema is {state}; the embedded "
                                        "database is migrated on first use"))
        else:
            results.append(HealthResult("schema", "fail",
                                        f"schema is {state}: run 'alejandria db upgrade'"))
    else:
        versions = ", ".join(f"{name} {'+'.join(sorted(revs))}"
                             for name, revs in current.items())
        results.append(HealthResult("schema", "ok", f"up to date ({versions})"))
    reason = caps.semantic_search_reason
    results.append(HealthResult("pgvector", "warn", reason) if reason else
                   HealthResult("pgvector", "ok", f"pgvector {caps.vector_version}"))
    return results


def queue(context: HealthContext) -> list[HealthResult]:
    """The broker answers and workers listen (only when a broker is configured)."""
    settings = context.settings
    if settings.broker_url is None:
        return [HealthResult("queue", "ok", "no broker configured: jobs run in this process")]
    from alejandria.queue.broker import configured_app

    app = configured_app(settings)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure means the same to the user
        return [HealthResult("broker", "fail", f"cannot reach the broker: {exc}")]
    replies = app.control.ping(timeout=1.0) or []
    if not replies:
        return [HealthResult("broker", "ok", "reachable"),
                HealthResult("workers", "warn",
                             "no worker answers: start one with 'alejandria worker'")]
    return [HealthResult("broker", "ok", "reachable"),
            HealthResult("workers", "ok", f"{len(replies)} worker(s) answering")]

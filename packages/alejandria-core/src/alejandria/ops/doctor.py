"""Health checks behind ``alejandria doctor`` (and, later, the web's health endpoint)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import asdict, dataclass
from typing import Literal

from alejandria.errors import AlejandriaError
from alejandria.plugins import PluginManager
from alejandria.settings import Settings
from alejandria.storage.capabilities import detect_capabilities
from alejandria.storage.engine import open_database
from alejandria.storage.migrate import current_revisions, head_revisions

Status = Literal["ok", "warn", "fail"]
MIN_SERVER_VERSION = 140000


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def run_checks(settings: Settings, plugins: PluginManager) -> list[Check]:
    checks = [_check_data_dir(settings), *_check_plugins(plugins)]
    checks += _check_database(settings, plugins)
    checks += _check_queue(settings)
    return checks


def _check_queue(settings: Settings) -> list[Check]:
    """The broker answers and workers listen (only when a broker is configured)."""
    if settings.broker_url is None:
        return [Check("queue", "ok", "no broker configured: jobs run in this process")]
    from alejandria.queue.celery_app import make_celery

    app = make_celery(settings)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure means the same to the user
        return [Check("broker", "fail", f"cannot reach the broker: {exc}")]
    replies = app.control.ping(timeout=1.0) or []
    if not replies:
        return [Check("broker", "ok", "reachable"),
                Check("workers", "warn", "no worker answers: start one with 'alejandria worker'")]
    return [Check("broker", "ok", "reachable"),
            Check("workers", "ok", f"{len(replies)} worker(s) answering")]


def _check_data_dir(settings: Settings) -> Check:
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return Check("data dir", "fail", f"cannot create {path}: {exc.strerror}")
    if not os.access(path, os.W_OK):
        return Check("data dir", "fail", f"{path} is not writable")
    free_mb = shutil.disk_usage(path).free // (1024 * 1024)
    if free_mb < settings.min_free_disk_mb:
        return Check("data dir", "fail",
                     f"{path}: only {free_mb} MB free (minimum {settings.min_free_disk_mb} MB)")
    return Check("data dir", "ok", f"{path} ({free_mb:,} MB free)")


def _check_plugins(plugins: PluginManager) -> list[Check]:
    checks = []
    broken = [info for info in plugins.plugins() if info.error]
    for info in broken:
        checks.append(Check(f"plugin {info.name}", "fail",
                            f"{info.package or info.name}: {info.error}"))
    try:
        sources = plugins.sources()
        backends = plugins.search_backends()
        plugins.migrations()
    except AlejandriaError as exc:
        return [*checks, Check("plugins", "fail", str(exc))]
    checks += _check_processors(plugins)
    loaded = len(plugins.plugins()) - len(broken)
    checks.append(Check("plugins", "ok",
                        f"{loaded} loaded; sources: {', '.join(sorted(sources)) or 'none'}; "
                        f"search: {', '.join(sorted(backends))}"))
    return checks


def _check_processors(plugins: PluginManager) -> list[Check]:
    """Processors and transcribers that cannot run here, with the install command (warn)."""
    from alejandria.settings import Settings

    settings = Settings()
    checks = []
    try:
        transcriber = plugins.transcriber(settings.transcriber)
        engine = transcriber.factory(settings)
        availability = engine.availability()
        name = f"transcriber {transcriber.name}"
        checks.append(Check(name, "ok", f"model {engine.model_name}") if availability.available
                      else Check(name, "warn", availability.reason or "unavailable"))
    except AlejandriaError as exc:
        checks.append(Check("transcriber", "warn", str(exc)))
    if importlib.util.find_spec("yt_dlp") is None:
        checks.append(Check("video", "warn", "embedded videos are not downloaded: "
                            "pip install 'alejandria-core[video]'"))
    else:
        checks.append(Check("video", "ok", "embedded videos are downloaded with yt-dlp"))
    return checks


def _check_database(settings: Settings, plugins: PluginManager) -> list[Check]:
    try:
        database = open_database(settings)
    except AlejandriaError as exc:
        return [Check("database", "fail", str(exc))]
    try:
        specs = plugins.migrations()
    except AlejandriaError:
        specs = {}  # reported by the plugins check
    try:
        with database.engine.connect() as conn:
            caps = detect_capabilities(conn)
            current = current_revisions(conn, specs)
        heads = head_revisions(specs)
        checks = []
        if caps.server_version_num < MIN_SERVER_VERSION:
            checks.append(Check("database", "fail",
                                f"{database.description}: PostgreSQL {caps.server_version} is "
                                "too old (14 or newer is needed)"))
        else:
            checks.append(Check("database", "ok",
                                f"{database.description} (PostgreSQL {caps.server_version})"))
        behind = sorted(name for name in heads if current.get(name) != heads[name])
        if behind:
            state = ("not created yet" if not any(current.values())
                     else f"behind ({', '.join(behind)})")
            if settings.uses_embedded_database:
                checks.append(Check("schema", "warn", f"schema is {state}; the embedded "
                                    "database is migrated on first use"))
            else:
                checks.append(Check("schema", "fail",
                                    f"schema is {state}: run 'alejandria db upgrade'"))
        else:
            versions = ", ".join(f"{name} {'+'.join(sorted(revs))}"
                                 for name, revs in current.items())
            checks.append(Check("schema", "ok", f"up to date ({versions})"))
        reason = caps.semantic_search_reason
        checks.append(Check("pgvector", "warn", reason) if reason else
                      Check("pgvector", "ok", f"pgvector {caps.vector_version}"))
        return checks
    finally:
        database.close()

"""What an admin sees of each source: whether it needs credentials and has them, how much it
archived, when it last synced and what failed (the web app's sources page and API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from alejandria.context import ArchiveContext
from alejandria.storage.credentials import CredentialStore
from alejandria.storage.schema import collections, creators, posts, sync_cursors
from alejandria.sync.subscriptions import subscriptions


def _counts(conn: Any, table: Any) -> dict[str, int]:
    return {row.source: row.n for row in conn.execute(
        select(table.c.source, func.count().label("n")).group_by(table.c.source))}


def source_overview(context: ArchiveContext) -> list[dict[str, Any]]:
    """One entry per registered source, by name."""
    specs = context.plugins.sources()
    stored: dict[str, list[dict[str, Any]]] = {}
    for credential in CredentialStore(context.engine, context.settings.data_dir).list():
        stored.setdefault(credential.source, []).append({
            "account": credential.account, "fields": list(credential.fields),
            "updated_at": credential.updated_at.isoformat()})
    with context.engine.connect() as conn:
        counts = {"creators": _counts(conn, creators), "collections": _counts(conn, collections),
                  "posts": _counts(conn, posts)}
        synced = {row.source: row for row in conn.execute(
            select(sync_cursors.c.source, func.max(sync_cursors.c.updated_at).label("last"),
                   func.count().filter(sync_cursors.c.last_error.isnot(None)).label("errors"))
            .group_by(sync_cursors.c.source))}
        errors: dict[str, list[dict[str, str]]] = {}
        for row in conn.execute(select(sync_cursors.c.source, sync_cursors.c.scope,
                                       sync_cursors.c.last_error)
                                .where(sync_cursors.c.last_error.isnot(None))
                                .order_by(sync_cursors.c.updated_at.desc()).limit(200)):
            errors.setdefault(row.source, []).append({"target": row.scope,
                                                      "error": row.last_error})
    followed: dict[str, list[list[str]]] = {}
    for entry in subscriptions(context.engine):
        followed.setdefault(str(entry.get("source")), []).append(
            [str(target) for target in entry.get("targets", [])])
    overview = []
    for name in sorted(specs):
        spec = specs[name]
        last = synced.get(name)
        overview.append({
            "name": name, "description": spec.description, "plugin": spec.plugin,
            "capabilities": {
                "needs_credentials": spec.credentials_model is not None,
                "credential_fields": sorted(spec.credentials_model.model_fields)
                if spec.credentials_model is not None else [],
                "url_patterns": list(spec.url_patterns)},
            "credentials": stored.get(name, []),
            "counts": {kind: counts[kind].get(name, 0) for kind in counts},
            "last_sync_at": last.last.isoformat() if last is not None else None,
            "errors": errors.get(name, [])[:20],
            "followed_targets": followed.get(name, []),
        })
    return overview

"""Subscriptions: every (source, targets, options) synced before, which the daily incremental
sync refreshes. Kept in ``system_config`` under one key."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from alejandria.models import JsonDict
from alejandria.storage.config_store import read_value, write_value

SUBSCRIPTIONS_KEY = "sync.subscriptions"


def subscriptions(engine: Engine) -> list[dict[str, Any]]:
    """What the daily sync refreshes: every (source, targets, options) synced before."""
    with engine.connect() as conn:
        return list(read_value(conn, SUBSCRIPTIONS_KEY) or [])


def remember(engine: Engine, source: str, targets: list[str], options: JsonDict | None) -> None:
    """Keep (source, targets) for the daily sync; the latest options replace earlier ones."""
    entry = {"source": source, "targets": targets, "options": dict(options or {})}
    with engine.begin() as conn:
        current = read_value(conn, SUBSCRIPTIONS_KEY, for_update=True) or []
        entries = [e for e in current if (e["source"], e["targets"]) != (source, targets)]
        write_value(conn, SUBSCRIPTIONS_KEY, [*entries, entry],
                    description="(source, targets) the daily incremental sync refreshes")

"""Subscriptions: every (source, targets, options) synced before, which the daily incremental
sync refreshes. Kept in ``system_config`` under one key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from alejandria.models import JsonDict
from alejandria.storage.schema import system_config

SUBSCRIPTIONS_KEY = "sync.subscriptions"


def subscriptions(engine: Engine) -> list[dict[str, Any]]:
    """What the daily sync refreshes: every (source, targets, options) synced before."""
    with engine.connect() as conn:
        value = conn.execute(select(system_config.c.value).where(
            system_config.c.key == SUBSCRIPTIONS_KEY)).scalar_one_or_none()
    return list(value or [])


def remember(engine: Engine, source: str, targets: list[str], options: JsonDict | None) -> None:
    """Keep (source, targets) for the daily sync; the latest options replace earlier ones."""
    entry = {"source": source, "targets": targets, "options": dict(options or {})}
    with engine.begin() as conn:
        current = conn.execute(select(system_config.c.value).where(
            system_config.c.key == SUBSCRIPTIONS_KEY).with_for_update()).scalar_one_or_none()
        entries = [e for e in (current or []) if
                   (e["source"], e["targets"]) != (source, targets)] + [entry]
        stmt = insert(system_config).values(
            key=SUBSCRIPTIONS_KEY, value=entries,
            description="(source, targets) the daily incremental sync refreshes")
        conn.execute(stmt.on_conflict_do_update(index_elements=[system_config.c.key],
                                                set_={"value": entries}))

"""Installation-wide values kept in ``system_config``: one JSON value per key (the daily
sync's subscriptions, the schedule, the active embedding model, ...)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from alejandria.storage.schema import system_config


def read_value(conn: Connection, key: str, *, for_update: bool = False) -> Any:
    """The value stored under ``key`` (None when there is none); ``for_update`` locks the row
    until the transaction ends, for a read-modify-write."""
    query = select(system_config.c.value).where(system_config.c.key == key)
    return conn.execute(query.with_for_update() if for_update else query).scalar_one_or_none()


def write_value(conn: Connection, key: str, value: Any, *, description: str) -> None:
    """Store ``value`` under ``key``, replacing what was there."""
    conn.execute(insert(system_config).values(key=key, value=value, description=description)
                 .on_conflict_do_update(index_elements=[system_config.c.key],
                                        set_={"value": value}))

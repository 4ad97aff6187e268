"""Writing audit rows: one INSERT in the caller's transaction, never a secret in it.

The writer lives in storage so every service can audit what it does (credential changes here
in storage, retries in the queue, deletions in media) in the same transaction as the change;
reading the log is ``alejandria.accounts.audit.AuditLog`` (admins only).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.engine import Engine

from alejandria.models import Actor
from alejandria.storage.schema import audit_log

#: Keys of ``changes`` that must never be stored: they name secrets.
FORBIDDEN_KEYS = frozenset({"password", "password_hash", "secret", "totp_secret", "token",
                            "token_hash", "code", "totp", "recovery_code", "recovery_codes"})


@dataclass(frozen=True)
class Trigger:
    """Who asked for an action that is audited: ``actor`` (None: the installation) from
    ``client`` (an IP address, or a name such as ``"cli"``). Services write an audit row when
    they are given one; work they do on their own (a scheduled job, a recovery) passes none."""

    actor: Actor | None = None
    client: str | None = None


def client_address(client: str | None) -> str | None:
    """``client`` when it is an IP address (what the INET column holds), else None."""
    if not client:
        return None
    try:
        return str(ipaddress.ip_address(client))
    except ValueError:
        return None


def record(conn: Connection, action: str, *, actor: Actor | None = None,
           client: str | None = None, entity_type: str | None = None,
           entity_id: int | str | None = None, changes: Mapping[str, Any] | None = None,
           at: datetime | None = None) -> None:
    """Write one audit row in ``conn``'s transaction."""
    values = dict(changes or {})
    leaked = FORBIDDEN_KEYS.intersection(key.lower() for key in values)
    if leaked:
        raise ValueError(f"audit changes may not hold {sorted(leaked)}")
    if client is not None and client_address(client) is None:
        values["client"] = client[:100]  # a non-IP client name ("cli", a socket path)
    row: dict[str, Any] = {
        "user_id": actor.user_id if actor is not None else None, "action": action,
        "entity_type": entity_type, "entity_id": None if entity_id is None else str(entity_id),
        "changes": values or None, "ip_address": client_address(client)}
    if at is not None:
        row["created_at"] = at
    conn.execute(insert(audit_log).values(**row))


def record_trigger(conn: Connection, trigger: Trigger, action: str, *,
                   entity_type: str | None = None, entity_id: int | str | None = None,
                   changes: Mapping[str, Any] | None = None) -> None:
    """``record`` for the actor and client of ``trigger``."""
    record(conn, action, actor=trigger.actor, client=trigger.client, entity_type=entity_type,
           entity_id=entity_id, changes=changes)


def record_now(engine: Engine, trigger: Trigger, action: str, *,
               entity_type: str | None = None, entity_id: int | str | None = None,
               changes: Mapping[str, Any] | None = None) -> None:
    """``record_trigger`` in a transaction of its own (one INSERT), for actions that have no
    single transaction to share (a sync, a job row written in autocommit)."""
    with engine.begin() as conn:
        record_trigger(conn, trigger, action, entity_type=entity_type, entity_id=entity_id,
                       changes=changes)

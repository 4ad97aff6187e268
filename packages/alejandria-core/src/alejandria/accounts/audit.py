"""The audit log: who did what to which account, from where. Never a secret in it.

Rows are written in the caller's transaction (``record``, which lives in
``alejandria.storage.audit`` so that services below accounts can audit too), so an action and
its audit row commit together. ``changes`` is checked for keys that could hold a secret; such
a key is a bug in the caller and raises instead of being stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine

from alejandria.accounts.roles import Permission, require
from alejandria.models import Actor
from alejandria.storage.audit import FORBIDDEN_KEYS, Trigger, client_address, record
from alejandria.storage.schema import audit_log

__all__ = ["FORBIDDEN_KEYS", "AuditEntry", "AuditLog", "Trigger", "client_address", "record"]


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    action: str
    actor_id: int | None
    client: str | None
    entity_type: str | None
    entity_id: str | None
    changes: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "action": self.action,
                "actor_id": self.actor_id, "client": self.client,
                "entity_type": self.entity_type, "entity_id": self.entity_id,
                "changes": self.changes}


class AuditLog:
    """Reads the audit log (admins only)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def entries(self, *, user_id: int | None = None, since: datetime | None = None,
                action: str | None = None, limit: int = 100, before: int | None = None,
                actor: Actor | None = None) -> list[AuditEntry]:
        """Newest first. ``user_id``: what that user did or what was done to their account.
        ``before``: only entries older than the entry of that id (the next page after a
        page whose last entry it is)."""
        require(actor, Permission.ADMIN)
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(audit_log.c.id < before)
        if user_id is not None:
            query = query.where(or_(audit_log.c.user_id == user_id,
                                    (audit_log.c.entity_type == "user")
                                    & (audit_log.c.entity_id == str(user_id))))
        if since is not None:
            query = query.where(audit_log.c.created_at >= since)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [AuditEntry(row.id, row.created_at, row.action, row.user_id,
                           None if row.ip_address is None else str(row.ip_address),
                           row.entity_type, row.entity_id, row.changes or {})
                for row in rows]

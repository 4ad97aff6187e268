"""Shared pieces of the account tests: a movable clock, cheap argon2 settings, services."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from alejandria.accounts.service import AccountServices, build_services
from alejandria.storage.schema import audit_log

#: argon2id made cheap for tests (the defaults are tested on their own).
FAST_HASH = {"password_time_cost": 1, "password_memory_kib": 64, "password_parallelism": 1}
PASSWORD = "correct horse battery"


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(archive: Any, clock: Clock) -> AccountServices:
    return build_services(archive.engine, archive.settings.model_copy(update=FAST_HASH),
                          now=clock)


def audit_rows(archive: Any) -> list[dict[str, Any]]:
    with archive.engine.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings().all()
    return [dict(row) for row in rows]


def row_json(row: dict[str, Any]) -> str:
    return json.dumps(row, default=str)

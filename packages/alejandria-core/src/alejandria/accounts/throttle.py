"""Login throttling on Postgres alone, per account and per client address.

Each key ("account:<lower username>", "client:<address>") counts failures in a window of
15 minutes; the 5th failure locks the key for a lockout that doubles with each lockout in a
row (1 min, 2, 4, ... capped at 1 h). Unknown usernames are counted like known ones, so a lock
says nothing about whether an account exists. A successful login deletes the account's row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from alejandria.accounts.clock import Clock, utc_now
from alejandria.storage.schema import login_throttle


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    first_lockout: timedelta = timedelta(minutes=1)
    max_lockout: timedelta = timedelta(hours=1)
    #: A key with no failure for this long starts again from the first lockout.
    forget_after: timedelta = timedelta(hours=24)

    def lockout(self, lockouts: int) -> timedelta:
        """The lockout earned by the ``lockouts``-th lock in a row (1-based)."""
        grown: timedelta = self.first_lockout * (2 ** min(lockouts - 1, 20))
        return min(grown, self.max_lockout)


def account_key(username: str) -> str:
    return f"account:{username.strip().lower()[:300]}"


def client_key(client: str) -> str:
    return f"client:{client[:300]}"


class LoginThrottle:
    """Counts failed logins and answers how long a key is locked."""

    def __init__(self, engine: Engine, *, policy: ThrottlePolicy | None = None,
                 now: Clock = utc_now) -> None:
        self.engine = engine
        self.policy = policy or ThrottlePolicy()
        self.now = now

    def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until every key is unlocked (0: none is locked)."""
        now = self.now()
        with self.engine.connect() as conn:
            until = conn.execute(select(login_throttle.c.locked_until).where(
                login_throttle.c.key.in_(list(keys)),
                login_throttle.c.locked_until > now)).scalars().all()
        return max(((moment - now).total_seconds() for moment in until), default=0.0)

    def fail(self, keys: Iterable[str]) -> float:
        """Count one failure for each key; the seconds a key is now locked for (0: none)."""
        now = self.now()
        locked = 0.0
        with self.engine.begin() as conn:
            for key in keys:
                locked = max(locked, self._fail(conn, key, now))
        return locked

    def reset(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(login_throttle).where(login_throttle.c.key == key))

    def _fail(self, conn: Connection, key: str, now: datetime) -> float:
        policy = self.policy
        conn.execute(insert(login_throttle).values(key=key).on_conflict_do_nothing())
        row = conn.execute(select(login_throttle).where(login_throttle.c.key == key)
                           .with_for_update()).one()
        lockouts = row.lockouts
        if row.last_failure_at is not None and now - row.last_failure_at > policy.forget_after:
            lockouts = 0
        if row.window_started_at is None or now - row.window_started_at > policy.window:
            failures, window_started = 1, now
        else:
            failures, window_started = row.failures + 1, row.window_started_at
        values: dict[str, object] = {"failures": failures, "window_started_at": window_started,
                                     "lockouts": lockouts, "last_failure_at": now}
        locked = 0.0
        if failures >= policy.max_failures:
            lockout = policy.lockout(lockouts + 1)
            values.update(failures=0, window_started_at=None, lockouts=lockouts + 1,
                          locked_until=now + lockout)
            locked = lockout.total_seconds()
        conn.execute(update(login_throttle).where(login_throttle.c.key == key).values(**values))
        return locked

"""Logging in: throttling, password (with rehash), 2FA, then the audit row.

``authenticate`` returns the ``User`` or raises one of ``BadCredentials``, ``TotpRequired``,
``TotpInvalid`` or ``AccountLocked``. An unknown username goes through the same steps as a
known one (a dummy hash is verified, failures are counted under its name), so neither the
errors nor their timing tell which usernames exist.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from alejandria.accounts import audit
from alejandria.accounts.clock import Clock, utc_now
from alejandria.accounts.errors import AccountLocked, BadCredentials, TotpInvalid, TotpRequired
from alejandria.accounts.passwords import Passwords
from alejandria.accounts.throttle import LoginThrottle, account_key, client_key
from alejandria.accounts.totp import Totp
from alejandria.accounts.users import User, to_user
from alejandria.storage.schema import users


class Authenticator:
    """Checks a login against ``users``, the throttle and 2FA."""

    def __init__(self, engine: Engine, passwords: Passwords, throttle: LoginThrottle,
                 totp: Totp, *, now: Clock = utc_now) -> None:
        self.engine = engine
        self.passwords = passwords
        self.throttle = throttle
        self.totp = totp
        self.now = now

    def authenticate(self, username: str, password: str, totp: str | None = None, *,
                     client: str | None = None) -> User:
        """The user whose credentials these are (``client``: the caller's address)."""
        keys = [account_key(username)] + ([client_key(client)] if client else [])
        attempted = {"username": username.strip()[:100]}
        wait = self.throttle.retry_after(keys)
        if wait > 0:
            self._audit("login.locked", client, attempted)
            raise AccountLocked(wait)

        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(
                func.lower(users.c.username) == username.strip().lower())).first()
        stored = row.password_hash if row is not None else None
        if not self.passwords.verify(stored, password) or row is None or not row.active:
            self._failed(keys, client, attempted, "password", row.id if row else None)
            raise BadCredentials()

        if row.totp_enabled:
            if not totp:
                raise TotpRequired()
            if not self.totp.check_code(row.id, totp):
                self._failed(keys, client, attempted, "totp", row.id)
                raise TotpInvalid()

        values: dict[str, object] = {"last_login": self.now()}
        if self.passwords.needs_rehash(row.password_hash):
            values["password_hash"] = self.passwords.hash(password)
        with self.engine.begin() as conn:
            new = conn.execute(update(users).where(users.c.id == row.id).values(**values)
                               .returning(*users.c)).one()
            user = to_user(new)
            audit.record(conn, "login.success", actor=user.actor, client=client,
                         entity_type="user", entity_id=row.id,
                         changes={"rehashed": "password_hash" in values}, at=self.now())
        self.throttle.reset(account_key(username))
        return user

    def _failed(self, keys: list[str], client: str | None, attempted: dict[str, str],
                reason: str, user_id: int | None) -> None:
        locked = self.throttle.fail(keys)
        changes = {**attempted, "reason": reason}
        if locked:
            changes["locked_s"] = str(int(locked))
        self._audit("login.failure", client, changes, user_id)

    def _audit(self, action: str, client: str | None, changes: dict[str, str],
               user_id: int | None = None) -> None:
        with self.engine.begin() as conn:
            audit.record(conn, action, client=client, entity_type="user",
                         entity_id=user_id, changes=changes, at=self.now())

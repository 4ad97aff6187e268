"""``archive.accounts``: users, roles, logins and 2FA behind one object.

``build_services`` wires every account service over one database with one clock and one
password hasher (its dummy hash is made once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from alejandria.accounts.audit import AuditLog
from alejandria.accounts.auth import Authenticator
from alejandria.accounts.clock import Clock, utc_now
from alejandria.accounts.passwords import Passwords
from alejandria.accounts.throttle import LoginThrottle, ThrottlePolicy
from alejandria.accounts.tokens import Tokens
from alejandria.accounts.totp import Totp
from alejandria.accounts.users import User, Users
from alejandria.models import Actor
from alejandria.settings import Settings


class Accounts:
    """Users and roles (``users``), logins (``authenticate``), 2FA (``totp``)."""

    def __init__(self, users: Users, authenticator: Authenticator, totp: Totp) -> None:
        self.users = users
        self.totp = totp
        self.throttle = authenticator.throttle
        self._authenticator = authenticator

    def authenticate(self, username: str, password: str, totp: str | None = None, *,
                     client: str | None = None) -> User:
        """The user these credentials belong to, or ``BadCredentials``, ``TotpRequired``,
        ``TotpInvalid``, ``AccountLocked`` (with ``retry_after`` seconds)."""
        return self._authenticator.authenticate(username, password, totp, client=client)

    def create(self, username: str, password: str, *, email: str | None = None,
               role: str = "user", actor: Actor | None = None,
               client: str | None = None) -> User:
        return self.users.create(username, password, email=email, role=role, actor=actor,
                                 client=client)

    def get(self, user: int | str, *, actor: Actor | None = None) -> User:
        return self.users.get(user, actor=actor)

    def list(self, *, actor: Actor | None = None) -> list[User]:
        return self.users.list(actor=actor)

    def set_role(self, user: int | str, role: str, *, actor: Actor | None = None,
                 client: str | None = None) -> User:
        return self.users.set_role(user, role, actor=actor, client=client)

    def disable(self, user: int | str, *, actor: Actor | None = None,
                client: str | None = None) -> User:
        return self.users.set_active(user, False, actor=actor, client=client)

    def enable(self, user: int | str, *, actor: Actor | None = None,
               client: str | None = None) -> User:
        return self.users.set_active(user, True, actor=actor, client=client)

    def delete(self, user: int | str, *, actor: Actor | None = None,
               client: str | None = None) -> None:
        self.users.delete(user, actor=actor, client=client)

    def set_password(self, user: int | str, password: str, *, actor: Actor | None = None,
                     client: str | None = None) -> None:
        self.users.set_password(user, password, actor=actor, client=client)

    def change_password(self, user: int | str, current: str, new: str, *,
                        actor: Actor | None = None, client: str | None = None) -> None:
        """Change one's own password, proving the current one."""
        self.users.change_password(user, current, new, actor=actor, client=client)

    def set_preferences(self, user: int | str, preferences: Mapping[str, Any], *,
                        actor: Actor | None = None) -> User:
        return self.users.set_preferences(user, preferences, actor=actor)

    def reset_2fa(self, user: int | str, *, actor: Actor | None = None,
                  client: str | None = None) -> None:
        """An admin turns off a user's 2FA (audited)."""
        self.totp.reset(self.users.get(user, actor=actor).id, actor=actor, client=client)


@dataclass(frozen=True)
class AccountServices:
    accounts: Accounts
    tokens: Tokens
    audit: AuditLog


def build_services(engine: Engine, settings: Settings, *, now: Clock = utc_now,
                   policy: ThrottlePolicy | None = None,
                   data_dir: Path | None = None) -> AccountServices:
    """The account services over ``engine``, reading the time from ``now``."""
    passwords = Passwords.from_settings(settings)
    users = Users(engine, passwords, now=now)
    totp = Totp(engine, data_dir or settings.data_dir, passwords, now=now)
    throttle = LoginThrottle(engine, policy=policy, now=now)
    authenticator = Authenticator(engine, passwords, throttle, totp, now=now)
    return AccountServices(Accounts(users, authenticator, totp), Tokens(engine, now=now),
                           AuditLog(engine))

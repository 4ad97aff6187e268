"""Users and roles: create, list, change role, disable/enable, delete, passwords, preferences.

Role changes and anything about another user need an admin (or the installation); the last
active admin can be neither demoted, disabled nor deleted. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from alejandria.accounts import audit
from alejandria.accounts.clock import Clock, utc_now
from alejandria.accounts.errors import AccountConflict, BadCredentials, LastAdmin
from alejandria.accounts.passwords import Passwords, check_strength
from alejandria.accounts.roles import ROLES, Permission, Role, require, require_self_or_admin
from alejandria.errors import NotFound
from alejandria.models import Actor
from alejandria.storage.schema import users


@dataclass(frozen=True)
class User:
    """An account as the services show it: never its password hash or TOTP secret."""

    id: int
    username: str
    email: str | None
    role: Role
    active: bool
    totp_enabled: bool
    created_at: datetime
    last_login: datetime | None
    preferences: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        """This user as the acting user of service calls."""
        return Actor(user_id=self.id, username=self.username, role=self.role)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "email": self.email,
                "role": self.role, "active": self.active, "totp_enabled": self.totp_enabled,
                "created_at": self.created_at.isoformat(),
                "last_login": None if self.last_login is None else self.last_login.isoformat(),
                "preferences": self.preferences}


def to_user(row: Row[Any]) -> User:
    return User(id=row.id, username=row.username, email=row.email, role=row.role,
                active=row.active, totp_enabled=row.totp_enabled, created_at=row.created_at,
                last_login=row.last_login, preferences=dict(row.preferences or {}))


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    return role


def _check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > 100 or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise ValueError("a username is 1-100 printable characters without spaces")
    return name


class Users:
    """The ``users`` table behind the role rules."""

    def __init__(self, engine: Engine, passwords: Passwords, *, now: Clock = utc_now) -> None:
        self.engine = engine
        self.passwords = passwords
        self.now = now

    # -- reading -----------------------------------------------------------------------------

    def get(self, user: int | str, *, actor: Actor | None = None) -> User:
        """A user by id or username (any case); ``NotFound`` when there is none."""
        with self.engine.connect() as conn:
            row = self._row(conn, user)
        require_self_or_admin(actor, row.id)
        return to_user(row)

    def list(self, *, actor: Actor | None = None) -> list[User]:
        require(actor, Permission.ADMIN)
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(func.lower(users.c.username))).all()
        return [to_user(row) for row in rows]

    # -- changing ----------------------------------------------------------------------------

    def create(self, username: str, password: str, *, email: str | None = None,
               role: str = "user", actor: Actor | None = None,
               client: str | None = None) -> User:
        """A new active user. ``AccountConflict`` when the name (any case) or e-mail is taken."""
        require(actor, Permission.ADMIN)
        name = _check_username(username)
        checked_role = _check_role(role)
        check_strength(password)
        hashed = self.passwords.hash(password)
        with self.engine.begin() as conn:
            row = conn.execute(insert(users).values(
                username=name, email=email or None, password_hash=hashed, role=checked_role,
            ).on_conflict_do_nothing().returning(*users.c)).first()
            if row is None:
                raise AccountConflict(f"the username {name!r} or that e-mail is taken")
            audit.record(conn, "user.create", actor=actor, client=client, entity_type="user",
                         entity_id=row.id, changes={"username": name, "role": checked_role,
                                                    "email": email or None},
                         at=self.now())
        return to_user(row)

    def set_role(self, user: int | str, role: str, *, actor: Actor | None = None,
                 client: str | None = None) -> User:
        require(actor, Permission.ADMIN)
        checked = _check_role(role)
        with self.engine.begin() as conn:
            row = self._row(conn, user, lock=True)
            if row.role == checked:
                return to_user(row)
            if row.role == "admin" and row.active:
                self._keep_an_admin(conn, row.id)
            new = conn.execute(update(users).where(users.c.id == row.id)
                               .values(role=checked).returning(*users.c)).one()
            audit.record(conn, "user.role", actor=actor, client=client, entity_type="user",
                         entity_id=row.id, changes={"role": [row.role, checked]}, at=self.now())
        return to_user(new)

    def set_active(self, user: int | str, active: bool, *, actor: Actor | None = None,
                   client: str | None = None) -> User:
        """Disable (``active=False``) or enable an account; a disabled one cannot log in and
        its tokens stop working."""
        require(actor, Permission.ADMIN)
        with self.engine.begin() as conn:
            row = self._row(conn, user, lock=True)
            if row.active == active:
                return to_user(row)
            if not active and row.role == "admin":
                self._keep_an_admin(conn, row.id)
            new = conn.execute(update(users).where(users.c.id == row.id)
                               .values(active=active).returning(*users.c)).one()
            audit.record(conn, "user.enable" if active else "user.disable", actor=actor,
                         client=client, entity_type="user", entity_id=row.id, at=self.now())
        return to_user(new)

    def delete(self, user: int | str, *, actor: Actor | None = None,
               client: str | None = None) -> None:
        """Delete an account with its tokens and personal data."""
        require(actor, Permission.ADMIN)
        with self.engine.begin() as conn:
            row = self._row(conn, user, lock=True)
            if row.role == "admin" and row.active:
                self._keep_an_admin(conn, row.id)
            conn.execute(delete(users).where(users.c.id == row.id))
            audit.record(conn, "user.delete", actor=actor, client=client, entity_type="user",
                         entity_id=row.id, changes={"username": row.username}, at=self.now())

    def set_password(self, user: int | str, password: str, *, actor: Actor | None = None,
                     client: str | None = None) -> None:
        """Set a new password (the user themself or an admin)."""
        check_strength(password)
        with self.engine.begin() as conn:
            row = self._row(conn, user, lock=True)
            require_self_or_admin(actor, row.id)
            conn.execute(update(users).where(users.c.id == row.id)
                         .values(password_hash=self.passwords.hash(password)))
            audit.record(conn, "user.password", actor=actor, client=client, entity_type="user",
                         entity_id=row.id, at=self.now())

    def change_password(self, user: int | str, current: str, new: str, *,
                        actor: Actor | None = None, client: str | None = None) -> None:
        """A user changes their own password: ``current`` must be right (``BadCredentials``
        otherwise), so a session left open on a shared computer cannot lock its owner out."""
        check_strength(new)
        with self.engine.begin() as conn:
            row = self._row(conn, user, lock=True)
            require_self_or_admin(actor, row.id)
            if not self.passwords.verify(row.password_hash, current):
                raise BadCredentials()
            conn.execute(update(users).where(users.c.id == row.id)
                         .values(password_hash=self.passwords.hash(new)))
            audit.record(conn, "user.password", actor=actor, client=client, entity_type="user",
                         entity_id=row.id, changes={"by": "self"}, at=self.now())

    def set_preferences(self, user: int | str, preferences: Mapping[str, Any], *,
                        actor: Actor | None = None) -> User:
        """Merge ``preferences`` into the user's own (a None value removes a key)."""
        with self.engine.begin() as conn:
            row = self._row(conn, user, lock=True)
            require_self_or_admin(actor, row.id)
            merged = {**(row.preferences or {}), **preferences}
            merged = {key: value for key, value in merged.items() if value is not None}
            new = conn.execute(update(users).where(users.c.id == row.id)
                               .values(preferences=merged).returning(*users.c)).one()
        return to_user(new)

    # -- helpers -----------------------------------------------------------------------------

    def _row(self, conn: Connection, user: int | str, *, lock: bool = False) -> Row[Any]:
        query = select(users)
        if isinstance(user, int):
            query = query.where(users.c.id == user)
        else:
            query = query.where(func.lower(users.c.username) == user.strip().lower())
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no user {user!r}")
        return row

    @staticmethod
    def _keep_an_admin(conn: Connection, leaving: int) -> None:
        """Raise ``LastAdmin`` unless another active admin remains. The admins' rows are
        locked, so two concurrent demotions cannot both pass."""
        others = conn.execute(select(users.c.id).where(
            users.c.role == "admin", users.c.active, users.c.id != leaving,
        ).with_for_update()).all()
        if not others:
            raise LastAdmin()

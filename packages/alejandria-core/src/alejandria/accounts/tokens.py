"""API tokens: ``alj_`` + 32 random bytes (URL-safe base64), stored as their SHA-256.

Only the hash and a short display prefix are kept; the token is shown once, when created.
A token's scope (read < write < admin) never exceeds what its owner's role allows, checked
both when it is created and every time it is used (a demoted owner's tokens lose power at
once). Checking a token is one lookup of the unique hash index, joined to its owner.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Row, bindparam, func, select, update
from sqlalchemy.engine import Engine

from alejandria.accounts import audit
from alejandria.accounts.clock import Clock, utc_now
from alejandria.accounts.errors import InvalidToken, PermissionDenied
from alejandria.accounts.roles import (
    SCOPE_CEILING,
    SCOPES,
    Permission,
    Role,
    Scope,
    capped_scope,
    require,
    require_self_or_admin,
    scope_rank,
)
from alejandria.errors import NotFound
from alejandria.models import Actor
from alejandria.storage.schema import api_tokens, users

PREFIX = "alj_"
#: Characters of the token (after ``alj_``) kept to tell tokens apart in lists.
DISPLAY_CHARS = 8
#: ``last_used_at`` is written at most this often per token, so a check is usually a read.
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenInfo:
    """A stored token as lists show it: never the token itself."""

    id: int
    user_id: int
    username: str
    name: str
    prefix: str
    scope: Scope
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {"id": self.id, "user_id": self.user_id, "username": self.username,
                "name": self.name, "prefix": self.prefix, "scope": self.scope,
                "created_at": iso(self.created_at), "expires_at": iso(self.expires_at),
                "last_used_at": iso(self.last_used_at), "revoked_at": iso(self.revoked_at)}


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``token`` is shown to the user once and stored nowhere."""

    token: str
    info: TokenInfo

    def __repr__(self) -> str:
        return f"NewToken(token=***, info={self.info!r})"


@dataclass(frozen=True)
class TokenIdentity:
    """Who a valid token acts for, and with which scope (capped by the owner's role now)."""

    actor: Actor
    scope: Scope
    token_id: int
    #: When it stops working by itself (None: never); a cache of checks must not outlive it.
    expires_at: datetime | None = None


#: The token check, built once (it runs on every API request): the unique hash index, and the
#: owner by primary key.
_CHECK = (select(api_tokens.c.id, api_tokens.c.token_hash, api_tokens.c.scope,
                 api_tokens.c.expires_at, api_tokens.c.revoked_at, api_tokens.c.last_used_at,
                 users.c.id.label("user_id"), users.c.username, users.c.role, users.c.active)
          .join(users, users.c.id == api_tokens.c.user_id)
          .where(api_tokens.c.token_hash == bindparam("digest")))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_scope(scope: str) -> Scope:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r} (scopes: {', '.join(SCOPES)})")
    return scope


class Tokens:
    """Creates, lists, revokes and checks API tokens."""

    def __init__(self, engine: Engine, *, now: Clock = utc_now) -> None:
        self.engine = engine
        self.now = now

    def create(self, user: int | str, scope: str, *, name: str = "",
               expires_in: timedelta | None = None, actor: Actor | None = None,
               client: str | None = None) -> NewToken:
        """A new token for ``user`` (themself, or anyone for an admin). ``PermissionDenied``
        when ``scope`` is above what the owner's role allows."""
        checked = _check_scope(scope)
        token = PREFIX + secrets.token_urlsafe(32)
        now = self.now()
        with self.engine.begin() as conn:
            owner = _owner(conn, user)
            require_self_or_admin(actor, owner.id)
            ceiling = SCOPE_CEILING[owner.role]
            if scope_rank(checked) > scope_rank(ceiling):
                raise PermissionDenied(f"a {owner.role} may hold tokens up to the "
                                       f"{ceiling!r} scope, not {checked!r}")
            if not owner.active:
                raise PermissionDenied(f"{owner.username} is disabled")
            row = conn.execute(api_tokens.insert().values(
                user_id=owner.id, name=name[:100], prefix=token[:len(PREFIX) + DISPLAY_CHARS],
                token_hash=token_hash(token), scope=checked, created_at=now,
                expires_at=None if expires_in is None else now + expires_in,
            ).returning(*api_tokens.c)).one()
            audit.record(conn, "token.create", actor=actor, client=client, entity_type="token",
                         entity_id=row.id, changes={"owner": owner.id, "scope": checked,
                                                    "prefix": row.prefix,
                                                    "expires_at": None if row.expires_at is None
                                                    else row.expires_at.isoformat()},
                         at=now)
        return NewToken(token, _info(row, owner.username))

    def list(self, user: int | str | None = None, *, include_revoked: bool = False,
             actor: Actor | None = None) -> list[TokenInfo]:
        """Tokens of ``user`` (None: everyone's, for an admin), newest first."""
        query = (select(api_tokens, users.c.username)
                 .join(users, users.c.id == api_tokens.c.user_id)
                 .order_by(api_tokens.c.id.desc()))
        with self.engine.connect() as conn:
            if user is None:
                require(actor, Permission.ADMIN)
            else:
                owner = _owner(conn, user)
                require_self_or_admin(actor, owner.id)
                query = query.where(api_tokens.c.user_id == owner.id)
            if not include_revoked:
                query = query.where(api_tokens.c.revoked_at.is_(None))
            rows = conn.execute(query).all()
        return [_info(row, row.username) for row in rows]

    def revoke(self, token_id: int, *, actor: Actor | None = None,
               client: str | None = None) -> None:
        """Revoke a token (its owner's or, for an admin, anyone's); ``NotFound`` otherwise."""
        with self.engine.begin() as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)
                               .with_for_update()).first()
            if row is None or (actor is not None and actor.user_id != row.user_id
                               and actor.role != "admin"):
                raise NotFound(f"no token {token_id}")  # another's token: as if missing
            if row.revoked_at is not None:
                return
            conn.execute(update(api_tokens).where(api_tokens.c.id == token_id)
                         .values(revoked_at=self.now()))
            audit.record(conn, "token.revoke", actor=actor, client=client, entity_type="token",
                         entity_id=token_id, changes={"owner": row.user_id,
                                                      "prefix": row.prefix},
                         at=self.now())

    def check(self, token: str, scope: str = "read", *,
              conn: Connection | None = None) -> TokenIdentity:
        """Who ``token`` acts for; ``InvalidToken`` when it is unknown, revoked, expired or its
        owner is disabled, ``PermissionDenied`` when it does not reach ``scope``.

        ``conn``: a connection the caller already holds (a web request's), which saves a pool
        checkout; a last-used time written on it is committed with the caller's transaction.
        """
        needed = _check_scope(scope)
        if not token.startswith(PREFIX):
            raise InvalidToken()
        digest = token_hash(token)
        if conn is None:
            # autocommit: the lookup is one statement, with no BEGIN and COMMIT around it
            # (two of the four round trips a check made; p95 1.16 -> see bench/accounts.py)
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as own:
                row = self._valid_row(own, digest)
        else:
            row = self._valid_row(conn, digest)
        role = cast(Role, row.role)
        effective = capped_scope(cast(Scope, row.scope), role)
        if scope_rank(effective) < scope_rank(needed):
            raise PermissionDenied(f"this token's scope is {effective!r}, {needed!r} is needed")
        return TokenIdentity(Actor(user_id=row.user_id, username=row.username, role=role),
                             effective, row.id, row.expires_at)


    def _valid_row(self, conn: Connection, digest: str) -> Any:
        row = conn.execute(_CHECK, {"digest": digest}).first()
        now = self.now()
        if (row is None or not hmac.compare_digest(row.token_hash, digest)
                or row.revoked_at is not None or not row.active
                or (row.expires_at is not None and row.expires_at <= now)):
            raise InvalidToken()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
            conn.execute(update(api_tokens).where(api_tokens.c.id == row.id)
                         .values(last_used_at=now))
        return row


def _owner(conn: Connection, user: int | str) -> Row[Any]:
    query = select(users)
    if isinstance(user, int):
        query = query.where(users.c.id == user)
    else:
        query = query.where(func.lower(users.c.username) == user.strip().lower())
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no user {user!r}")
    return row


def _info(row: Row[Any], username: str) -> TokenInfo:
    return TokenInfo(id=row.id, user_id=row.user_id, username=username, name=row.name,
                     prefix=row.prefix, scope=row.scope, created_at=row.created_at,
                     expires_at=row.expires_at, last_used_at=row.last_used_at,
                     revoked_at=row.revoked_at)

"""Server-side browser sessions: the cookie holds a random token, the store its SHA-256.

A session lives ``idle`` without use and at most ``absolute`` in all; its last-seen time is
written at most every ``TOUCH_EVERY``, so checking a session is usually one indexed read. The
store is Postgres (the ``web_sessions`` table of this package's migration) or, when
``ALEJANDRIA_WEB_SESSION_STORE=redis``, Redis. Either way a session is checked against the
``users`` row on every request, so a disabled user or a changed role takes effect at once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, cast

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.engine import Engine

from alejandria.accounts.clock import Clock, utc_now
from alejandria.models import Actor

#: How often a session's last-seen time is written (and its idle expiry pushed back).
TOUCH_EVERY = timedelta(minutes=5)

metadata = MetaData()
web_sessions = Table(
    "web_sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("user_agent", Text),
    Column("client", String(64)),
)
# ``users`` is core's table, read here only to check the session's owner.
_users = Table("users", MetaData(), Column("id", Integer, primary_key=True),
               Column("username", String), Column("role", String),
               Column("active", Boolean))

Role = Literal["admin", "user", "readonly"]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    """A live session: who it acts for and the CSRF token forms and scripts must send back."""

    id: str
    actor: Actor
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str | None
    client: str | None

    def as_json(self, *, current: str | None = None) -> dict[str, Any]:
        return {"id": self.id[:16], "created_at": self.created_at.isoformat(),
                "last_seen_at": self.last_seen_at.isoformat(),
                "expires_at": self.expires_at.isoformat(), "user_agent": self.user_agent,
                "client": self.client, "current": self.id == current}


@dataclass(frozen=True)
class NewSession:
    token: str
    session: Session

    def __repr__(self) -> str:
        return f"NewSession(token=***, session={self.session!r})"


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(days=14)
    absolute: timedelta = timedelta(days=60)


class SessionStore(Protocol):
    """Where sessions live."""

    def create(self, actor: Actor, *, user_agent: str | None,
               client: str | None) -> NewSession: ...

    def get(self, token: str) -> Session | None: ...

    def delete(self, token_or_digest: str) -> None: ...

    def delete_for_user(self, user_id: int, *, keep: str | None = None) -> int: ...

    def list_for_user(self, user_id: int) -> list[Session]: ...


def _new_token() -> tuple[str, str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_digest(token), secrets.token_urlsafe(32)


def _digest_of(token_or_digest: str) -> str:
    """A cookie token, or the digest an API caller got from a session list (its id)."""
    return token_or_digest if len(token_or_digest) == 64 and all(
        c in "0123456789abcdef" for c in token_or_digest) else token_digest(token_or_digest)


class PostgresSessions:
    """Sessions in the ``web_sessions`` table."""

    def __init__(self, engine: Engine, *, policy: SessionPolicy | None = None,
                 now: Clock = utc_now) -> None:
        self.engine = engine
        self.policy = policy or SessionPolicy()
        self.now = now
        self._get = (
            select(web_sessions, _users.c.username, _users.c.role, _users.c.active)
            .join(_users, _users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.id == bindparam("digest")))

    def create(self, actor: Actor, *, user_agent: str | None,
               client: str | None) -> NewSession:
        token, digest, csrf = _new_token()
        now = self.now()
        agent = (user_agent or "")[:300] or None
        values: dict[str, Any] = {"id": digest, "user_id": actor.user_id, "csrf_token": csrf,
                  "created_at": now, "last_seen_at": now,
                  "expires_at": now + self.policy.idle,
                  "user_agent": agent, "client": client}
        with self.engine.begin() as conn:
            conn.execute(web_sessions.insert().values(**values))
            # expired sessions go when someone logs in: no scheduled job is needed
            conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
        return NewSession(token, Session(id=digest, actor=actor, csrf_token=csrf,
                                         created_at=now, last_seen_at=now,
                                         expires_at=now + self.policy.idle,
                                         user_agent=agent, client=client))

    def get(self, token: str) -> Session | None:
        digest = token_digest(token)
        now = self.now()
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            row = conn.execute(self._get, {"digest": digest}).first()
            if row is None or not row.active or row.expires_at <= now:
                return None
            expires = row.expires_at
            if now - row.last_seen_at >= TOUCH_EVERY:
                expires = min(now + self.policy.idle, row.created_at + self.policy.absolute)
                conn.execute(update(web_sessions).where(web_sessions.c.id == digest)
                             .values(last_seen_at=now, expires_at=expires))
        return Session(id=digest, actor=Actor(user_id=row.user_id, username=row.username,
                                              role=cast(Role, row.role)),
                       csrf_token=row.csrf_token, created_at=row.created_at,
                       last_seen_at=row.last_seen_at, expires_at=expires,
                       user_agent=row.user_agent, client=row.client)

    def delete(self, token_or_digest: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(
                web_sessions.c.id == _digest_of(token_or_digest)))

    def delete_for_user(self, user_id: int, *, keep: str | None = None) -> int:
        statement = delete(web_sessions).where(web_sessions.c.user_id == user_id)
        if keep is not None:
            statement = statement.where(web_sessions.c.id != _digest_of(keep))
        with self.engine.begin() as conn:
            return conn.execute(statement).rowcount

    def list_for_user(self, user_id: int) -> list[Session]:
        now = self.now()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(web_sessions, _users.c.username, _users.c.role)
                .join(_users, _users.c.id == web_sessions.c.user_id)
                .where(web_sessions.c.user_id == user_id, web_sessions.c.expires_at > now)
                .order_by(web_sessions.c.last_seen_at.desc())).all()
        return [Session(id=row.id, actor=Actor(user_id=row.user_id, username=row.username,
                                               role=cast(Role, row.role)),
                        csrf_token=row.csrf_token, created_at=row.created_at,
                        last_seen_at=row.last_seen_at, expires_at=row.expires_at,
                        user_agent=row.user_agent, client=row.client) for row in rows]


class RedisSessions:
    """Sessions in Redis (``ALEJANDRIA_WEB_SESSION_STORE=redis``): a key per session with the
    idle time as its TTL, and a set per user for "log out everywhere". The owner's role and
    state are still read from Postgres on each check (one primary-key read)."""

    def __init__(self, client: Any, engine: Engine, *, policy: SessionPolicy | None = None,
                 now: Clock = utc_now, prefix: str = "alejandria:session:") -> None:
        self.redis = client
        self.engine = engine
        self.policy = policy or SessionPolicy()
        self.now = now
        self.prefix = prefix

    def _key(self, digest: str) -> str:
        return f"{self.prefix}{digest}"

    def _user_key(self, user_id: int) -> str:
        return f"{self.prefix}user:{user_id}"

    def create(self, actor: Actor, *, user_agent: str | None,
               client: str | None) -> NewSession:
        token, digest, csrf = _new_token()
        now = self.now()
        record = {"user_id": actor.user_id, "csrf_token": csrf, "created_at": now.isoformat(),
                  "last_seen_at": now.isoformat(),
                  "expires_at": (now + self.policy.idle).isoformat(),
                  "user_agent": (user_agent or "")[:300] or None, "client": client}
        ttl = int(self.policy.idle.total_seconds())
        pipe = self.redis.pipeline()
        pipe.set(self._key(digest), json.dumps(record), ex=ttl)
        pipe.sadd(self._user_key(actor.user_id), digest)
        pipe.execute()
        session = self._session(digest, record, actor, now + self.policy.idle)
        return NewSession(token, session)

    def _session(self, digest: str, record: dict[str, Any], actor: Actor,
                 expires: datetime) -> Session:
        return Session(id=digest, actor=actor, csrf_token=record["csrf_token"],
                       created_at=datetime.fromisoformat(record["created_at"]),
                       last_seen_at=datetime.fromisoformat(record["last_seen_at"]),
                       expires_at=expires, user_agent=record.get("user_agent"),
                       client=record.get("client"))

    def _owner(self, user_id: int) -> Actor | None:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            row = conn.execute(select(_users).where(_users.c.id == user_id)).first()
        if row is None or not row.active:
            return None
        return Actor(user_id=row.id, username=row.username, role=cast(Role, row.role))

    def get(self, token: str) -> Session | None:
        digest = token_digest(token)
        raw = self.redis.get(self._key(digest))
        if raw is None:
            return None
        record = json.loads(raw)
        actor = self._owner(int(record["user_id"]))
        if actor is None:
            return None
        now = self.now()
        created = datetime.fromisoformat(record["created_at"])
        # the key's TTL ends an idle session too; the recorded expiry is what the clock says
        if (now - created >= self.policy.absolute
                or now >= datetime.fromisoformat(record["expires_at"])):
            self.delete(digest)
            return None
        expires = datetime.fromisoformat(record["expires_at"])
        if now - datetime.fromisoformat(record["last_seen_at"]) >= TOUCH_EVERY:
            expires = min(now + self.policy.idle, created + self.policy.absolute)
            record["last_seen_at"] = now.isoformat()
            record["expires_at"] = expires.isoformat()
            ttl = max(1, int((expires - now).total_seconds()))
            self.redis.set(self._key(digest), json.dumps(record), ex=ttl)
        return self._session(digest, record, actor, expires)

    def delete(self, token_or_digest: str) -> None:
        digest = _digest_of(token_or_digest)
        raw = self.redis.get(self._key(digest))
        self.redis.delete(self._key(digest))
        if raw is not None:
            self.redis.srem(self._user_key(int(json.loads(raw)["user_id"])), digest)

    def delete_for_user(self, user_id: int, *, keep: str | None = None) -> int:
        kept = _digest_of(keep) if keep else None
        digests = [d.decode() if isinstance(d, bytes) else d
                   for d in self.redis.smembers(self._user_key(user_id))]
        gone = [d for d in digests if d != kept]
        if gone:
            self.redis.delete(*[self._key(d) for d in gone])
            self.redis.srem(self._user_key(user_id), *gone)
        return len(gone)

    def list_for_user(self, user_id: int) -> list[Session]:
        actor = self._owner(user_id)
        if actor is None:
            return []
        found = []
        for raw_digest in self.redis.smembers(self._user_key(user_id)):
            digest = raw_digest.decode() if isinstance(raw_digest, bytes) else raw_digest
            raw = self.redis.get(self._key(digest))
            if raw is None:
                self.redis.srem(self._user_key(user_id), digest)
                continue
            record = json.loads(raw)
            found.append(self._session(digest, record, actor,
                                       datetime.fromisoformat(record["expires_at"])))
        return sorted(found, key=lambda s: s.last_seen_at, reverse=True)

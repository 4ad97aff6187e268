"""Server-side sessions in both stores (Postgres, and Redis when configured): expiry by idle
time and by age, checked against the user on every request, "log out everywhere"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alejandria_web.security.sessions import (
    PostgresSessions,
    RedisSessions,
    SessionPolicy,
    SessionStore,
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["postgres", "redis"])
def store(request: Any, archive: Any) -> tuple[SessionStore, Clock]:
    clock = Clock()
    policy = SessionPolicy(idle=timedelta(days=1), absolute=timedelta(days=3))
    if request.param == "postgres":
        return PostgresSessions(archive.engine, policy=policy, now=clock), clock
    import redis

    url = request.getfixturevalue("alejandria_redis_url")
    return RedisSessions(redis.Redis.from_url(url), archive.engine, policy=policy,
                         now=clock), clock


def test_a_session_lives_while_used_and_ends_when_idle_or_old(
        store: tuple[SessionStore, Clock], people: Any) -> None:
    sessions, clock = store
    alice = people["user"]
    from alejandria.models import Actor

    actor = Actor(user_id=alice.id, username=alice.username, role="user")
    new = sessions.create(actor, user_agent="Firefox", client="10.0.0.1")
    found = sessions.get(new.token)
    assert found is not None and found.actor == actor and found.csrf_token
    assert sessions.get("not-a-token") is None
    # used every 20 hours: alive on day 2 (idle time pushed back each use)
    for _ in range(3):
        clock.now += timedelta(hours=20)
        assert sessions.get(new.token) is not None
    # but never past the absolute age
    clock.now += timedelta(hours=20)
    assert sessions.get(new.token) is None
    # idle for longer than a day: gone
    other = sessions.create(actor, user_agent=None, client=None)
    clock.now += timedelta(days=1, minutes=1)
    assert sessions.get(other.token) is None


def test_log_out_everywhere_and_the_owner_checked_each_time(
        store: tuple[SessionStore, Clock], people: Any, archive: Any) -> None:
    sessions, _ = store
    from alejandria.models import Actor

    alice, bob = people["user"], people["other"]
    a1 = sessions.create(Actor(user_id=alice.id, username=alice.username), user_agent="a",
                         client=None)
    a2 = sessions.create(Actor(user_id=alice.id, username=alice.username), user_agent="b",
                         client=None)
    b1 = sessions.create(Actor(user_id=bob.id, username=bob.username), user_agent="c",
                         client=None)
    assert len(sessions.list_for_user(alice.id)) == 2
    assert sessions.delete_for_user(alice.id, keep=a1.token) == 1
    assert sessions.get(a2.token) is None and sessions.get(a1.token) is not None
    # the role is read from the user each time; a disabled user has no session
    archive.accounts.set_role(alice.id, "readonly")
    assert sessions.get(a1.token).actor.role == "readonly"  # type: ignore[union-attr]
    archive.accounts.disable(alice.id)
    assert sessions.get(a1.token) is None
    assert sessions.get(b1.token) is not None
    sessions.delete(b1.token)
    assert sessions.get(b1.token) is None


@pytest.mark.needs_redis
def test_the_app_keeps_sessions_in_redis_when_configured(open_archive: Any,
                                                         alejandria_redis_url: str) -> None:
    import redis
    from litestar.testing import TestClient

    from alejandria_web.app import create_app
    from alejandria_web.settings import WebSettings

    archive = open_archive(cache_url=alejandria_redis_url)
    archive.accounts.create("carmen", "correct horse battery staple", role="user")
    app = create_app(archive=archive, settings=WebSettings(session_store="redis"))
    assert isinstance(app.state.sessions, RedisSessions)
    with TestClient(app, base_url="http://testserver.local") as client:
        answer = client.post("/api/v1/auth/login", json={
            "username": "carmen", "password": "correct horse battery staple"})
        assert answer.status_code == 200
        assert client.get("/api/v1/me").json()["username"] == "carmen"
        keys = redis.Redis.from_url(alejandria_redis_url).keys("alejandria:session:*")
        assert len(keys) == 2  # the session and the user's set of sessions
        with archive.engine.connect() as conn:
            from sqlalchemy import text

            assert conn.execute(text("SELECT count(*) FROM web_sessions")).scalar() == 0

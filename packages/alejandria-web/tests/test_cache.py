"""The in-memory caches (``alejandria_web.cache``): a post's detail and a checked API token
are served from memory while the archive is unchanged, and never once it changed, whoever
changed it: this process (at once), another connection or process (as soon as Postgres
notifies), or while the feed is not listening (nothing is served from memory then)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from alejandria.accounts.tokens import token_hash

WAIT_S = 5.0


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT_S} s: {what}")
        time.sleep(0.01)


def quiet(feed: Any, for_s: float = 0.3) -> None:
    """Wait until no notification has come in for ``for_s``."""
    deadline = time.monotonic() + WAIT_S
    seen, since = feed.generation, time.monotonic()
    while time.monotonic() - since < for_s:
        assert time.monotonic() < deadline, "the feed never went quiet"
        time.sleep(0.02)
        if feed.generation != seen:
            seen, since = feed.generation, time.monotonic()


def outside(alejandria_database_url: str, statement: str, **params: Any) -> None:
    """A change made on a connection of its own, as another process or host would."""
    url = alejandria_database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement, params)  # type: ignore[arg-type]


def caches(app: Any) -> Any:
    return app.state.caches


def bearer(archive: Any, person: Any, scope: str = "read") -> dict[str, str]:
    token = archive.tokens.create(person.id, scope, name="cache test").token
    return {"Authorization": f"Bearer {token}"}


def test_the_feed_listens_while_the_app_runs(app: Any, client: Any) -> None:
    feed = caches(app).feed
    assert feed.live and feed.generation is not None


def test_post_detail_is_answered_from_memory_until_the_post_changes(
        app: Any, client: Any, archive: Any, people: Any, catalogue: Any,
        alejandria_database_url: str) -> None:
    headers = bearer(archive, people["user"])
    quiet(caches(app).feed)  # the news of the fixtures' writes has come in
    url = f"/api/v1/posts/{catalogue.post_id}"
    first = client.get(url, headers=headers)
    views = caches(app).views
    hits = views.hits
    second = client.get(url, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert views.hits == hits + 1

    outside(alejandria_database_url, "UPDATE posts SET title = 'Carta natal, corregida' "
            "WHERE id = %(id)s", id=catalogue.post_id)
    eventually(lambda: client.get(url, headers=headers).json()["title"]
               == "Carta natal, corregida", "the other connection's change is served")


def test_my_own_change_is_in_the_next_answer_at_once(
        app: Any, client: Any, archive: Any, people: Any, catalogue: Any) -> None:
    headers = bearer(archive, people["user"], scope="write")
    url = f"/api/v1/posts/{catalogue.post_id}"
    assert client.get(url, headers=headers).json()["mine"]["note"] is None
    client.get(url, headers=headers)  # cached now
    answer = client.put(f"{url}/note", headers=headers, json={"markdown": "releer en mayo"})
    assert answer.status_code == 200, answer.text
    assert client.get(url, headers=headers).json()["mine"]["note"]["markdown"] == "releer en mayo"
    # and a change through the archive in this process (a script, a thread) likewise
    archive.personal(people["user"].id).notes.set(catalogue.post_id, "releer en junio")
    assert client.get(url, headers=headers).json()["mine"]["note"]["markdown"] == \
        "releer en junio"


def test_one_readers_cached_detail_is_never_anothers(
        client: Any, archive: Any, people: Any, catalogue: Any) -> None:
    alice, bob = bearer(archive, people["user"]), bearer(archive, people["other"])
    archive.personal(people["user"].id).notes.set(catalogue.post_id, "solo de Alice")
    url = f"/api/v1/posts/{catalogue.post_id}"
    for _ in range(2):
        assert client.get(url, headers=alice).json()["mine"]["note"]["markdown"] == "solo de Alice"
        mine = client.get(url, headers=bob).json()["mine"]
        assert mine["note"] is None and "solo de Alice" not in str(mine)


def test_a_revoked_token_stops_working_even_when_its_check_was_kept(
        app: Any, client: Any, archive: Any, people: Any, catalogue: Any,
        alejandria_database_url: str) -> None:
    made = archive.tokens.create(people["user"].id, "read", name="kept")
    headers = {"Authorization": f"Bearer {made.token}"}
    quiet(caches(app).feed)
    assert client.get("/api/v1/posts", headers=headers).status_code == 200
    assert caches(app).tokens.get(token_hash(made.token)) is not None  # kept
    archive.tokens.revoke(made.info.id)  # in this process: at once
    assert client.get("/api/v1/posts", headers=headers).status_code == 401

    other = archive.tokens.create(people["user"].id, "read", name="kept too")
    headers = {"Authorization": f"Bearer {other.token}"}
    assert client.get("/api/v1/posts", headers=headers).status_code == 200
    outside(alejandria_database_url, "UPDATE api_tokens SET revoked_at = now() "
            "WHERE id = %(id)s", id=other.info.id)
    eventually(lambda: client.get("/api/v1/posts", headers=headers).status_code == 401,
               "the token revoked elsewhere is refused")


def test_a_kept_token_check_does_not_outlive_the_token(
        app: Any, client: Any, archive: Any, people: Any) -> None:
    from datetime import timedelta

    made = archive.tokens.create(people["user"].id, "read", name="short",
                                 expires_in=timedelta(seconds=3))
    headers = {"Authorization": f"Bearer {made.token}"}
    quiet(caches(app).feed)
    assert client.get("/api/v1/posts", headers=headers).status_code == 200
    assert caches(app).tokens.get(token_hash(made.token)) is not None  # kept, for now
    time.sleep(3.1)
    assert client.get("/api/v1/posts", headers=headers).status_code == 401


def test_nothing_is_served_from_memory_while_the_feed_is_not_listening(
        app: Any, client: Any, archive: Any, people: Any, catalogue: Any,
        alejandria_database_url: str) -> None:
    headers = bearer(archive, people["user"])
    url = f"/api/v1/posts/{catalogue.post_id}"
    client.get(url, headers=headers)
    feed = caches(app).feed
    feed.retry_s = 600  # it stays down for the rest of the test
    # the listener's connection dies (a restarted server, a network cut): a change made
    # before it listens again must not be hidden by what was kept
    outside(alejandria_database_url, "SELECT pg_terminate_backend(pid) FROM "
            "pg_stat_activity WHERE application_name = 'alejandria-changes' "
            "AND datname = current_database()")
    eventually(lambda: not feed.live, "the feed notices its connection is gone")
    with archive.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("UPDATE posts SET title = 'Sin escucha' WHERE id = :id"),
                     {"id": catalogue.post_id})
    views = caches(app).views
    hits = views.hits
    assert client.get(url, headers=headers).json()["title"] == "Sin escucha"
    assert client.get(url, headers=headers).json()["title"] == "Sin escucha"
    assert views.hits == hits and len(views) == 0  # nothing kept while deaf


def test_reads_in_a_transaction_and_refused_writes_keep_the_cache(
        app: Any, client: Any, archive: Any, people: Any) -> None:
    feed = caches(app).feed
    quiet(feed)  # the news of the people's creation has come in
    before = feed.generation
    with archive.engine.begin() as conn:  # what a semantic search does: SET LOCAL, SELECT
        conn.execute(text("SET LOCAL statement_timeout = 5000"))
        conn.execute(text("SELECT count(*) FROM posts"))
    assert client.post("/api/v1/auth/login", json={"username": "alice",
                                                   "password": "wrong"}).status_code == 401
    assert feed.generation == before
    with archive.engine.begin() as conn:  # a write through this process: counted at once
        conn.execute(text("UPDATE users SET role = role WHERE id = :id"),
                     {"id": people["user"].id})
    assert (feed.generation or 0) >= (before or 0) + 2  # before and after its COMMIT


@pytest.mark.parametrize("overrides", [{"cache": False}])
def test_the_cache_can_be_turned_off(archive: Any, people: Any, catalogue: Any,
                                     overrides: dict[str, Any]) -> None:
    from litestar.testing import TestClient

    from alejandria_web.app import create_app
    from alejandria_web.settings import WebSettings

    app = create_app(archive=archive, settings=WebSettings(**overrides))
    headers = bearer(archive, people["user"])
    with TestClient(app, base_url="http://testserver.local") as client:
        url = f"/api/v1/posts/{catalogue.post_id}"
        assert client.get(url, headers=headers).status_code == 200
        assert client.get(url, headers=headers).status_code == 200
        assert caches(app).views.hits == 0 and len(caches(app).views) == 0

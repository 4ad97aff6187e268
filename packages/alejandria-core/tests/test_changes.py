"""Change notifications (``alejandria.storage.changes``): every table a reader's view reads
announces its committed changes, and a ``ChangeFeed`` counts them from any connection."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from alejandria.api import Archive
from alejandria.storage import schema
from alejandria.storage.changes import QUIET_TABLES, TRIGGER, ChangeFeed


def triggered_tables(archive: Archive) -> set[str]:
    with archive.engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = :name AND NOT t.tgisinternal"), {"name": TRIGGER}).scalars())


def test_every_table_but_the_quiet_ones_announces_its_changes(archive: Archive) -> None:
    tables = set(schema.metadata.tables)
    assert tables >= QUIET_TABLES, "a quiet table that no longer exists"
    assert triggered_tables(archive) == tables - QUIET_TABLES, (
        "a new table needs the change trigger in its migration (or a place in QUIET_TABLES)")


def test_the_post_view_reads_only_tables_that_announce_changes(archive: Archive) -> None:
    """The web app keeps post views while nothing changed: a table the view reads that did
    not announce its changes would be served stale."""
    from alejandria.library.post_view import _STATEMENT

    sql = str(_STATEMENT)
    read = {name for name in re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+)", sql)
            if name in schema.metadata.tables}
    assert {"posts", "media_files", "user_highlights"} <= read  # the pattern finds them
    assert read <= triggered_tables(archive)


def updates_watched(archive: Archive, table: str) -> set[str]:
    """The columns whose UPDATE fires ``table``'s change trigger (``UPDATE OF ...``)."""
    with archive.engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT a.attname FROM pg_trigger t JOIN pg_attribute a "
            "ON a.attrelid = t.tgrelid AND a.attnum = ANY(t.tgattr) "
            "WHERE t.tgname = :name AND t.tgrelid = CAST(:table AS regclass)"),
            {"name": TRIGGER, "table": table}).scalars())


@contextmanager
def elsewhere(archive: Archive) -> Iterator[Connection]:
    """A transaction on an engine of its own: what another process does (the feed counts
    its own engine's commits at once; these it learns of from Postgres only)."""
    engine = create_engine(archive.engine.url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        time.sleep(0.01)


def test_the_feed_counts_commits_from_any_connection_and_only_commits(archive: Archive) -> None:
    with ChangeFeed(archive.engine, poll_s=0.05) as feed:
        assert feed.live
        before = feed.generation
        assert before is not None
        with archive.engine.connect() as conn:  # a transaction that rolls back: no news
            # (on the feed's own engine: neither counted locally nor notified)
            conn.execute(text("INSERT INTO creators (source, external_id, name) "
                              "VALUES ('x', 'rolled-back', 'Nobody')"))
            conn.rollback()
        with elsewhere(archive) as conn:  # a quiet table: no news either
            conn.execute(text("INSERT INTO jobs (job_type) VALUES ('test')"))
        time.sleep(0.3)
        assert feed.generation == before
        with elsewhere(archive) as conn:
            conn.execute(text("INSERT INTO creators (source, external_id, name) "
                              "VALUES ('x', 'kept', 'Somebody')"))
        wait_for(lambda: (feed.generation or 0) > before, "the commit is counted")
    assert feed.generation is None  # stopped: nothing may trust it


def test_a_feed_that_loses_its_connection_says_so_and_listens_again(archive: Archive) -> None:
    with ChangeFeed(archive.engine, poll_s=0.05, retry_s=0.05) as feed:
        first = feed.generation
        with archive.engine.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE application_name = 'alejandria-changes' "
                              "AND datname = current_database()"))
        wait_for(lambda: feed.generation is None or feed.generation != first,
                 "the lost connection moves the generation on")
        wait_for(lambda: feed.live, "it listens again")
        assert feed.generation is not None and first is not None
        assert feed.generation > first


def test_a_tokens_last_use_is_no_news_but_its_revocation_is(archive: Archive) -> None:
    # every column but the last-used time: a column added later must be added here too
    assert updates_watched(archive, "api_tokens") == (set(schema.api_tokens.c.keys())
                                                      - {"last_used_at"})
    user = archive.accounts.create("tok", "correct horse battery staple", role="user")
    made = archive.tokens.create(user.id, "read")
    with ChangeFeed(archive.engine, poll_s=0.05) as feed:
        before = feed.generation
        assert before is not None
        with elsewhere(archive) as conn:
            conn.execute(text("UPDATE api_tokens SET last_used_at = now() WHERE id = :id"),
                         {"id": made.info.id})
        time.sleep(0.3)
        assert feed.generation == before
        with elsewhere(archive) as conn:
            conn.execute(text("UPDATE api_tokens SET revoked_at = now() WHERE id = :id"),
                         {"id": made.info.id})
        wait_for(lambda: (feed.generation or 0) > before, "the revocation is counted")


def test_a_users_sign_in_is_no_news_but_a_role_change_is(archive: Archive) -> None:
    # what a token check reads of its owner (a column it reads later must be added here)
    assert updates_watched(archive, "users") == {"id", "username", "role", "active"}
    user = archive.accounts.create("someone", "correct horse battery staple", role="user")
    with ChangeFeed(archive.engine, poll_s=0.05) as feed:
        before = feed.generation
        assert before is not None
        with elsewhere(archive) as conn:
            conn.execute(text("UPDATE users SET last_login = now(), totp_last_step = 1, "
                              "preferences = '{}' WHERE id = :id"), {"id": user.id})
        time.sleep(0.3)
        assert feed.generation == before
        with elsewhere(archive) as conn:
            conn.execute(text("UPDATE users SET role = 'readonly' WHERE id = :id"),
                         {"id": user.id})
        wait_for(lambda: (feed.generation or 0) > before, "the role change is counted")


def test_a_restore_is_announced(archive: Archive) -> None:
    from alejandria.storage.changes import announce_change

    with ChangeFeed(archive.engine, poll_s=0.05) as feed:
        before = feed.generation
        assert before is not None
        announce_change(archive.engine, "restore")
        wait_for(lambda: (feed.generation or 0) > before, "the announcement is counted")


def test_a_feed_started_again_listens_whatever_its_old_thread_does(archive: Archive) -> None:
    feed = ChangeFeed(archive.engine, poll_s=0.2)
    feed.start()
    feed.stop()  # its thread winds down at its next poll, after the new one listens
    feed.start()
    try:
        time.sleep(0.5)
        assert feed.live and feed.generation is not None
    finally:
        feed.stop(wait=True)
    assert feed.generation is None

"""Migration 0009 moves the seed's ``user_post_data.lists`` arrays into ``user_list_posts``
(and back on a downgrade), keeping only list ids that are the user's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from alejandria.storage.migrate import alembic_config


@pytest.fixture
def database_at_0008(alejandria_server_url, tmp_path) -> Iterator[Engine]:
    name = f"alejandria_lists_{tmp_path.name[-8:].lower()}".replace("-", "_")
    admin = create_engine(alejandria_server_url, isolation_level="AUTOCOMMIT",
                          poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(admin.url.set(database=name), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), "0008")
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


SEED = """
    INSERT INTO users (id, username, password_hash) VALUES (1, 'ana', 'x'), (2, 'bo', 'x');
    INSERT INTO creators (id, source, external_id, name) VALUES (1, 's', 'c', 'C');
    INSERT INTO posts (id, source, external_id, creator_id, title, content_hash)
    VALUES (1, 's', 'p1', 1, 'uno', 'h'), (2, 's', 'p2', 1, 'dos', 'h');
    INSERT INTO user_lists (id, user_id, name, color) VALUES
        (10, 1, 'leer', '#AABBCC'), (11, 1, 'favoritos', 'red'), (20, 2, 'de bo', NULL);
    INSERT INTO user_post_data (user_id, post_id, lists, status, notes) VALUES
        (1, 1, '{10,11}', 'completed', NULL),
        (1, 2, '{10,20}', NULL, 'nota'),
        (2, 1, '{20}', NULL, NULL);
"""


def _memberships(conn) -> list[tuple[int, int]]:
    return [tuple(row) for row in conn.execute(text(
        "SELECT list_id, post_id FROM user_list_posts ORDER BY 1, 2"))]


def test_list_arrays_become_join_rows_and_come_back_on_downgrade(database_at_0008: Engine):
    engine = database_at_0008
    with engine.begin() as conn:
        conn.execute(text(SEED))

    with engine.begin() as conn:
        command.upgrade(alembic_config(connection=conn), "0009")

    with engine.connect() as conn:
        # list 20 is bo's: ana's array naming it is not carried over
        assert _memberships(conn) == [(10, 1), (10, 2), (11, 1), (20, 1)]
        assert [tuple(r) for r in conn.execute(text(
            "SELECT list_id, post_id, position FROM user_list_posts WHERE list_id = 10 "
            "ORDER BY position"))] == [(10, 1, 0), (10, 2, 1)]
        assert conn.execute(text(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = "
            "'user_post_data' AND column_name = 'lists'")).scalar() == 0
        assert conn.execute(text("SELECT status FROM user_post_data WHERE post_id = 1 "
                                 "AND user_id = 1")).scalar() == "completed"
        # a colour that was never #RRGGBB is dropped, so the new check holds
        assert [tuple(r) for r in conn.execute(text(
            "SELECT id, color FROM user_lists ORDER BY id"))] == [
            (10, "#AABBCC"), (11, None), (20, None)]

    with engine.begin() as conn:
        command.downgrade(alembic_config(connection=conn), "0008")
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(
            "SELECT user_id, post_id, lists FROM user_post_data ORDER BY 1, 2"))] == [
            (1, 1, [10, 11]), (1, 2, [10]), (2, 1, [20])]

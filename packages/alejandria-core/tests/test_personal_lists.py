"""Lists: create, rename, recolour, describe, reorder, delete; posts in many lists."""
# ruff: noqa: F811 (the fixtures imported from the helpers are parameters here)

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from alejandria.accounts.errors import AccountConflict
from alejandria.errors import NotFound

from .accounts_helpers import clock, services  # noqa: F401 (fixtures)
from .personal_helpers import People, people  # noqa: F401 (fixtures)


def test_a_list_is_created_renamed_recoloured_described_and_deleted(people: People):
    lists = people.ana.lists
    made = lists.create("Para leer", description="pendientes", color="#FFCC00")
    assert (made.name, made.description, made.color, made.position, made.posts) == (
        "Para leer", "pendientes", "#ffcc00", 0, 0)

    lists.rename(made.id, "Leer pronto")
    lists.recolour("Leer pronto", "#00aa00")
    lists.describe(made.id, "lo urgente")

    assert lists.get(made.id).name == "Leer pronto"
    assert (lists.get("Leer pronto").color, lists.get(made.id).description) == (
        "#00aa00", "lo urgente")
    lists.recolour(made.id, None)
    assert lists.get(made.id).color is None
    lists.delete(made.id)
    assert lists.list() == []
    with pytest.raises(NotFound, match=f"no list {made.id}"):
        lists.get(made.id)


def test_lists_keep_the_order_the_user_gives(people: People):
    lists = people.ana.lists
    a, b, c = (lists.create(name).id for name in ("a", "b", "c"))
    assert [x.name for x in lists.list()] == ["a", "b", "c"]

    reordered = lists.reorder([c, "a"])

    assert [(x.name, x.position) for x in reordered] == [("c", 0), ("a", 1), ("b", 2)]
    assert [x.id for x in lists.list()] == [c, a, b]


def test_a_post_can_be_in_many_lists_each_in_its_order(people: People):
    lists = people.ana.lists
    first, second = people.posts[0], people.posts[1]
    lists.create("astro")
    lists.create("favoritos")
    lists.add_post("astro", second)
    lists.add_post("astro", first)
    lists.add_post("astro", first)  # already there: nothing changes
    lists.add_post("favoritos", first)

    assert [p.post_id for p in lists.posts_in("astro")] == [second, first]
    assert lists.get("astro").posts == 2
    assert [x.name for x in lists.lists_of(first)] == ["astro", "favoritos"]
    lists.remove_post("astro", first)
    assert [p.post_id for p in lists.posts_in("astro")] == [second]
    with pytest.raises(NotFound, match="is not in list"):
        lists.remove_post("astro", first)
    with pytest.raises(NotFound, match="no post 999999"):
        lists.add_post("astro", 999999)


def test_names_are_unique_per_user_and_colours_are_checked(archive, people: People):
    people.ana.lists.create("Leer")
    people.bo.lists.create("Leer")  # another user's list of the same name is fine
    with pytest.raises(AccountConflict):
        people.ana.lists.create("Leer")
    other = people.ana.lists.create("Otra")
    with pytest.raises(AccountConflict):
        people.ana.lists.rename(other.id, "Leer")
    with pytest.raises(ValueError, match="#RRGGBB"):
        people.ana.lists.create("roja", color="red")
    with pytest.raises(ValueError, match="1-255"):
        people.ana.lists.create("  ")
    with pytest.raises(IntegrityError), archive.engine.begin() as conn:  # the table checks too
        conn.execute(text("UPDATE user_lists SET color = 'blue'"))


def test_deleting_a_list_keeps_its_posts(archive, people: People):
    lists = people.ana.lists
    lists.create("x")
    lists.add_post("x", people.posts[0])
    lists.delete("x")
    with archive.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM user_list_posts")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM posts")).scalar() == 3

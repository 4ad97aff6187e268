"""``library.post_view``: the post and the reader's own data on it in one statement, the same
answer as ``library.post`` plus ``personal.post``, and nobody else's data."""

# ruff: noqa: F811 (the fixtures imported from the helpers are parameters here)
from __future__ import annotations

from typing import Any

from sqlalchemy import event

from .accounts_helpers import clock, services  # noqa: F401 (fixtures)
from .personal_helpers import People, people  # noqa: F401 (fixtures)


def _fill(people: People) -> int:
    ana, bo, post = people.ana, people.bo, people.posts[0]
    ana.status.set(post, "in_progress")
    ana.notes.set(post, "Releer **Mercurio**.")
    for name in ("Astrología", "Para releer"):
        made = ana.lists.create(name, color="#3366ff")
        ana.lists.add_post(made.id, post)
    ana.lists.add_post(ana.lists.create("Otra").id, people.posts[1])
    ana.highlights.add(post, "Venus rige el amor", comment="¡sí!")
    ana.highlights.add(post, "Mercurio rige la mente")
    bo.status.set(post, "completed")
    bo.notes.set(post, "La nota de Bo.")
    bo.lists.add_post(bo.lists.create("De Bo").id, post)
    bo.highlights.add(post, "la palabra")
    return post


def test_the_view_is_the_post_and_my_data_as_read_apart(archive: Any, people: People) -> None:
    post = _fill(people)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(archive.engine, "before_cursor_execute", count)
    try:
        view = archive.library.post_view(post, actor=people.ana.actor)
    finally:
        event.remove(archive.engine, "before_cursor_execute", count)

    assert len(statements) == 1
    assert view.post.as_json() == archive.library.post(post, actor=people.ana.actor).as_json()
    assert view.mine is not None
    assert view.mine.as_json() == people.ana.post(post).as_json()
    mine = view.mine.as_json()
    assert mine["status"] == "in_progress" and "Mercurio" in mine["note"]["markdown"]
    assert [found["name"] for found in mine["lists"]] == ["Astrología", "Para releer"]
    assert [found["quote"] for found in mine["highlights"]] == ["Mercurio rige la mente",
                                                                "Venus rige el amor"]


def test_the_view_holds_nobody_elses_data(archive: Any, people: People) -> None:
    post = _fill(people)

    for reader in (people.ana, people.bo, people.rita):
        view = archive.library.post_view(post, actor=reader.actor)
        assert view.mine is not None
        assert view.mine.as_json() == reader.post(post).as_json()
    rita = archive.library.post_view(post, actor=people.rita.actor).mine
    assert rita is not None
    assert rita.as_json() == {"status": "unread", "note": None, "lists": [], "highlights": []}
    bo = archive.library.post_view(post, actor=people.bo.actor).mine
    assert bo is not None
    shown = str(bo.as_json())
    assert "La nota de Bo." in shown and "De Bo" in shown
    assert not any(word in shown for word in ("Releer", "Astrología", "Para releer", "¡sí!"))


def test_the_installation_reads_the_post_without_anyones_data(archive: Any,
                                                              people: People) -> None:
    post = _fill(people)

    view = archive.library.post_view(post)

    assert view.mine is None
    assert view.post.id == post

"""Privacy by construction: every personal-data function, called by one user on another's
objects, behaves as for a missing object and changes nothing; readonly users read their own
data and change none. Meta-tests fail when a public function has no case here."""
# ruff: noqa: F811 (the fixtures imported from the helpers are parameters here)

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from alejandria.accounts.errors import PermissionDenied
from alejandria.accounts.personal.common import Owned
from alejandria.accounts.personal.service import Personal
from alejandria.errors import NotFound
from alejandria.models import Actor

from .accounts_helpers import clock, services  # noqa: F401 (fixtures)
from .personal_helpers import People, people  # noqa: F401 (fixtures)

#: An id nobody's object has.
MISSING = 2_000_000_000
TABLES = ("user_lists", "user_list_posts", "user_post_data", "user_statuses",
          "user_highlights")


@dataclass
class Mine:
    """Ana's objects, made before each case."""

    list_id: int
    highlight_id: int
    post: int       # her list holds it; she set a status, wrote a note and highlighted it
    other_post: int  # nobody has a note on it


def ana_objects(people: People) -> Mine:
    ana, post = people.ana, people.posts[0]
    made = ana.lists.create("secreta", color="#123456")
    ana.lists.add_post(made.id, post)
    ana.status.define("releer")
    ana.status.set(post, "releer")
    ana.notes.set(post, "solo mía")
    highlight = ana.highlights.add(post, "Venus rige el amor")
    return Mine(made.id, highlight.id, post, people.posts[1])


def snapshot(archive: Any) -> dict[str, list[tuple[Any, ...]]]:
    with archive.engine.connect() as conn:
        return {table: [tuple(row) for row in conn.execute(text(
            f"SELECT * FROM {table} ORDER BY 1, 2"))] for table in TABLES}


Call = Callable[[Personal, Any, Mine], Any]


@dataclass(frozen=True)
class Foreign:
    """A call on another user's object: ``NotFound`` with the message a missing one gets.
    ``ref`` picks the object (``Mine`` → id/name/post) and ``missing`` a ref nobody has."""

    call: Call
    ref: Callable[[Mine], Any]
    missing: Callable[[Mine], Any]


@dataclass(frozen=True)
class OwnView:
    """A call that reads or writes the caller's own data only: ``check`` its result shows
    nothing of the other user's (and their data stays unchanged)."""

    call: Callable[[Personal, Mine], Any]
    check: Callable[[Any], bool]


def _list(mine: Mine) -> int:
    return mine.list_id


def _missing(_mine: Mine) -> int:
    return MISSING


def _highlight(mine: Mine) -> int:
    return mine.highlight_id


CASES: dict[str, Foreign | OwnView] = {
    "lists.get": Foreign(lambda p, ref, m: p.lists.get(ref), _list, _missing),
    "lists.get (by name)": Foreign(lambda p, ref, m: p.lists.get(ref), lambda m: "secreta",
                                   lambda m: "nadie"),
    "lists.posts_in": Foreign(lambda p, ref, m: p.lists.posts_in(ref), _list, _missing),
    "lists.rename": Foreign(lambda p, ref, m: p.lists.rename(ref, "mía"), _list, _missing),
    "lists.recolour": Foreign(lambda p, ref, m: p.lists.recolour(ref, "#000000"), _list,
                              _missing),
    "lists.describe": Foreign(lambda p, ref, m: p.lists.describe(ref, "x"), _list, _missing),
    "lists.reorder": Foreign(lambda p, ref, m: p.lists.reorder([ref]), _list, _missing),
    "lists.delete": Foreign(lambda p, ref, m: p.lists.delete(ref), _list, _missing),
    "lists.add_post": Foreign(lambda p, ref, m: p.lists.add_post(ref, m.other_post), _list,
                              _missing),
    "lists.remove_post": Foreign(lambda p, ref, m: p.lists.remove_post(ref, m.post), _list,
                                 _missing),
    "lists.list": OwnView(lambda p, m: p.lists.list(), lambda r: r == []),
    "lists.lists_of": OwnView(lambda p, m: p.lists.lists_of(m.post), lambda r: r == []),
    "lists.create": OwnView(lambda p, m: p.lists.create("secreta"),
                            lambda r: r.posts == 0),
    "status.get": OwnView(lambda p, m: p.status.get(m.post), lambda r: r == "unread"),
    "status.set": OwnView(lambda p, m: p.status.set(m.post, "completed"),
                          lambda r: r == "completed"),
    "status.set (another's label)": Foreign(lambda p, ref, m: _value_error(
        lambda: p.status.set(m.post, ref)), lambda m: "releer", lambda m: "nadie"),
    "status.clear": OwnView(lambda p, m: p.status.clear(m.post), lambda r: r is None),
    "status.labels": OwnView(lambda p, m: p.status.labels(),
                             lambda r: r == ["unread", "in_progress", "completed"]),
    "status.define": OwnView(lambda p, m: p.status.define("releer"), lambda r: r == "releer"),
    "status.posts": OwnView(lambda p, m: p.status.posts("releer"), lambda r: r == []),
    "status.undefine": Foreign(lambda p, ref, m: p.status.undefine(ref), lambda m: "releer",
                               lambda m: "nadie"),
    "notes.get": Foreign(lambda p, ref, m: p.notes.get(ref), lambda m: m.post,
                         lambda m: m.other_post),
    "notes.delete": Foreign(lambda p, ref, m: p.notes.delete(ref), lambda m: m.post,
                            lambda m: m.other_post),
    "notes.list": OwnView(lambda p, m: p.notes.list(), lambda r: r == []),
    "notes.set": OwnView(lambda p, m: p.notes.set(m.post, "la de bo"),
                         lambda r: r.markdown == "la de bo"),
    "highlights.get": Foreign(lambda p, ref, m: p.highlights.get(ref), _highlight, _missing),
    "highlights.segments": Foreign(lambda p, ref, m: p.highlights.segments(ref), _highlight,
                                   _missing),
    "highlights.update": Foreign(lambda p, ref, m: p.highlights.update(ref, comment="x"),
                                 _highlight, _missing),
    "highlights.delete": Foreign(lambda p, ref, m: p.highlights.delete(ref), _highlight,
                                 _missing),
    "highlights.list": OwnView(lambda p, m: p.highlights.list(), lambda r: r == []),
    "highlights.add": OwnView(lambda p, m: p.highlights.add(m.post, "Venus"),
                              lambda r: r.exact == "Venus"),
    "post": OwnView(lambda p, m: p.post(m.post),
                    lambda r: r.as_json() == {"status": "unread", "note": None, "lists": [],
                                              "highlights": []}),
    "export": OwnView(lambda p, m: p.export(),
                      lambda r: r["user"] == "bo" and r["lists"] == r["posts"] == []
                      and r["highlights"] == r["status_labels"] == []),
}


def _value_error(call: Callable[[], Any]) -> Any:
    """An unknown status is a ``ValueError``: turned into ``NotFound`` here so the case can
    compare the message for another user's label with the one for a label nobody has."""
    try:
        return call()
    except ValueError as exc:
        raise NotFound(str(exc)) from None


def _message(case: Foreign, people: People, mine: Mine, ref: Any) -> str:
    with pytest.raises(NotFound) as caught:
        case.call(people.bo, ref, mine)
    return str(caught.value).replace(repr(ref), "<ref>").replace(str(ref), "<ref>")


@pytest.mark.parametrize("name", sorted(CASES))
def test_another_users_objects_behave_as_missing_and_stay_unchanged(archive, people: People,
                                                                    name: str):
    mine = ana_objects(people)
    before = snapshot(archive)
    case = CASES[name]

    if isinstance(case, Foreign):
        assert _message(case, people, mine, case.ref(mine)) == \
            _message(case, people, mine, case.missing(mine))
        assert snapshot(archive) == before
    else:
        assert case.check(case.call(people.bo, mine))
        after = snapshot(archive)
        for table in TABLES:  # bo's own rows may be new; ana's are exactly as they were
            ana_rows = [row for row in after[table] if row in before[table]]
            assert ana_rows == before[table]


def _public_functions() -> set[str]:
    """``part.method`` for every public method of every part of ``Personal`` (found on an
    instance, so a part added later is listed too)."""
    personal = Personal(None, Actor(user_id=0, username="x"))  # type: ignore[arg-type]
    parts = {name: value for name, value in vars(personal).items() if isinstance(value, Owned)}
    assert set(parts) == {"lists", "status", "notes", "highlights"}
    own = {name for name, _ in inspect.getmembers(Personal, inspect.isfunction)
           if not name.startswith("_")}
    return own | {f"{part}.{name}" for part, service in parts.items()
                  for name, _ in inspect.getmembers(type(service), inspect.isfunction)
                  if not name.startswith("_")}


def test_every_personal_function_has_a_cross_user_case():
    covered = {name.split(" ")[0] for name in CASES}
    assert _public_functions() - covered == set()


# -- readonly ---------------------------------------------------------------------------------

WRITES: dict[str, Callable[[Personal, Mine], Any]] = {
    "lists.create": lambda p, m: p.lists.create("nueva"),
    "lists.rename": lambda p, m: p.lists.rename(m.list_id, "otra"),
    "lists.recolour": lambda p, m: p.lists.recolour(m.list_id, "#000000"),
    "lists.describe": lambda p, m: p.lists.describe(m.list_id, "x"),
    "lists.reorder": lambda p, m: p.lists.reorder([m.list_id]),
    "lists.delete": lambda p, m: p.lists.delete(m.list_id),
    "lists.add_post": lambda p, m: p.lists.add_post(m.list_id, m.other_post),
    "lists.remove_post": lambda p, m: p.lists.remove_post(m.list_id, m.post),
    "status.set": lambda p, m: p.status.set(m.post, "completed"),
    "status.clear": lambda p, m: p.status.clear(m.post),
    "status.define": lambda p, m: p.status.define("otra"),
    "status.undefine": lambda p, m: p.status.undefine("releer"),
    "notes.set": lambda p, m: p.notes.set(m.post, "cambio"),
    "notes.delete": lambda p, m: p.notes.delete(m.post),
    "highlights.add": lambda p, m: p.highlights.add(m.post, "Venus"),
    "highlights.update": lambda p, m: p.highlights.update(m.highlight_id, comment="x"),
    "highlights.delete": lambda p, m: p.highlights.delete(m.highlight_id),
}
READS: dict[str, Callable[[Personal, Mine], Any]] = {
    "lists.list": lambda p, m: [x.name for x in p.lists.list()] == ["secreta"],
    "lists.get": lambda p, m: p.lists.get("secreta").color == "#123456",
    "lists.posts_in": lambda p, m: [x.post_id for x in p.lists.posts_in(m.list_id)] == [m.post],
    "lists.lists_of": lambda p, m: [x.id for x in p.lists.lists_of(m.post)] == [m.list_id],
    "status.get": lambda p, m: p.status.get(m.post) == "releer",
    "status.labels": lambda p, m: p.status.labels()[-1] == "releer",
    "status.posts": lambda p, m: [x.post_id for x in p.status.posts("releer")] == [m.post],
    "notes.get": lambda p, m: p.notes.get(m.post).markdown == "solo mía",
    "notes.list": lambda p, m: len(p.notes.list()) == 1,
    "highlights.list": lambda p, m: [h.id for h in p.highlights.list()] == [m.highlight_id],
    "highlights.get": lambda p, m: p.highlights.get(m.highlight_id).exact.startswith("Venus"),
    "highlights.segments": lambda p, m: p.highlights.segments(m.highlight_id) is None,
    "export": lambda p, m: [x["name"] for x in p.export()["lists"]] == ["secreta"]
    and [x["note"] for x in p.export()["posts"]] == ["solo mía"],
    "post": lambda p, m: p.post(m.post).status == "releer"
    and p.post(m.post).note.markdown == "solo mía"  # type: ignore[union-attr]
    and [h.id for h in p.post(m.post).highlights] == [m.highlight_id],
}


@pytest.fixture
def demoted(archive, people: People, services) -> tuple[Personal, Mine]:
    """Ana's data, then Ana made readonly."""
    mine = ana_objects(people)
    services.accounts.set_role("ana", "readonly")
    return archive.personal("ana"), mine


@pytest.mark.parametrize("name", sorted(WRITES))
def test_readonly_users_cannot_change_their_data(archive, demoted, name: str):
    personal, mine = demoted
    before = snapshot(archive)
    with pytest.raises(PermissionDenied, match=r"ana \(readonly\) may not change"):
        WRITES[name](personal, mine)
    assert snapshot(archive) == before


def test_readonly_users_read_their_own_data(demoted):
    personal, mine = demoted
    assert {name: read(personal, mine) for name, read in READS.items()} == \
        dict.fromkeys(READS, True)


def test_every_personal_function_is_a_read_or_a_write():
    assert set(READS) | set(WRITES) == _public_functions()
    assert not set(READS) & set(WRITES)

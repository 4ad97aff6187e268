"""Search for the acting user: filters by their lists, reading status, notes, highlights."""
# ruff: noqa: F811 (the fixtures imported from the helpers are parameters here)

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alejandria.models import Checkpoint

from .accounts_helpers import clock, services  # noqa: F401 (fixtures)
from .personal_helpers import CREATOR, People, people, post  # noqa: F401 (fixtures)


def test_search_filters_by_the_users_own_data(archive, memory_source, people: People):
    memory_source.content["s"] = [CREATOR, post("q1", "La luna en Cáncer."),
                                  post("q2", "La luna llena."), post("q3", "La luna nueva."),
                                  Checkpoint()]
    archive.sync("memory", "s")
    q1, q2, q3 = (hit.post_id for hit in sorted(
        archive.search("luna", mode="fulltext"), key=lambda hit: hit.title))
    ana = people.ana
    ana.lists.create("astro")
    ana.lists.add_post("astro", q1)
    ana.status.set(q2, "completed")
    ana.notes.set(q3, "ver")
    ana.highlights.add(q1, "luna")

    def found(**filters) -> set[int]:
        return {hit.post_id for hit in archive.search("luna", mode="fulltext",
                                                      actor=ana.actor, **filters)}

    assert found(in_list="astro") == {q1}
    assert found(status="completed") == {q2}
    assert found(status="unread") == {q1, q3}
    assert (found(has_note=True), found(has_note=False)) == ({q3}, {q1, q2})
    assert (found(highlighted=True), found(highlighted=False)) == ({q1}, {q2, q3})
    assert found(in_list="astro", highlighted=False) == set()
    # another user's list is no list of theirs; without a user, the filters are refused
    assert archive.search("luna", mode="fulltext", actor=people.bo.actor,
                          in_list="astro") == []
    with pytest.raises(ValidationError, match="search as that user"):
        archive.search("luna", mode="fulltext", in_list="astro")

"""``archive.personal(user).export()`` and ``alejandria me export``: a user's lists, statuses,
notes and highlights as one JSON document, each post named so another archive finds it again,
nothing of anyone else's in it."""
# ruff: noqa: F811 (the fixtures imported from the helpers are parameters here)

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from alejandria.accounts.personal.export import FORMAT
from alejandria.models import Checkpoint

from .accounts_helpers import FAST_HASH, PASSWORD, clock, services  # noqa: F401 (fixtures)
from .personal_helpers import CREATOR, People, people, post, post_ids  # noqa: F401 (fixtures)


@pytest.fixture
def alejandria_settings_overrides() -> dict[str, object]:
    return dict(FAST_HASH)


def ref(people: People, index: int) -> dict[str, Any]:
    number = index + 1
    return {"id": people.posts[index], "source": "memory", "external_id": f"p{number}",
            "title": f"Entrada p{number}", "creator": "Ana", "url": None}


def fill(people: People) -> None:
    """Ana's data (two lists, a label, statuses, notes, a highlight) and some of Bo's."""
    ana, first, second, third = people.ana, *people.posts
    leer = ana.lists.create("Para leer", color="#2266aa", description="lo pendiente")
    ana.lists.create("Vacía")
    ana.lists.add_post(leer.id, third)
    ana.lists.add_post(leer.id, first)
    ana.status.define("releer")
    ana.status.set(first, "releer")
    ana.status.set(second, "completed")
    ana.notes.set(first, "# Mercurio\n\nRige la *mente*.")
    ana.highlights.add(first, "Venus rige el amor", comment="¡clave!")
    bo = people.bo
    bo.lists.create("De Bo")
    bo.notes.set(second, "nota de Bo")
    bo.status.define("de bo")
    bo.highlights.add(first, "Mercurio rige la mente")


def test_the_export_holds_all_of_my_data_and_only_mine(people: People) -> None:
    fill(people)

    exported = people.ana.export()

    assert json.loads(json.dumps(exported)) == exported  # plain JSON all through
    assert exported["format"] == FORMAT and exported["user"] == "ana"
    assert datetime.fromisoformat(exported["exported_at"]).tzinfo is not None
    assert exported["status_labels"] == ["releer"]
    assert [(found["name"], found["color"], found["description"])
            for found in exported["lists"]] == [("Para leer", "#2266aa", "lo pendiente"),
                                                ("Vacía", None, None)]
    listed = exported["lists"][0]["posts"]
    assert [item["post"] for item in listed] == [ref(people, 2), ref(people, 0)]  # list order
    assert exported["lists"][1]["posts"] == []
    assert [(item["post"], item["status"], item["note"]) for item in exported["posts"]] == [
        (ref(people, 0), "releer", "# Mercurio\n\nRige la *mente*."),
        (ref(people, 1), "completed", None)]
    [mark] = exported["highlights"]
    assert mark["post"] == ref(people, 0)
    assert (mark["target"], mark["exact"], mark["comment"], mark["orphaned"]) == (
        "text", "Venus rige el amor", "¡clave!", False)
    assert mark["prefix"].endswith("palabra. ") and mark["suffix"].startswith(". Mercurio")
    text = json.dumps(exported, ensure_ascii=False)
    assert "Bo" not in text and "de bo" not in text and "Mercurio rige la mente\"" not in text


def test_a_user_without_data_exports_an_empty_document(people: People) -> None:
    exported = people.rita.export()  # readonly: reading one's own data is allowed

    assert {key: exported[key] for key in ("user", "status_labels", "lists", "posts",
                                           "highlights")} == {
        "user": "rita", "status_labels": [], "lists": [], "posts": [], "highlights": []}


def test_the_cli_writes_the_export_to_a_private_file_or_prints_it(
        alejandria_cli, open_archive, memory_source, tmp_path: Path) -> None:
    with open_archive() as archive:
        memory_source.content["t"] = [CREATOR, post("p1"), post("p2"), Checkpoint()]
        archive.sync("memory", "t")
        archive.accounts.create("ana", PASSWORD)
        ana = archive.personal("ana")
        first, second = post_ids(archive)
        ana.lists.create("Para leer")
        ana.lists.add_post("Para leer", second)
        ana.notes.set(first, "# Mercurio")
        ana.highlights.add(first, "Venus rige el amor")
    target = tmp_path / "ana.json"

    written = alejandria_cli("me", "export", "--as", "ana", "-o", str(target))
    printed = alejandria_cli("me", "export", "--as", "ana")
    unknown = alejandria_cli("me", "export", "--as", "nadie")
    nowhere = alejandria_cli("me", "export", "--as", "ana", "-o",
                             str(tmp_path / "missing" / "ana.json"))

    assert written.returncode == 0, written.stderr
    assert "1 list, 1 post with a status or note, 1 highlight" in written.stderr
    assert target.stat().st_mode & 0o777 == 0o600  # personal data: its owner's eyes only
    assert printed.returncode == 0, printed.stderr
    for document in (json.loads(target.read_text(encoding="utf-8")),
                     json.loads(printed.stdout)):
        assert [found["name"] for found in document["lists"]] == ["Para leer"]
        assert [item["post"]["external_id"] for item in document["lists"][0]["posts"]] \
            == ["p2"]
        assert [item["note"] for item in document["posts"]] == ["# Mercurio"]
        assert [item["exact"] for item in document["highlights"]] == ["Venus rige el amor"]
    assert unknown.returncode != 0 and "nadie" in unknown.stderr
    assert nowhere.returncode == 1 and "cannot write" in nowhere.stderr \
        and "Traceback" not in nowhere.stderr

"""Highlights on text, pages and transcripts; re-attached after an upstream edit, orphaned (and
kept) when their text is gone."""
# ruff: noqa: F811 (the fixtures imported from the helpers are parameters here)

from __future__ import annotations

import pytest
from sqlalchemy import text

from alejandria.accounts.personal.anchoring import anchor_at, locate
from alejandria.errors import NotFound
from alejandria.models import Checkpoint

from .accounts_helpers import clock, services  # noqa: F401 (fixtures)
from .personal_helpers import BODY, CREATOR, People, people, post  # noqa: F401 (fixtures)


def test_a_highlight_is_anchored_by_position_and_by_quote(people: People):
    made = people.ana.highlights.add(people.posts[0], "Venus rige el amor", color="#FF0000",
                                     comment="clave")

    start = BODY.index("Venus")
    assert (made.target, made.start, made.end, made.exact) == (
        "text", start, start + len("Venus rige el amor"), "Venus rige el amor")
    assert made.prefix == BODY[start - 32:start] and made.suffix == BODY[made.end:made.end + 32]
    assert (made.color, made.comment, made.orphaned) == ("#ff0000", "clave", False)
    assert people.ana.highlights.list(people.posts[0]) == [made]


def test_a_repeated_quote_is_the_first_unless_a_position_picks_another(people: People):
    highlights = people.ana.highlights
    second = BODY.index("Mercurio", BODY.index("Mercurio") + 1)

    first = highlights.add(people.posts[0], "Mercurio")
    picked = highlights.add(people.posts[0], "Mercurio", start=second)

    assert (first.start, picked.start) == (BODY.index("Mercurio"), second)
    with pytest.raises(ValueError, match="does not read"):
        highlights.add(people.posts[0], "Mercurio", start=second + 1)
    with pytest.raises(ValueError, match="does not contain 'Plutón'"):
        highlights.add(people.posts[0], "Plutón")


def test_highlights_on_a_page_and_on_a_transcript_range(archive, people: People):
    book = people.posts[2]
    on_page = people.ana.highlights.add(book, "el sol en Leo", page=2)
    assert (on_page.target, on_page.page, on_page.start) == (
        "page", 2, "Segunda página: el sol en Leo.".index("el sol"))
    with pytest.raises(ValueError, match="page 7 of post"):
        people.ana.highlights.add(book, "sol", page=7)

    media_id = _transcript(archive, book, ["Hola a todos.", "Hoy hablamos de Saturno.",
                                           "Saturno pide paciencia.", "Adiós."])
    whole = people.ana.highlights.add(book, media_id=media_id, segments=(1, 2))
    inside = people.ana.highlights.add(book, "Saturno", media_id=media_id, segments=(2, 3))

    assert whole.exact == "Hoy hablamos de Saturno.\nSaturno pide paciencia."
    assert people.ana.highlights.segments(whole.id) == (1, 2)
    assert (inside.exact, people.ana.highlights.segments(inside.id)) == ("Saturno", (2, 2))
    assert people.ana.highlights.segments(on_page.id) is None
    with pytest.raises(NotFound, match="has no media"):
        people.ana.highlights.add(people.posts[0], "Hola", media_id=media_id)


def test_colour_and_comment_change_and_a_highlight_is_deleted(people: People):
    highlights = people.ana.highlights
    made = highlights.add(people.posts[0], "carta natal", comment="x")

    changed = highlights.update(made.id, color="#00ff00", comment=None)
    assert (changed.color, changed.comment) == ("#00ff00", None)
    assert highlights.update(made.id, comment="otra").color == "#00ff00"
    with pytest.raises(ValueError, match="#RRGGBB"):
        highlights.update(made.id, color="verde")
    highlights.delete(made.id)
    with pytest.raises(NotFound, match=f"no highlight {made.id}"):
        highlights.get(made.id)


def test_highlights_reattach_to_their_quote_after_an_upstream_edit(archive, memory_source,
                                                                    people: People):
    venus = people.ana.highlights.add(people.posts[0], "Venus rige el amor")
    mercury = people.bo.highlights.add(people.posts[0], "Mercurio",
                                       start=BODY.index("Mercurio retrógrado"))
    edited = "Prólogo nuevo, bastante largo.\n\n" + BODY.replace("la mente", "el intelecto")

    memory_source.content["t"] = [CREATOR, post("p1", edited), Checkpoint()]
    archive.sync("memory", "t")

    moved = people.ana.highlights.get(venus.id)
    assert edited[moved.start:moved.end] == "Venus rige el amor" and not moved.orphaned
    assert moved.start == edited.index("Venus") != venus.start
    assert moved.prefix == edited[moved.start - 32:moved.start]
    second = people.bo.highlights.get(mercury.id)  # the context picks the right "Mercurio"
    assert second.start == edited.index("Mercurio retrógrado")


def test_a_highlight_whose_text_is_gone_is_kept_orphaned_and_comes_back(archive, memory_source,
                                                                       people: People):
    made = people.ana.highlights.add(people.posts[0], "Venus rige el amor", comment="guardar")

    memory_source.content["t"] = [CREATOR, post("p1", "Texto nuevo sin aquella frase."),
                                  Checkpoint()]
    archive.sync("memory", "t")

    orphan = people.ana.highlights.get(made.id)
    assert orphan.orphaned and (orphan.exact, orphan.comment) == ("Venus rige el amor",
                                                                  "guardar")
    assert people.ana.highlights.list(orphaned=True) == [orphan]
    memory_source.content["t"] = [CREATOR, post("p1", BODY), Checkpoint()]
    archive.sync("memory", "t")
    assert not people.ana.highlights.get(made.id).orphaned


def test_locate_prefers_the_occurrence_whose_context_matches():
    source = "uno Mercurio dos. tres Mercurio cuatro. cinco Mercurio seis."
    third = anchor_at(source, source.rindex("Mercurio"), source.rindex("Mercurio") + 8)
    shifted = "Nuevo. " + source

    found = locate(shifted, third.exact, third.prefix, third.suffix, hint=third.start)

    assert found is not None and found.start == shifted.rindex("Mercurio")
    assert locate(shifted, "Mercurio", "nada", "igual", hint=0).start == 11  # nearest the hint
    assert locate(shifted, "Plutón") is None


def _transcript(archive, post_id: int, segments: list[str]) -> int:
    with archive.engine.begin() as conn:
        media_id = conn.execute(text(
            "INSERT INTO media_files (sha256, kind, size) VALUES (repeat('a', 64), 'audio', 1) "
            "RETURNING id")).scalar_one()
        conn.execute(text("INSERT INTO post_media (post_id, media_id, key) "
                          "VALUES (:p, :m, 'audio')"), {"p": post_id, "m": media_id})
        transcription = conn.execute(text(
            "INSERT INTO transcriptions (media_id, engine, model) VALUES (:m, 'e', 'm') "
            "RETURNING id"), {"m": media_id}).scalar_one()
        for ordinal, segment in enumerate(segments):
            conn.execute(text(
                "INSERT INTO transcript_segments (transcription_id, ordinal, start_s, end_s, "
                "text, ts_config) VALUES (:t, :o, :o, :o + 1, :text, 'simple')"),
                {"t": transcription, "o": ordinal, "text": segment})
    return int(media_id)

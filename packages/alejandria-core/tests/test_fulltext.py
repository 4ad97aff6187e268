"""Full-text search: weighted, accent-insensitive, any string valid, filters, page and snippet."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from alejandria.models import Checkpoint, ChunkIn, CreatorIn, PostIn
from alejandria.text.accents import _fold_table, fold_accents


def _post(eid: str, title: str, body: str = "", *, creator: str = "lucia",
          tags: tuple[str, ...] = (), chunks: tuple[ChunkIn, ...] = ()) -> PostIn:
    return PostIn(external_id=eid, creator_external_id=creator, title=title, text=body,
                  tags=tags, chunks=chunks)


@pytest.fixture
def corpus(archive, memory_source):
    memory_source.content["t"] = [
        CreatorIn(external_id="lucia", name="Lucía Fernández"),
        CreatorIn(external_id="sam", name="Sam Carter"),
        _post("natal", "Capítulo 2: La carta natal",
              chunks=(ChunkIn(text="Introducción general al libro.", page=14),
                      ChunkIn(text="La carta natal muestra la posición de los planetas "
                                   "en el momento exacto del nacimiento.", page=15))),
        _post("retro", "Los planetas retrógrados",
              "Cuando Mercurio parece retroceder, hablamos de un movimiento aparente."),
        _post("bread", "Sourdough starter", "Feed the starter with flour and water daily.",
              creator="sam", tags=("baking",)),
        _post("body-natal", "Otras técnicas", "Se menciona la carta natal de pasada."),
        _post("tagged", "Notas sueltas", "Sin relación.", tags=("carta natal",)),
        Checkpoint(),
    ]
    assert archive.sync("memory", "t").ok
    return archive


def test_query_without_accents_finds_accented_chapter_with_page(corpus):
    hits = corpus.search("capitulo carta natal", mode="fulltext")

    assert hits[0].title == "Capítulo 2: La carta natal"
    assert hits[0].page == 15
    assert hits[0].creator == "Lucía Fernández"
    marked = [hits[0].snippet[a:b] for a, b in hits[0].highlights]
    assert "carta" in marked and "natal" in marked


def test_snippet_keeps_original_accents(corpus):
    hit = corpus.search("retrogrados mercurio", mode="fulltext")[0]

    assert hit.title == "Los planetas retrógrados"
    assert "Mercurio" in hit.snippet
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["Mercurio"]


def test_title_outranks_body_outranks_tags(corpus):
    ids = [hit.title for hit in corpus.search("carta natal", mode="fulltext")]

    assert ids.index("Capítulo 2: La carta natal") < ids.index("Otras técnicas")
    assert ids.index("Otras técnicas") < ids.index("Notas sueltas")


def test_spanish_stemming_matches_inflections(corpus):
    assert [h.title for h in corpus.search("planeta retrogrado")] == ["Los planetas retrógrados"]


def test_filters_by_source_and_creator(corpus):
    assert corpus.search("starter", creator="Sam Carter")[0].title == "Sourdough starter"
    assert corpus.search("starter", creator="lucia") == []
    assert corpus.search("starter", source="pdf") == []
    assert len(corpus.search("starter", source="memory")) == 1
    # a name typed without its accents finds the creator, as the text search does
    for typed in ("Lucia Fernandez", "LUCÍA FERNÁNDEZ", "lucía fernandez"):
        assert [h.title for h in corpus.search("retrogrados", creator=typed)] == [
            "Los planetas retrógrados"]


@pytest.mark.parametrize("query", [
    "", "   ", "'", '"', '"unterminated', "a & b | !c", "(()", "natal:*", "\\", "--", "-natal",
    "or", "x" * 5000, "😀 emoji", "null\x00byte", "'; DROP TABLE posts; --", "<->", "a <2> b",
    "el la de",  # only stopwords
])
def test_any_string_is_a_valid_query(corpus, query):
    hits = corpus.search(query, mode="fulltext")

    assert isinstance(hits, list)
    with corpus.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM posts")).scalar_one() == 5


def test_websearch_syntax_phrases_and_exclusion(corpus):
    titles = {h.title for h in corpus.search('"carta natal" -capitulo')}
    assert titles == {"Otras técnicas", "Notas sueltas"}


@pytest.mark.parametrize("sample", [
    "".join(chr(code) for code in _fold_table()) + " Ñandú ÇA va? Østergård",  # every letter
    "plain ASCII text, nothing to fold",
    "Ñandú, canción y pingüino ×÷",  # Latin-1 only
    "Łódź and Dvořák",  # Latin Extended only
])
def test_sql_fold_function_matches_python(archive, sample):
    with archive.engine.connect() as conn:
        folded = conn.execute(text("SELECT alejandria_fold(:s)"), {"s": sample}).scalar_one()
    assert folded == fold_accents(sample)
    assert fold_accents("Ñandú") == "Nandu"

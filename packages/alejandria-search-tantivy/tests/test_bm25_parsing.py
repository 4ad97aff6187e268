"""Reading Postgres's text forms: a tsvector into the index's fields, a tsquery into a tree."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from alejandria.api import Archive
from alejandria_search_tantivy.tsquery import And, Not, Or, Phrase, QuerySyntaxError, Term, parse
from alejandria_search_tantivy.tsvector import FIELD_OF_WEIGHT, parse_tsvector


def test_tsvector_text_reads_as_postgres_unnests_it(corpus: Archive):
    # the chunks' own vectors, and lexemes the text parser never makes (quotes, backslashes,
    # spaces, a stripped vector) but a tsvector can hold
    literal = r"""'it''s':1A,7 'c:\\temp':2B 'two words':3C 'plain' 'ñandú':4"""
    vectors = """SELECT search_vector AS v FROM chunks
                 UNION ALL SELECT CAST(:literal AS tsvector)"""
    with corpus.engine.connect() as conn:
        rows = conn.execute(text(f"""
            SELECT CAST(v AS text), ARRAY(
                SELECT row(u.lexeme, coalesce(p.pos, 1), coalesce(p.w, 'D'))::text
                FROM unnest(v) AS u
                LEFT JOIN LATERAL unnest(u.positions, u.weights) AS p(pos, w) ON true)
            FROM ({vectors}) AS all_vectors"""), {"literal": literal}).all()
    assert len(rows) > 8
    for vector, expected in rows:
        theirs = sorted(_rows(expected))
        ours = sorted(parse_tsvector(vector))
        assert ours == theirs, vector
    assert ("it's", 7, "D") in ours and ("c:\\temp", 2, "B") in ours \
        and ("plain", 1, "D") in ours
    assert set(FIELD_OF_WEIGHT) == {"A", "B", "C", "D"}


def _rows(records: list[str]) -> list[tuple[str, int, str]]:
    """``(lexeme,3,A)`` records as Postgres prints them (lexemes quoted where needed)."""
    import csv

    parsed = []
    for record in records:
        inner = record[1:-1].replace("\\\\", "\x00")  # a record doubles backslashes
        lexeme, position, weight = next(csv.reader([inner], doublequote=True))
        parsed.append((lexeme.replace("\x00", "\\"), int(position), weight))
    return parsed


@pytest.mark.parametrize(("tsquery", "tree"), [
    ("'gato'", Term("gato")),
    ("'gato' & 'negro'", And((Term("gato"), Term("negro")))),
    ("'black' <-> 'cat' <2> 'sat'", Phrase(((0, "black"), (1, "cat"), (3, "sat")))),
    ("!'dog' & 'cat'", And((Not(Term("dog")), Term("cat")))),
    ("( 'a' | 'b' ) & 'c'", And((Or((Term("a"), Term("b"))), Term("c")))),
    ("'a' | 'b' & 'c'", Or((Term("a"), And((Term("b"), Term("c")))))),
    ("'it''s' & 'c:\\\\temp'", And((Term("it's"), Term("c:\\temp")))),
    ("'a' <-> ( 'b' | 'c' )", And((Term("a"), Or((Term("b"), Term("c")))))),
    ("'pre':* & 'w':AB", And((Term("pre"), Term("w")))),
])
def test_tsquery_text_reads_into_the_same_logic(tsquery: str, tree: object):
    assert parse(tsquery) == tree


def test_empty_and_malformed_tsqueries():
    assert parse("") is None and parse("   ") is None
    for bad in ("'a' &", "( 'a'", "'a' 'b'", "&", "'unterminated"):
        with pytest.raises(QuerySyntaxError):
            parse(bad)

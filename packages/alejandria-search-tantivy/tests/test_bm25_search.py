"""The bm25 backend: the same matches as core's full-text search, ranked by BM25, and never
an answer that misses what the database holds."""

from __future__ import annotations

import pytest

from alejandria.api import Archive

from .conftest import titles

QUERIES = [
    "carta natal", '"carta natal"', "carta -natal", "carta or mercurio", "planeta",
    "retrogrados", "RETRÓGRADOS", "cat", '"black cat"', '"cat black"', "cats -starter",
    "the", "-natal", "it's", r"C:\temp", "'", "--", "a:*", "!!!", "(&|)", "natal <-> carta",
    "starter OR cat OR carta", "código quoted", "\x00natal",
]


@pytest.mark.parametrize("query", QUERIES)
def test_matches_what_core_full_text_matches(corpus: Archive, query: str):
    core = corpus.search(query, mode="fulltext", limit=50)
    ours = corpus.search(query, mode="bm25", limit=50)

    assert sorted(titles(ours)) == sorted(titles(core))
    assert all(hit.mode == "bm25" for hit in ours)


@pytest.mark.parametrize("match", ["all", "any"])
def test_a_huge_query_is_answered_like_core(corpus: Archive, match: str):
    from alejandria.models import SearchQuery

    words = " ".join(f"carta{i} natal mercurio -x{i} \"a b\" or" for i in range(800))
    core = corpus.run_search(SearchQuery(text=words, mode="fulltext", match=match, limit=50))
    ours = corpus.run_search(SearchQuery(text=words, mode="bm25", match=match, limit=50))

    assert sorted(titles(ours)) == sorted(titles(core))
    assert {hit.mode for hit in ours} <= {"bm25"}


def test_hit_carries_page_snippet_and_creator(corpus: Archive):
    hit = corpus.search("capitulo carta natal", mode="bm25")[0]

    assert hit.title == "Capítulo 2: La carta natal"
    assert hit.page == 15
    assert hit.creator == "Lucía Fernández"
    marked = [hit.snippet[a:b] for a, b in hit.highlights]
    assert "carta" in marked and "natal" in marked


def test_title_outranks_body_outranks_tags(corpus: Archive):
    found = titles(corpus.search("carta natal", mode="bm25"))

    assert found.index("Capítulo 2: La carta natal") < found.index("Otras técnicas") \
        < found.index("Notas sueltas")


def test_phrase_keeps_word_order_and_distance(corpus: Archive):
    # "the black cat sat" and "a cat, black as night": only the first has the phrase
    assert titles(corpus.search('"black cat"', mode="bm25")) == ["Sourdough starter"]
    assert titles(corpus.search('"cat black"', mode="bm25")) == ["Notes on cats"]


def test_filters_apply_as_in_core(corpus: Archive):
    for filters in ({"creator": "sam"}, {"creator": "Lucía Fernández"},
                    {"source": "memory"}, {"source": "nothing"}):
        core = corpus.search("cat or carta", mode="fulltext", **filters)
        ours = corpus.search("cat or carta", mode="bm25", **filters)
        assert sorted(titles(ours)) == sorted(titles(core)), filters


def test_pages_do_not_overlap(corpus: Archive):
    every = titles(corpus.search("carta or cat or planetas", mode="bm25", limit=50))
    pages = [titles(corpus.search("carta or cat or planetas", mode="bm25", limit=2,
                                  offset=offset)) for offset in range(0, len(every), 2)]

    assert [title for page in pages for title in page] == every


def test_fulltext_backend_setting_routes_full_text_searches(corpus: Archive, open_archive):
    with open_archive(fulltext_backend="bm25") as routed:
        assert {hit.mode for hit in routed.search("carta natal", mode="fulltext")} == {"bm25"}
        # auto: a keyword query fuses full text and transcripts; its hits say who found them
        assert {hit.mode for hit in routed.search("natal", mode="auto")} == {"bm25"}


def test_unknown_fulltext_backend_is_a_clear_error(corpus: Archive, open_archive):
    from alejandria.errors import SearchUnavailable

    with open_archive(fulltext_backend="lucene") as routed, \
            pytest.raises(SearchUnavailable, match="ALEJANDRIA_FULLTEXT_BACKEND names 'lucene'"):
        routed.search("carta", mode="fulltext")

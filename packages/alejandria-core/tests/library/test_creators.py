"""``archive.library.creators`` / ``creator`` / ``collections`` / ``collection``."""

from __future__ import annotations

import json

import pytest

from alejandria.errors import InvalidRequest, NotFound

from .conftest import FEB, MAR, READONLY
from .test_posts import walk


def test_creators_by_name_with_their_counts(catalogue):
    page = catalogue.library.creators(limit=200)
    names = [c.name for c in page.items]
    assert names == sorted(names, key=str.lower) and {"Ana", "Beto"} <= set(names)
    ana = catalogue.library.creator(catalogue.creators["ana"])
    assert (ana.source, ana.external_id, ana.url, ana.post_count, ana.collection_count) == (
        "memory", "ana", "https://example.com/ana", 10, 1)
    assert ana.last_post_at == FEB
    beto = catalogue.library.creator(catalogue.creators["beto"], actor=READONLY)
    assert (beto.post_count, beto.collection_count, beto.last_post_at) == (5, 1, MAR)
    assert json.loads(json.dumps(beto.as_json())) == {
        "id": beto.id, "source": "memory", "external_id": "beto", "name": "Beto", "url": None,
        "post_count": 5, "collection_count": 1, "last_post_at": MAR.isoformat()}


def test_creators_page_and_filter_by_source(catalogue):
    everyone = [c.id for c in catalogue.library.creators(limit=200).items]
    assert len(everyone) == 3
    assert walk(catalogue.library.creators, 1) == everyone
    memory = catalogue.library.creators(source="memory")
    assert {c.id for c in memory.items} == set(catalogue.creators.values())
    with pytest.raises(InvalidRequest):
        catalogue.library.creators(cursor="eyJvIjoxfQ")


def test_collections(catalogue):
    tarot = catalogue.library.collection(catalogue.collections["c-tarot"])
    assert (tarot.title, tarot.description, tarot.cover_url, tarot.post_count,
            tarot.creator.name) == ("Tarot", "Cartas", "https://example.com/tarot.jpg", 3, "Ana")
    page = catalogue.library.collections(source="memory", limit=200)
    assert [c.title for c in page.items] == ["astrologia", "Tarot"]  # case-insensitive
    everything = [c.id for c in catalogue.library.collections(limit=200).items]
    assert len(everything) == 3  # and the folder the files source synced
    assert walk(catalogue.library.collections, 1) == everything
    by_beto = catalogue.library.collections(creator_id=catalogue.creators["beto"])
    assert [c.title for c in by_beto.items] == ["astrologia"]
    assert catalogue.library.collections(source="nope").items == []
    assert set(json.loads(json.dumps(tarot.as_json()))) == {
        "id", "source", "external_id", "title", "description", "creator", "post_count",
        "cover_url"}


def test_filter_choices_name_what_the_lists_hold(catalogue):
    choices = catalogue.library.choices(actor=READONLY)
    assert choices.creators == [(c.id, c.name) for c in catalogue.library.creators(limit=200).items]
    assert choices.collections == [(c.id, c.title) for c in
                                   catalogue.library.collections(limit=200).items]
    assert choices.sources == sorted({c.source for c in catalogue.library.creators(limit=200)
                                      .items})
    by_beto = catalogue.library.choices(creator_id=catalogue.creators["beto"])
    assert [title for _id, title in by_beto.collections] == ["astrologia"]
    assert len(catalogue.library.choices(limit=1).creators) == 1


def test_unknown_ids_are_not_found(catalogue):
    with pytest.raises(NotFound, match="creator 987654 not found"):
        catalogue.library.creator(987654)
    with pytest.raises(NotFound, match="collection 987654 not found"):
        catalogue.library.collection(987654)

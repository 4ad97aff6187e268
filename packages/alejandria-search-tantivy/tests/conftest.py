"""A small bilingual corpus in a real archive, and the bm25 settings each test controls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from alejandria.api import Archive
from alejandria.models import Checkpoint, ChunkIn, CreatorIn, PostIn
from alejandria.testing.memory import memory_plugin
from alejandria_search_tantivy import settings as bm25_settings_module
from alejandria_search_tantivy.settings import Bm25Settings


def post(eid: str, title: str, body: str = "", *, creator: str = "lucia",
         tags: tuple[str, ...] = (), chunks: tuple[ChunkIn, ...] = ()) -> PostIn:
    return PostIn(external_id=eid, creator_external_id=creator, title=title, text=body,
                  tags=tags, chunks=chunks)


CORPUS: list[Any] = [
    CreatorIn(external_id="lucia", name="Lucía Fernández"),
    CreatorIn(external_id="sam", name="Sam Carter"),
    post("natal", "Capítulo 2: La carta natal",
         chunks=(ChunkIn(text="Introducción general al libro.", page=14),
                 ChunkIn(text="La carta natal muestra la posición de los planetas "
                              "en el momento exacto del nacimiento.", page=15))),
    post("retro", "Los planetas retrógrados",
         "Cuando Mercurio parece retroceder, hablamos de un movimiento aparente."),
    post("bread", "Sourdough starter", "Feed the starter with flour and water daily. "
         "The black cat sat on the warm oven.", creator="sam", tags=("baking",)),
    post("cat", "Notes on cats", "A cat, black as night, sat by the door.", creator="sam"),
    post("body-natal", "Otras técnicas", "Se menciona la carta natal de pasada."),
    post("tagged", "Notas sueltas", "Sin relación.", tags=("carta natal",)),
    post("quotes", "Código: it's a \"quoted\" path", r"C:\temp\it's 'here' \\ done"),
    Checkpoint(),
]


@pytest.fixture
def bm25_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Bm25Settings]]:
    """``bm25_settings(**values)`` sets what the backend reads; no background thread unless
    a test asks for one."""

    def set_(**values: Any) -> Bm25Settings:
        settings = Bm25Settings(**{"background": False, **values})
        monkeypatch.setattr(bm25_settings_module, "_LOADED", settings)
        return settings

    set_()
    yield set_


@pytest.fixture
def corpus(archive: Archive, register_plugin: Callable[..., None],
           bm25_settings: Callable[..., Bm25Settings]) -> Archive:
    register_plugin(memory_plugin("memory", CORPUS), name="bm25-memory")
    assert archive.sync("memory", "t").ok
    return archive


def titles(hits: list[Any]) -> list[str]:
    return [hit.title for hit in hits]

"""The sample books in ``examples/books`` and the script that makes them."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from alejandria.models import CollectionIn, CreatorIn, PostIn, SyncItem

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load_generator(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_sample_books", EXAMPLES / "make_sample_books.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("filename", "author", "title", "chapters"),
    [
        (
            "astrologia-para-principiantes.pdf", "Lucía Fernández",
            "Astrología para principiantes",
            ["Front matter", "Introducción: un lenguaje de símbolos", "La carta natal",
             "Los signos y los cuatro elementos", "Los planetas retrógrados",
             "Las casas astrológicas", "Tránsitos y progresiones"],
        ),
        (
            "home-bread-baking.pdf", "Sam Carter", "Home Bread Baking",
            ["Front matter", "Keeping a sourdough starter", "Flour, water and hydration",
             "Shaping and proofing", "Baking in a home oven", "Troubleshooting"],
        ),
        (
            "field-notes-on-urban-birds.pdf", "Ana Okafor", "Field notes on urban birds",
            ["Pages 1–10", "Pages 11–14"],
        ),
    ],
)
def test_sample_books(
    fetch_all: Callable[..., list[SyncItem]],
    filename: str,
    author: str,
    title: str,
    chapters: list[str],
) -> None:
    items = fetch_all(EXAMPLES / "books" / filename)
    creator, collection = items[0], items[1]
    assert isinstance(creator, CreatorIn)
    assert isinstance(collection, CollectionIn)
    assert (creator.name, collection.title) == (author, title)
    assert [item.title for item in items if isinstance(item, PostIn)] == chapters


def test_sample_books_stay_small() -> None:
    total = sum(path.stat().st_size for path in (EXAMPLES / "books").glob("*.pdf"))
    assert 0 < total < 300 * 1024


def test_generator_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generator = load_generator(monkeypatch)
    first = generator.write_book(generator.ASTROLOGY, tmp_path)
    data = first.read_bytes()
    again = generator.write_book(generator.ASTROLOGY, tmp_path)
    assert again.read_bytes() == data
    notes = generator.write_notes(tmp_path)
    assert notes.read_bytes().startswith(b"%PDF-")

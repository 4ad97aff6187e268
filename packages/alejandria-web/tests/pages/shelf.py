"""A small catalogue for the browse and search pages' tests: two creators of the source
``shelf``, a book (a collection of two chapters whose text has PDF page numbers), songs (one
with an image, one with a hostile title and text)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from alejandria.models import (
    ChunkIn,
    CollectionIn,
    CollectionRef,
    CreatorIn,
    MediaIn,
    MediaKind,
    PostIn,
)
from alejandria.testing.memory import memory_plugin


def png_bytes() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, format="PNG")
    return out.getvalue()

HOSTILE_TITLE = "<img src=x onerror=alert(1)>"


@dataclass
class Shelf:
    bruno: int
    carla: int
    dora: int
    book: int
    posts: dict[str, int]


def day(year: int, month: int, date: int) -> datetime:
    return datetime(year, month, date, 12, tzinfo=UTC)


SHELF_ITEMS = [
    CreatorIn(external_id="bruno", name="Bruno Bibliotecario", url="https://example.com/bruno"),
    CreatorIn(external_id="carla", name="Carla Cantante"),
    CreatorIn(external_id="dora", name="Dora Durmiente"),  # nothing archived yet
    CollectionIn(external_id="luna-book", creator_external_id="bruno",
                 title="El libro de la luna", description="Un libro sobre la luna."),
    PostIn(external_id="b1", creator_external_id="bruno", title="Capítulo 1: La luna nueva",
           text="La luna nueva no se ve en el cielo.", published_at=day(2024, 1, 10),
           tags=("astronomía",), collections=(CollectionRef(external_id="luna-book",
                                                            position=1),),
           chunks=(ChunkIn(text="La luna nueva no se ve en el cielo.", page=3),)),
    PostIn(external_id="b2", creator_external_id="bruno", title="Capítulo 2: Eclipses",
           text="Los eclipses de sol ocurren en luna nueva.", published_at=day(2024, 2, 10),
           collections=(CollectionRef(external_id="luna-book", position=2),),
           chunks=(ChunkIn(text="Los eclipses de sol ocurren en luna nueva.", page=7),)),
    PostIn(external_id="c1", creator_external_id="carla", title="Canciones de cuna",
           text="Nanas para dormir.", published_at=day(2023, 6, 1), tags=("música",),
           media=(MediaIn(key="cover", filename="cuna.png", mime_type="image/png",
                          kind=MediaKind.IMAGE),)),
    PostIn(external_id="c2", creator_external_id="carla", title=HOSTILE_TITLE,
           text="Una canción <script>alert('xss')</script> sobre el mar.",
           published_at=day(2023, 7, 1)),
]


@pytest.fixture(name="shelf")
def shelf_fixture(archive: Any, register_plugin: Callable[..., None]) -> Shelf:
    """Creators from the source ``shelf``: Bruno's book (a collection of two chapters, 2024),
    Carla's songs (2023: one with an image, one with a hostile title), Dora (no posts)."""
    from sqlalchemy import text

    register_plugin(memory_plugin("shelf", SHELF_ITEMS, {"cover": png_bytes()}),
                    name="shelf-source")
    archive.sync("shelf", "all", remember=False)
    with archive.engine.begin() as conn:
        posts = dict(conn.execute(text("SELECT external_id, id FROM posts")).all())
        creators = dict(conn.execute(text("SELECT external_id, id FROM creators")).all())
        book = conn.execute(text("SELECT id FROM collections")).scalar_one()
    return Shelf(bruno=creators["bruno"], carla=creators["carla"], dora=creators["dora"],
                 book=book, posts=posts)



"""A small catalogue synced through the real pipeline (the ``memory`` source of the parent
conftest, and the ``files`` source), for the ``archive.library`` tests.

Two creators, two collections and fifteen posts, and one of the ``files`` source: ties in
``published_at`` (three on one day, eight on another), three without a date, titles that
differ only in case, tags, images (one the cover), an audio file, an embedded video and an
edited post with earlier versions.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alejandria.models import (
    EMBED_ROLE,
    Actor,
    Checkpoint,
    CollectionIn,
    CollectionRef,
    CreatorIn,
    MediaIn,
    MediaKind,
    PostIn,
)

JAN = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
FEB = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
MAR = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
#: A microsecond before January's posts: the cursor keeps microseconds.
JUST_BEFORE_JAN = datetime(2024, 1, 1, 8, 59, 59, 999999, tzinfo=UTC)

READONLY = Actor(user_id=9001, username="lectora", role="readonly")
USER = Actor(user_id=9002, username="usuaria", role="user")
ADMIN = Actor(user_id=9003, username="admin", role="admin")


@pytest.fixture
def alejandria_settings_overrides() -> dict[str, object]:
    """No processing or embed downloads after a sync: tests that want thumbnails ask."""
    return {"process_media": False, "download_embeds": False}


def png(width: int = 40, height: int = 30, color: str = "teal") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


IMAGE_1 = MediaIn(key="img-1", filename="portada.png", mime_type="image/png",
                  kind=MediaKind.IMAGE, role="cover", data=png(color="teal"))
IMAGE_2 = MediaIn(key="img-2", filename="dibujo.png", mime_type="image/png",
                  kind=MediaKind.IMAGE, position=1, caption="Un dibujo", data=png(color="red"))
AUDIO = MediaIn(key="aud-1", filename="charla.mp3", mime_type="audio/mpeg",
                kind=MediaKind.AUDIO, data=b"ID3" + b"\x01" * 64)
VIDEO_EMBED = MediaIn(key="yt-1", url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                      role=EMBED_ROLE, kind=MediaKind.VIDEO)


def post(external_id: str, title: str, *, creator: str = "ana",
         published: datetime | None = None, text: str | None = None,
         tags: tuple[str, ...] = (), collections: tuple[str, ...] = (),
         media: tuple[MediaIn, ...] = (), html: str | None = None) -> PostIn:
    body = text if text is not None else f"El texto de {title}. " * 3
    return PostIn(external_id=external_id, creator_external_id=creator, title=title,
                  text=body, html=html if html is not None else f"<p>{body}</p>",
                  url=f"https://example.com/posts/{external_id}", published_at=published,
                  tags=tags, collections=tuple(CollectionRef(external_id=c) for c in collections),
                  media=media)


def items(first_text: str = "Primera versión de la carta natal.") -> list[Any]:
    return [
        CreatorIn(external_id="ana", name="Ana", url="https://example.com/ana"),
        CreatorIn(external_id="beto", name="Beto"),
        CollectionIn(external_id="c-tarot", creator_external_id="ana", title="Tarot",
                     description="Cartas", cover_url="https://example.com/tarot.jpg"),
        CollectionIn(external_id="c-astro", creator_external_id="beto", title="astrologia"),
        post("p01", "Carta natal", published=JAN, text=first_text, tags=("tarot",),
             collections=("c-tarot",), media=(IMAGE_1,)),
        post("p02", "carta natal", published=JAN, tags=("tarot", "luna"),
             collections=("c-tarot",)),
        post("p03", "Zodiaco", published=JAN),
        post("p04", "Beta", creator="beto", published=FEB, collections=("c-astro",),
             media=(AUDIO,)),
        post("p05", "alfa", creator="beto"),
        post("p06", "Alfa", creator="beto"),
        post("p07", "Mercurio", tags=("luna",), media=(IMAGE_2, IMAGE_1, VIDEO_EMBED)),
        post("p08", "Venus", published=JUST_BEFORE_JAN),
        post("p09", "Marte", creator="beto", published=MAR, collections=("c-tarot",)),
        *[post(f"p1{n}", f"Serie {n}", published=FEB) for n in range(5)],
        post("p15", "Carta natal", creator="beto", published=FEB),
        Checkpoint(),
    ]


@dataclass
class Catalogue:
    archive: Any
    posts: dict[str, int] = field(default_factory=dict)
    creators: dict[str, int] = field(default_factory=dict)
    collections: dict[str, int] = field(default_factory=dict)
    media: dict[str, int] = field(default_factory=dict)
    #: The post of the ``files`` source.
    file_post: int = 0

    @property
    def library(self) -> Any:
        return self.archive.library

    def ids(self, *external_ids: str) -> list[int]:
        return [self.posts[external_id] for external_id in external_ids]


def _load_ids(catalogue: Catalogue) -> None:
    from sqlalchemy import text

    with catalogue.archive.engine.connect() as conn:
        catalogue.posts = dict(conn.execute(text(
            "SELECT external_id, id FROM posts WHERE source = 'memory'")).all())
        catalogue.creators = dict(conn.execute(text(
            "SELECT external_id, id FROM creators WHERE source = 'memory'")).all())
        catalogue.collections = dict(conn.execute(text(
            "SELECT external_id, id FROM collections")).all())
        catalogue.media = dict(conn.execute(text(
            "SELECT DISTINCT pm.key, pm.media_id FROM post_media pm")).all())
        catalogue.file_post = conn.execute(text(
            "SELECT id FROM posts WHERE source = 'files'")).scalar_one()


@pytest.fixture
def catalogue(archive: Any, memory_source: Any, tmp_path: Path) -> Catalogue:
    """The catalogue above, with p01 edited twice (two earlier versions)."""
    for text_now in ("Primera versión.", "Segunda versión.", "La carta natal, al fin."):
        memory_source.content["t"] = items(text_now)
        report = archive.sync("memory", "t")
        assert report.ok, report.errors
    books = tmp_path / "books"
    books.mkdir()
    book = books / "libro.txt"
    book.write_text("Un libro de texto plano.")
    os.utime(book, (FEB.timestamp(), FEB.timestamp()))  # published then: one more tie
    assert archive.sync("files", books).ok
    made = Catalogue(archive)
    _load_ids(made)
    return made

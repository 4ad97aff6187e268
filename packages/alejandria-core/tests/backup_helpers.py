"""Shared pieces of the backup tests: an archive with content of every kind, a second empty
database, and a full picture of an archive to compare before and after."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from alejandria.models import (
    Checkpoint,
    ChunkIn,
    CollectionIn,
    CollectionRef,
    CreatorIn,
    MediaIn,
    PostIn,
)

from .accounts_helpers import FAST_HASH, PASSWORD

#: Tables whose rows change by themselves when an archive opens or works (job rows of the
#: queue's own, the audit of what the test does next): compared by count only.
VOLATILE = {"jobs", "audit_log", "login_throttle"}
SECRET = {"session_id": "s3cret-session-cookie-value"}
THUMBNAIL = "derived/thumbnails/{a}/{b}/{sha}/150.webp"


@pytest.fixture
def alejandria_settings_overrides() -> dict[str, Any]:
    """No media processing (the tests place a derived file by hand), cheap passwords."""
    return {"process_media": False, "download_embeds": False, **FAST_HASH}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Filled:
    """What ``fill`` put in the archive."""

    blobs: dict[str, bytes]
    thumbnail: Path
    user_id: int


def fill(archive: Any, memory_source: Any) -> Filled:
    """Posts with media (one file shared by two posts), a collection, page chunks, stored
    credentials, a user with a list, a note and a status, and a thumbnail on disk."""
    blobs = {"cover": b"\x89PNG cover bytes" * 50, "song": b"ID3 a song" * 300,
             "book": b"%PDF-1.7 a book" * 80}
    memory_source.blobs = dict(blobs)
    creator = CreatorIn(external_id="ana", name="Ana Lucía: notas/2024")
    book = CollectionIn(external_id="b", creator_external_id="ana", title="El libro")
    memory_source.content["t"] = [
        creator, book,
        PostIn(external_id="p1", creator_external_id="ana", title="Carta natal: primeros pasos",
               text="La carta natal muestra el cielo del nacimiento.",
               html="<p>La carta <b>natal</b> muestra el cielo.</p>",
               collections=(CollectionRef(external_id="b"),), tags=("astro",),
               media=(MediaIn(key="cover", filename="portada.png"),
                      MediaIn(key="song", filename="canción.mp3"))),
        PostIn(external_id="p2", creator_external_id="ana", title="Mercurio retrógrado",
               text="Mercurio retrógrado llega en abril.",
               media=(MediaIn(key="cover", filename="portada.png"),)),
        PostIn(external_id="p3", creator_external_id="ana", title="Un libro/entero",
               text="", chunks=(ChunkIn(text="Primera página: el sol en Leo.", page=1),
                                ChunkIn(text="Segunda página: la luna llena.", page=2)),
               media=(MediaIn(key="book", filename="libro.pdf"),)),
        Checkpoint(),
    ]
    assert archive.sync("memory", "t").ok
    archive.set_credentials("memory", SECRET)
    from alejandria.accounts.service import build_services

    services = build_services(archive.engine, archive.settings)
    user = services.accounts.create("ana", PASSWORD)
    personal = archive.personal(user)
    with archive.engine.connect() as conn:
        post_ids = list(conn.execute(text("SELECT id FROM posts ORDER BY external_id"))
                        .scalars())
    favourites = personal.lists.create("Favoritas")
    personal.lists.add_post(favourites.id, post_ids[0])
    personal.notes.set(post_ids[1], "Revisar *abril*.")
    cover = sha(blobs["cover"])
    thumbnail = archive.settings.data_dir / THUMBNAIL.format(a=cover[:2], b=cover[2:4],
                                                              sha=cover)
    thumbnail.parent.mkdir(parents=True)
    thumbnail.write_bytes(b"RIFF a webp thumbnail")
    return Filled({key: value for key, value in blobs.items()}, thumbnail, user.id)


def picture(archive: Any) -> dict[str, Any]:
    """Everything a restore must bring back: every row of every table (volatile ones by
    count), every stored file's hash, the derived files, and search results."""
    tables: dict[str, Any] = {}
    with archive.engine.connect() as conn:
        names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = "
                                  "'public' ORDER BY tablename")).scalars().all()
        for name in names:
            if name in VOLATILE:
                tables[name] = conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
                continue
            rows = conn.execute(text(f'SELECT to_jsonb(t)::text FROM "{name}" t')).scalars()
            tables[name] = sorted(json.dumps(json.loads(row), sort_keys=True) for row in rows)
    media = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
             for path in archive.media.root.glob("??/??/*")}
    derived_root = archive.settings.data_dir / "derived"
    derived = {path.relative_to(derived_root).as_posix(): path.read_bytes()
               for path in derived_root.rglob("*") if path.is_file()}
    searches = {query: [(hit.post_id, hit.title, hit.snippet, hit.page)
                        for hit in archive.search(query, mode="fulltext")]
                for query in ("carta natal", "mercurio", "luna llena", "abril")}
    return {"tables": tables, "media": media, "derived": derived, "searches": searches}

"""Repository writes: synthetic posts through ``archive.sync`` against a bare ``COPY``.

Both contenders write exactly the same rows (creators, collections, posts, post memberships,
chunks) into fresh databases copied from the same migrated template; ``chunks.search_vector``
is a generated column, so Postgres computes it on both sides.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from harness import Server, stopwatch
from psycopg.types.json import Jsonb

from alejandria import Archive, hookimpl
from alejandria.models import (
    Checkpoint,
    CollectionIn,
    CollectionRef,
    CreatorIn,
    JsonDict,
    PostIn,
    SyncItem,
    SyncTarget,
)
from alejandria.plugin_types import BaseSource, SourceContext, SourceSpec
from alejandria.plugins import PluginManager
from alejandria.settings import Settings
from alejandria.storage.post_writer import PostWriter, split_text

SOURCE = "bench-memory"
TARGET = "synthetic"
CHECKPOINT_EVERY = 100
CREATORS = 20
COLLECTIONS_PER_CREATOR = 5

_WORD_TEXT = """
el la los las un una de del en con por para que como más pero sus año días
historia música carta natal astrología lección capítulo canción guitarra acorde
ejercicio práctica técnica teoría armonía ritmo melodía escala tono compás
información análisis explicación corazón niño mañana pequeño señal también
después según aquí allí está están tenía había será podría debería nuestro
the of and to in is for on with as by this that from at be are was were it
lesson chapter song chord scale practice theory harmony rhythm melody tempo
video audio download course module introduction example exercise technique
patreon creator collection archive search index page book author reader note
"""
_WORDS = tuple(_WORD_TEXT.split())


@dataclass(frozen=True)
class Dataset:
    creators: tuple[CreatorIn, ...]
    collections: tuple[CollectionIn, ...]
    posts: tuple[PostIn, ...]

    def items(self) -> Iterator[SyncItem]:
        """What a paginated API source yields: people, groups, then posts, checkpointed."""
        yield from self.creators
        yield from self.collections
        for index, post in enumerate(self.posts, start=1):
            yield post
            if index % CHECKPOINT_EVERY == 0:
                yield Checkpoint(cursor={"posts": index})
        yield Checkpoint(cursor={"posts": len(self.posts), "done": True})


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(6, 18))
    return " ".join(words).capitalize() + rng.choice(".....?!")


def _text(rng: random.Random) -> str:
    """1–3 KB of paragraphs."""
    goal = rng.randint(1000, 3000)
    paragraphs: list[str] = []
    size = 0
    while size < goal:
        paragraph = " ".join(_sentence(rng) for _ in range(rng.randint(2, 6)))
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    return "\n\n".join(paragraphs)


def make_dataset(count: int, seed: int = 20240601) -> Dataset:
    rng = random.Random(seed)
    creators = tuple(
        CreatorIn(external_id=f"creator-{c}", name=f"Creador {c}",
                  url=f"https://example.org/c/{c}", metadata={"patrons": rng.randint(1, 9999)})
        for c in range(CREATORS)
    )
    collections = tuple(
        CollectionIn(external_id=f"creator-{c}/coll-{k}", creator_external_id=f"creator-{c}",
                     title=f"Curso {k}: {_sentence(rng)[:40]}", metadata={"order": k})
        for c in range(CREATORS) for k in range(COLLECTIONS_PER_CREATOR)
    )
    start = datetime(2021, 1, 1, tzinfo=UTC)
    posts = []
    for i in range(count):
        collection = collections[rng.randrange(len(collections))]
        posts.append(PostIn(
            external_id=f"post-{i}",
            creator_external_id=collection.creator_external_id,
            title=_sentence(rng)[:80],
            text=_text(rng),
            url=f"https://example.org/p/{i}",
            published_at=start + timedelta(minutes=37 * i),
            tags=tuple(rng.sample(_WORDS[-30:], rng.randint(0, 3))),
            collections=(CollectionRef(external_id=collection.external_id, position=i),),
            metadata={"likes": rng.randint(0, 500), "tier": rng.choice(["free", "paid"])},
        ))
    return Dataset(creators, collections, tuple(posts))


# -- ours: a source plugin fed through the real pipeline ---------------------------------------


class _ListSource(BaseSource):
    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        for target in targets:
            yield SyncTarget(scope=target, label=target, locator=target)

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        yield from self.dataset.items()


class DatasetPlugin:
    """Registers the ``bench-memory`` source serving one prebuilt dataset."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    @hookimpl
    def register_sources(self) -> list[SourceSpec]:
        def factory(_context: SourceContext) -> _ListSource:
            return _ListSource(self.dataset)

        return [SourceSpec(name=SOURCE, factory=factory)]


def sync_dataset(server: Server, plugins: PluginManager, dataset: Dataset, workdir: Path,
                 database: str) -> float:
    """``archive.sync`` the dataset into ``database``; seconds of the sync call alone."""
    data_dir = workdir / f"data-{database}"
    settings = bench_settings(data_dir, server.url_for(database))
    try:
        with Archive.open(settings=settings, plugins=plugins, migrate=False) as archive:
            with stopwatch() as elapsed:
                report = archive.sync(SOURCE, TARGET)
            seconds = elapsed()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    if report.errors or report.posts_written != len(dataset.posts):
        raise RuntimeError(f"synthetic sync went wrong: {report}")
    return seconds


# -- the baseline: COPY of the same rows -------------------------------------------------------

_POST_COLUMNS = ("id, source, external_id, creator_id, title, content_text, content_html, url, "
                 "published_at, edited_at, tags, has_text, language, image_count, video_count, "
                 "audio_count, metadata, content_hash")
_CHUNK_COLUMNS = ("post_id, ordinal, kind, page, start_s, end_s, heading, tags, text, "
                  "text_hash, ts_config")


def bench_settings(data_dir: Path, database_url: str | None) -> Settings:
    """Settings for ours; the baseline reads its text-search languages from the same place.
    Embeddings after the sync are off: the baseline writes rows only (they have their own
    benchmark, bench/search_latency.py)."""
    return Settings(data_dir=data_dir, database_url=database_url, load_plugins=False,
                    embed_after_sync=False)


def _hash_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class CopyRows:
    creators: list[tuple[Any, ...]]
    collections: list[tuple[Any, ...]]
    posts: list[tuple[Any, ...]]
    memberships: list[tuple[Any, ...]]
    chunks: list[tuple[Any, ...]]


def copy_rows(dataset: Dataset) -> CopyRows:
    """The rows the repository would write, with ids assigned here (computed before timing).

    Each post's language comes from the repository's own detection (``language_of``), run
    here, untimed: the baseline writes the same values without paying for computing them.
    """
    writer = PostWriter(bench_settings(Path("."), None).search_languages)
    creator_ids = {c.external_id: i for i, c in enumerate(dataset.creators, start=1)}
    collection_ids = {c.external_id: i for i, c in enumerate(dataset.collections, start=1)}
    creators = [
        (creator_ids[c.external_id], SOURCE, c.external_id, c.name, c.url, c.avatar_url,
         Jsonb(c.metadata), _hash_json(c.model_dump(mode="json")))
        for c in dataset.creators
    ]
    collections = []
    for c in dataset.collections:
        creator_id = creator_ids[c.creator_external_id]
        collections.append((
            collection_ids[c.external_id], SOURCE, c.external_id, creator_id, c.title,
            c.description, c.cover_url, Jsonb(c.metadata),
            _hash_json([c.model_dump(mode="json"), creator_id]),
        ))
    posts: list[tuple[Any, ...]] = []
    memberships: list[tuple[Any, ...]] = []
    chunks: list[tuple[Any, ...]] = []
    for post_id, p in enumerate(dataset.posts, start=1):
        language = writer.language_of(p)
        posts.append((
            post_id, SOURCE, p.external_id, creator_ids[p.creator_external_id], p.title, p.text,
            p.html, p.url, p.published_at, p.edited_at, list(p.tags), p.has_text, language,
            0, 0, 0, Jsonb(p.metadata), p.content_hash(),
        ))
        memberships.extend((post_id, collection_ids[ref.external_id], ref.position)
                           for ref in p.collections)
        tags = " ".join(p.tags)
        for ordinal, piece in enumerate(split_text(p.text) or [""]):
            chunks.append((post_id, ordinal, "text", None, None, None, p.title, tags, piece,
                           hashlib.sha256(piece.encode()).hexdigest(), language))
    return CopyRows(creators, collections, posts, memberships, chunks)


def copy_into(server: Server, database: str, rows: CopyRows) -> float:
    """COPY every row in one transaction; seconds from first COPY to commit."""
    with psycopg.connect(server.libpq_url(database)) as conn:
        with stopwatch() as elapsed, conn.transaction(), conn.cursor() as cur:
            for statement, batch in (
                ("COPY creators (id, source, external_id, name, url, avatar_url, metadata, "
                 "content_hash) FROM STDIN", rows.creators),
                ("COPY collections (id, source, external_id, creator_id, title, description, "
                 "cover_url, metadata, content_hash) FROM STDIN", rows.collections),
                (f"COPY posts ({_POST_COLUMNS}) FROM STDIN", rows.posts),
                ("COPY post_collections (post_id, collection_id, position) FROM STDIN",
                 rows.memberships),
                (f"COPY chunks ({_CHUNK_COLUMNS}) FROM STDIN", rows.chunks),
            ):
                with cur.copy(statement) as copy:
                    for row in batch:
                        copy.write_row(row)
            for table, last in (("creators", len(rows.creators)),
                                ("collections", len(rows.collections)),
                                ("posts", len(rows.posts))):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})")
        return elapsed()


# -- checking that both wrote the same thing ----------------------------------------------------

_FINGERPRINT = """
SELECT
  (SELECT count(*) FROM posts),
  (SELECT count(*) FROM chunks),
  (SELECT count(*) FROM post_collections),
  (SELECT md5(string_agg(concat_ws('|', c.external_id, k.external_id, pc.position,
                                   to_jsonb(p) - 'id' - 'creator_id' - 'created_at'
                                   - 'updated_at'),
                         ',' ORDER BY p.external_id))
     FROM posts p JOIN creators c ON c.id = p.creator_id
     JOIN post_collections pc ON pc.post_id = p.id JOIN collections k ON k.id = pc.collection_id),
  (SELECT md5(string_agg(concat_ws('|', p.external_id,
                                   to_jsonb(k) - 'id' - 'post_id' - 'search_vector',
                                   k.search_vector::text),
                         ',' ORDER BY p.external_id, k.ordinal))
     FROM chunks k JOIN posts p ON p.id = k.post_id)
"""


def fingerprint(server: Server, database: str) -> tuple[Any, ...]:
    """Row counts plus digests of every post and chunk (search vectors included)."""
    with psycopg.connect(server.libpq_url(database)) as conn:
        row = conn.execute(_FINGERPRINT).fetchone()
    assert row is not None
    return tuple(row)


def rows_written(server: Server, database: str) -> int:
    with psycopg.connect(server.libpq_url(database)) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM posts) + (SELECT count(*) FROM chunks)"
        ).fetchone()
    return int(row[0]) if row else 0


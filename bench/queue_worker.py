"""The Celery app the worker subprocesses of ``bench/queue_bench.py`` load (``-A queue_worker``).

Configured from environment variables set by the bench:

- ``BENCH_QUEUE_MODE``: ``ours`` (Alejandria's ``make_celery`` app, task ``alejandria.job``),
  ``bare`` (the same app config with a bare task that ``INCR``s a Redis counter) or ``bare-pg``
  (a bare task that inserts one Postgres row, over one connection kept open).
- ``BENCH_BROKER_URL``, ``BENCH_DATABASE_URL`` (SQLAlchemy URL), ``BENCH_DATA_DIR``.

In ``ours`` mode each worker process opens its archive once (``worker_process_init`` for
prefork children, ``worker_init`` for the solo pool) with an in-memory source plugin,
``bench-parts``, registered: target ``part-K`` yields creator K, its collections and posts
``K*50 .. K*50+49`` of a fixed synthetic dataset (built on import, never timed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init
from pydantic import SecretStr
from repo_bench import COLLECTIONS_PER_CREATOR, Dataset, make_dataset

from alejandria import Archive, hookimpl
from alejandria.builtins import build_plugin_manager
from alejandria.models import Checkpoint, CollectionRef, JsonDict, SyncItem, SyncTarget
from alejandria.plugin_types import BaseSource, SourceContext, SourceSpec
from alejandria.queue.celery_app import make_celery
from alejandria.settings import Settings

SOURCE = "bench-parts"
PARTS = 20
POSTS_PER_PART = 50
BARE_TASK = "bench.noop"
BARE_COUNTER = "bench:done"
READY_COUNTER = "bench:ready"

MODE = os.environ.get("BENCH_QUEUE_MODE", "ours")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "")
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", "/tmp/bench-queue-data"))


def worker_settings() -> Settings:
    return Settings(data_dir=DATA_DIR, database_url=SecretStr(DATABASE_URL) if DATABASE_URL
                    else None, load_plugins=False, broker_url=SecretStr(BROKER_URL),
                    process_media=False, download_embeds=False,
                    # embedding has its own benchmark; here it would queue an ``embed`` job
                    # per sync on a queue this worker does not consume
                    embed_after_sync=False)


# -- the source: 20 disjoint parts of one synthetic dataset -----------------------------------


@cache
def _dataset() -> Dataset:
    return make_dataset(PARTS * POSTS_PER_PART)


def part_items(part: int) -> list[SyncItem]:
    """Creator ``part``, its collections and its 50 posts (each post in one of them)."""
    dataset = _dataset()
    creator = dataset.creators[part]
    collections = [c for c in dataset.collections
                   if c.creator_external_id == creator.external_id]
    assert len(collections) == COLLECTIONS_PER_CREATOR
    items: list[SyncItem] = [creator, *collections]
    for index in range(part * POSTS_PER_PART, (part + 1) * POSTS_PER_PART):
        post = dataset.posts[index]
        collection = collections[index % len(collections)]
        items.append(post.model_copy(update={
            "creator_external_id": creator.external_id,
            "collections": (CollectionRef(external_id=collection.external_id,
                                          position=index),)}))
    items.append(Checkpoint(cursor={"done": True}))
    return items


class _PartsSource(BaseSource):
    def __init__(self, parts: dict[int, list[SyncItem]]) -> None:
        self.parts = parts

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        for target in targets:
            yield SyncTarget(scope=target, label=target, locator=target)

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        yield from self.parts[int(target.locator.removeprefix("part-"))]


class PartsPlugin:
    def __init__(self) -> None:
        self.parts = {part: part_items(part) for part in range(PARTS)}

    @hookimpl
    def register_sources(self) -> list[SourceSpec]:
        def factory(_context: SourceContext) -> _PartsSource:
            return _PartsSource(self.parts)

        return [SourceSpec(name=SOURCE, factory=factory)]


def open_archive() -> Archive:
    plugins = build_plugin_manager(load_entrypoints=False)
    plugins.register(PartsPlugin(), SOURCE)
    return Archive.open(settings=worker_settings(), plugins=plugins, migrate=False)


# -- the apps ---------------------------------------------------------------------------------

#: This process's archive, opened when the worker process starts (not on its first job).
_archives: dict[int, Archive] = {}
app: Celery = make_celery(worker_settings(),
                          open_host=lambda: _archives[os.getpid()].context)
if MODE == "ours":
    _dataset()  # before the pool forks, so every process shares it

if MODE in ("bare", "bare-pg"):
    _state: dict[str, Any] = {}

    def _connect() -> None:
        if MODE == "bare":
            import redis

            _state["redis"] = redis.Redis.from_url(BROKER_URL)
        else:
            import psycopg

            url = DATABASE_URL.replace("postgresql+psycopg://", "postgresql://", 1)
            _state["pg"] = psycopg.connect(url, autocommit=True)

    @app.task(name=BARE_TASK, shared=False)  # type: ignore[untyped-decorator]
    def noop() -> None:
        if MODE == "bare":
            _state["redis"].incr(BARE_COUNTER)
        else:
            _state["pg"].execute("INSERT INTO bench_done DEFAULT VALUES")


def _open_for_process() -> None:
    import redis

    if MODE == "ours":
        _archives[os.getpid()] = open_archive()
    else:
        _connect()
    redis.Redis.from_url(BROKER_URL).incr(READY_COUNTER)


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _on_process_init(**_: Any) -> None:
    _open_for_process()


@worker_init.connect  # type: ignore[untyped-decorator]
def _on_worker_init(sender: Any = None, **_: Any) -> None:
    pool = getattr(sender, "pool_cls", None)
    if pool is not None and "solo" in getattr(pool, "__module__", ""):
        _open_for_process()

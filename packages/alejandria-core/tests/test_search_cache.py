"""The Redis search cache: repeated queries answered from Redis, dropped when content changes,
and a Redis that goes away never breaks a search."""

from __future__ import annotations

import redis
from pydantic import SecretStr

from alejandria.models import Checkpoint, CreatorIn, PostIn


def _sync(archive, memory_source, *posts: PostIn) -> None:
    memory_source.content["t"] = [CreatorIn(external_id="c", name="C"), *posts, Checkpoint()]
    assert archive.sync("memory", "t").ok


def test_repeated_queries_come_from_redis_until_content_changes(archive, memory_source,
                                                                 alejandria_redis_url):
    archive.settings.cache_url = SecretStr(alejandria_redis_url)
    client = redis.Redis.from_url(alejandria_redis_url)
    _sync(archive, memory_source,
          PostIn(external_id="a", creator_external_id="c", title="Luna llena", text="ritual"))

    first = archive.search("luna", mode="fulltext")
    cached_keys = client.keys("alejandria:search:v1:*")
    assert [h.title for h in first] == ["Luna llena"] and len(cached_keys) == 1
    # served from Redis: the cached entry answers even though we rewrite it by hand
    key = cached_keys[0]
    client.set(key, client.get(key).replace(b"Luna llena", b"From the cache"))
    assert [h.title for h in archive.search("luna", mode="fulltext")] == ["From the cache"]

    _sync(archive, memory_source,
          PostIn(external_id="b", creator_external_id="c", title="Luna nueva", text="ritual"))
    titles = {h.title for h in archive.search("luna", mode="fulltext")}
    assert titles == {"Luna llena", "Luna nueva"}


def test_an_unreachable_redis_turns_the_cache_off_and_search_still_works(archive,
                                                                          memory_source):
    archive.settings.cache_url = SecretStr("redis://127.0.0.1:1/0")
    _sync(archive, memory_source,
          PostIn(external_id="a", creator_external_id="c", title="Luna llena", text="ritual"))
    assert [h.title for h in archive.search("luna", mode="fulltext")] == ["Luna llena"]
    assert archive.search_cache is not None and not archive.search_cache.enabled

"""A Redis cache of search results, invalidated when the archive's content changes.

Keys hold the query with its filters and the archive's *content generation*, a Redis counter
that every change to what searches can find increments (a sync that wrote, new transcripts,
new embeddings, a correction); old entries then simply stop being asked for and expire.
Redis being down never breaks a search: the cache turns itself off and searches run uncached.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from alejandria.models import SearchHit, SearchQuery

log = logging.getLogger(__name__)

GENERATION_KEY = "alejandria:search:generation"
KEY_PREFIX = "alejandria:search:v1:"


class SearchCache:
    def __init__(self, url: str, ttl_s: int, namespace: str = "") -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url, socket_timeout=0.5,
                                                socket_connect_timeout=0.5)
        self.ttl_s = ttl_s
        self.namespace = namespace
        self.enabled = True

    def _generation_key(self) -> str:
        return f"{GENERATION_KEY}:{self.namespace}"

    def _key(self, mode: str, query: SearchQuery, generation: int) -> str:
        payload = json.dumps([mode, query.model_dump(mode="json")], sort_keys=True)
        digest = hashlib.sha256(payload.encode()).hexdigest()[:32]
        return f"{KEY_PREFIX}{self.namespace}:{generation}:{digest}"

    def _off(self, exc: Exception) -> None:
        log.warning("search cache disabled (Redis unreachable: %s)", type(exc).__name__)
        self.enabled = False

    def get(self, mode: str, query: SearchQuery) -> tuple[str, list[SearchHit] | None]:
        """``(key, hits)``; hits None on a miss. Keep the key to ``put`` what was computed."""
        if not self.enabled:
            return "", None
        import redis

        try:
            generation = int(self.client.get(self._generation_key()) or 0)
            key = self._key(mode, query, generation)
            raw = self.client.get(key)
        except redis.RedisError as exc:
            self._off(exc)
            return "", None
        if raw is None:
            return key, None
        return key, [SearchHit.model_validate(item) for item in json.loads(raw)]

    def put(self, key: str, hits: list[SearchHit]) -> None:
        if not self.enabled or not key:
            return
        import redis

        payload = json.dumps([hit.model_dump(mode="json") for hit in hits])
        try:
            self.client.set(key, payload, ex=self.ttl_s)
        except redis.RedisError as exc:
            self._off(exc)

    def invalidate(self) -> None:
        """The archive's content changed: every cached result is stale from now on."""
        if not self.enabled:
            return
        import redis

        try:
            self.client.incr(self._generation_key())
        except redis.RedisError as exc:
            self._off(exc)

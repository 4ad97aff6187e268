"""The ``openai-api`` embedder against a local server speaking OpenAI's ``/v1/embeddings``:
batching, the ``dimensions`` option, retries, a refused key that never leaks, and semantic
search served end to end through it."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from alejandria.errors import EmbeddingError
from alejandria.models import Checkpoint, CreatorIn, PostIn
from alejandria.search.embedding import openai_api
from alejandria.search.embedding.openai_api import OpenAIApiEmbedder
from alejandria.settings import Settings

GOOD_KEY = "sk-test-embeddings-0123456789"
NATIVE_DIMENSIONS = 16


def bag_of_words(text: str, dimensions: int) -> list[float]:
    """A deterministic stand-in for a model: words hashed into buckets, L2-normalised."""
    vector = [0.0] * dimensions
    for word in text.lower().split():
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % dimensions] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


@dataclass
class ServerState:
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)


class EmbeddingsHandler(BaseHTTPRequestHandler):
    state: ServerState

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None,
               ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        state = type(self).state
        state.requests.append({"path": self.path, "body": body})
        if self.headers.get("Authorization") != f"Bearer {GOOD_KEY}":
            provided = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            self._reply(401, {"error": {"message": f"Incorrect API key provided: {provided}",
                                        "code": "invalid_api_key"}})
            return
        if state.fail_next:
            status = state.fail_next.pop(0)
            self._reply(status, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
            return
        dimensions = int(body.get("dimensions") or NATIVE_DIMENSIONS)
        inputs = body["input"]
        self._reply(200, {"object": "list", "model": body["model"], "data": [
            {"object": "embedding", "index": i, "embedding": bag_of_words(text, dimensions)}
            for i, text in reversed(list(enumerate(inputs)))  # out of order, like some servers
        ], "usage": {"prompt_tokens": 1, "total_tokens": 1}})


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, ServerState]]:
    if importlib.util.find_spec("openai") is None:
        pytest.skip("install the openai extra: pip install 'alejandria-core[openai]'")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    state = ServerState()
    handler = type("Handler", (EmbeddingsHandler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def settings_for(base_url: str, key: str = GOOD_KEY, **extra: Any) -> Settings:
    return Settings(embedder="openai-api", openai_base_url=base_url, openai_api_key=key,
                    embed_model="tiny-embedder", **extra)


def test_texts_are_sent_in_batches_and_come_back_in_order(server):
    base_url, state = server
    embedder = OpenAIApiEmbedder(settings_for(base_url))
    texts = [f"text number {i}" for i in range(openai_api.BATCH_SIZE + 5)]

    vectors = embedder.embed(texts)

    assert [len(r["body"]["input"]) for r in state.requests] == [openai_api.BATCH_SIZE, 5]
    assert vectors[7] == bag_of_words("text number 7", NATIVE_DIMENSIONS)
    assert embedder.dimensions == NATIVE_DIMENSIONS  # learnt from the first answer
    assert embedder.model_name == "tiny-embedder"


def test_shortened_dimensions_are_requested_and_named(server):
    base_url, state = server
    embedder = OpenAIApiEmbedder(settings_for(base_url, embed_dimensions=8))
    assert len(embedder.embed_query("hola")) == 8
    assert state.requests[0]["body"]["dimensions"] == 8
    assert embedder.model_name == "tiny-embedder@8" and embedder.dimensions == 8


def test_rate_limits_and_server_errors_are_retried(server):
    base_url, state = server
    state.fail_next = [429, 503]
    assert len(OpenAIApiEmbedder(settings_for(base_url)).embed(["uno", "dos"])) == 2
    assert len(state.requests) == 3


def test_a_refused_key_is_an_error_that_never_shows_the_key(server):
    base_url, _ = server
    with pytest.raises(EmbeddingError, match="refused the API key") as raised:
        OpenAIApiEmbedder(settings_for(base_url, key="sk-wrong-secret-key")).embed(["x"])
    assert "sk-wrong-secret-key" not in str(raised.value)


def test_unconfigured_api_is_unavailable_with_what_to_set():
    reason = OpenAIApiEmbedder(Settings(embedder="openai-api")).availability().reason
    assert reason is not None and "ALEJANDRIA_OPENAI_BASE_URL" in reason


def test_semantic_search_through_the_api_embedder(server, archive, memory_source, monkeypatch):
    if not archive.capabilities().vector_installed:
        pytest.skip("this Postgres has no pgvector")
    base_url, _ = server
    configured = settings_for(base_url)
    for name in ("embedder", "embed_model", "openai_base_url", "openai_api_key"):
        monkeypatch.setattr(archive.settings, name, getattr(configured, name))
    memory_source.content["t"] = [
        CreatorIn(external_id="c", name="C"),
        PostIn(external_id="a", creator_external_id="c", title="Violin", text="strings bow"),
        PostIn(external_id="b", creator_external_id="c", title="Drums", text="sticks cymbal"),
        Checkpoint(),
    ]
    assert archive.sync("memory", "t").ok
    assert archive.embed_backfill().chunks == 2
    hits = archive.search("cymbal sticks", mode="semantic")
    assert hits[0].title == "Drums"

"""The ``openai-api`` embedder: any OpenAI-compatible ``/v1/embeddings`` endpoint.

``ALEJANDRIA_OPENAI_BASE_URL`` and ``ALEJANDRIA_OPENAI_API_KEY`` are shared with the
transcription engine; ``ALEJANDRIA_EMBED_MODEL`` names the model (default
``text-embedding-3-small``) and ``ALEJANDRIA_EMBED_DIMENSIONS`` optionally shortens its
vectors (the ``dimensions`` parameter of the text-embedding-3 models). Texts are sent in
batches; connection errors, 429 and 5xx are retried by the ``openai`` client, and what still
fails becomes an ``EmbeddingError`` whose message never holds the key.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from alejandria.errors import EmbeddingError
from alejandria.net.openai_compat import OpenAICompatibleClient

if TYPE_CHECKING:
    from alejandria.settings import Settings

DEFAULT_MODEL = "text-embedding-3-small"
#: Native sizes of well-known models; any other model's size is learned from its first answer.
KNOWN_DIMENSIONS = {
    "text-embedding-3-small": 1536, "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
#: Texts per request (the API accepts up to 2,048 inputs; smaller batches retry cheaper).
BATCH_SIZE = 128
MAX_RETRIES = 5
TIMEOUT_S = 120.0


class OpenAIApiEmbedder(OpenAICompatibleClient):
    """Embeddings through an OpenAI-compatible HTTP API."""

    max_retries = MAX_RETRIES
    timeout_s = TIMEOUT_S

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.model = settings.embed_model or DEFAULT_MODEL
        self.requested_dimensions = settings.embed_dimensions
        self.model_name = self.model + (
            f"@{self.requested_dimensions}" if self.requested_dimensions else ""
        )
        self._dimensions = self.requested_dimensions or KNOWN_DIMENSIONS.get(self.model)

    @property
    def dimensions(self) -> int:
        if self._dimensions is None:
            self._dimensions = len(self.embed_query("dimension probe"))
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH_SIZE):
            vectors.extend(self._request(list(texts[start:start + BATCH_SIZE])))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._request([text])[0]

    def _request(self, batch: list[str]) -> list[list[float]]:
        available = self.availability()
        if not available.available:
            raise EmbeddingError(f"cannot embed with the OpenAI API: {available.reason}")
        openai = importlib.import_module("openai")
        options: dict[str, Any] = {"model": self.model, "input": [t or " " for t in batch]}
        if self.requested_dimensions:
            options["dimensions"] = self.requested_dimensions
        try:
            response = self._get_client(openai).embeddings.create(**options)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise EmbeddingError(
                f"the embeddings API at {self.host} refused the API key "
                f"(HTTP {exc.status_code}); check ALEJANDRIA_OPENAI_API_KEY"
            ) from None
        except openai.APIStatusError as exc:
            raise EmbeddingError(
                f"the embeddings API at {self.host} answered HTTP {exc.status_code}: "
                f"{self._scrub(str(getattr(exc, 'message', '') or ''))}"
            ) from None
        except openai.APIConnectionError as exc:
            raise EmbeddingError(
                f"cannot reach the embeddings API at {self.host} "
                f"({type(exc).__name__}, after {self.max_retries} retries)"
            ) from None
        except openai.OpenAIError as exc:
            raise EmbeddingError(
                f"the embeddings API at {self.host} failed: {self._scrub(str(exc))}"
            ) from None
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(batch):
            raise EmbeddingError(
                f"the embeddings API at {self.host} returned {len(data)} vectors "
                f"for {len(batch)} texts"
            )
        return [[float(x) for x in item.embedding] for item in data]

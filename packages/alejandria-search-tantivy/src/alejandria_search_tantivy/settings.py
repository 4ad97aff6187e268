"""``ALEJANDRIA_BM25_*``: where the index lives and how much catching up a search may do."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from alejandria.plugin_types import PluginSettings


class Bm25Settings(PluginSettings):
    #: The Tantivy index (derived data, rebuilt from the database whenever it is missing,
    #: damaged or behind a restore). Default: ``<data_dir>/search/bm25``.
    index_dir: Path | None = None
    #: Posts a search re-indexes itself before answering; with more changed, it answers from
    #: Postgres's full-text ranking and a background thread catches the index up.
    inline_posts: int = Field(200, ge=0)
    #: Posts re-indexed per commit when catching up (each commit is a resumable step).
    batch_posts: int = Field(2000, ge=1)
    #: Catch up in a background thread when a search finds the index far behind.
    background: bool = True
    #: Memory for Tantivy's writer while indexing, in MB.
    writer_mb: int = Field(64, ge=16)

    def index_path(self, data_dir: Path) -> Path:
        return self.index_dir or data_dir / "search" / "bm25"


#: ``register_settings`` names them ``bm25``: core reads the same variables.
ENV_PREFIX = "ALEJANDRIA_BM25_"
_LOADED: Bm25Settings | None = None


def current() -> Bm25Settings:
    """``ALEJANDRIA_BM25_*``, read once per process: a search builds its backend each time,
    and the backend, the commands and the health check must agree."""
    global _LOADED
    if _LOADED is None:
        _LOADED = Bm25Settings(_env_prefix=ENV_PREFIX)
    return _LOADED

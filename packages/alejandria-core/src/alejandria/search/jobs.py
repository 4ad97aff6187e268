"""The search job type: ``embed`` (embed whatever lacks vectors, on the ``search`` queue)."""

from __future__ import annotations

from typing import Any

from alejandria.context import ArchiveContext
from alejandria.queue.runner import Progress, quiet
from alejandria.search.service import embed_backfill


def embed(context: ArchiveContext, progress: Progress = quiet) -> dict[str, Any]:
    """Embed every chunk and transcript lacking a vector for the configured model."""
    return embed_backfill(context, progress=lambda done, total: progress(done, total)).as_dict()

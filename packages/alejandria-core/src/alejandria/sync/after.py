"""Keeping search current after a sync: stale cached results dropped, new text embedded."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from alejandria.errors import AlejandriaError
from alejandria.models import SyncError, SyncReport
from alejandria.search.embedding.select import embedder_name

if TYPE_CHECKING:
    from alejandria.api import Archive

log = logging.getLogger(__name__)


def after_sync(archive: Archive, report: SyncReport) -> None:
    """Invalidate cached searches when the sync changed anything, then embed what is new
    (when an embedder and pgvector are there and ``embed_after_sync`` is on): here, or as an
    ``embed`` job on the search queue when a broker is configured. An embedding failure is a
    notice on the report, never a failed sync: ``embed backfill`` catches up."""
    if not (report.writes or report.media_processed):
        return
    archive.content_changed()
    settings = archive.settings
    if not settings.embed_after_sync or not archive.capabilities().vector_installed:
        return
    if embedder_name(settings, archive.plugins) is None:
        return
    if settings.broker_url is not None:
        # with workers, embedding is its own job on the search queue: the sync's worker is
        # free for the next source at once
        archive.submit("embed", priority=4)
        return
    try:
        embedded = archive.embed_backfill()
    except AlejandriaError as exc:
        log.warning("embedding after the sync failed: %s", exc)
        report.notices.append(SyncError(subject="embeddings", message=str(exc)))
        return
    report.chunks_embedded = embedded.chunks + embedded.windows

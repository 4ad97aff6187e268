"""The work after a sync, in one place and in this order:

1. **Embedded videos** the sync recorded are downloaded (yt-dlp), with their subtitles as
   transcripts (``download_embeds``, on by default).
2. **Media processing** of the files now stored: probe, thumbnails, text extraction, ... run
   here; with a broker, processors of another queue (``transcribe`` on ``transcription``) run
   as a job there instead, so slow work never holds up the worker that synced.
3. **Search upkeep**: when the sync changed what searches can find, the text of documents the
   posts hold is attached to them (``storage.passages``), cached results are dropped, then the
   new passages are embedded for semantic search, here or, with a broker, as an ``embed`` job
   on the ``search`` queue.

Each step also finishes what an earlier sync left when it was stopped (Ctrl-C, a killed
worker) after writing but before this work, so a re-run that finds nothing new does not leave
it undone: a sync that stored no file processes the files still lacking the output of a
processor that can run here, and one that wrote nothing attaches document text still missing
from posts and embeds the passages still without vectors, each said in a notice. When nothing
is pending, each of these checks is one query. With embedding after a sync off, the report
counts what waits (``embeddings_pending``) and nothing is embedded.

Each step's failure is a notice on the report, never a failed sync: ``process backfill`` and
``embed backfill`` catch up. Plugins hear of the sync afterwards through ``sync_finished``.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError

from alejandria.context import ArchiveContext
from alejandria.errors import AlejandriaError
from alejandria.media.processing import process_media
from alejandria.media.video.embeds import download_embeds
from alejandria.models import SyncError, SyncReport
from alejandria.queue.submit import submit
from alejandria.search.embedding.select import embedder_name
from alejandria.search.service import embed_backfill, pending_embeddings
from alejandria.storage.passages import attach, count_unattached

log = logging.getLogger(__name__)

#: Processors of this queue run right after the sync, in the process that synced.
SYNC_QUEUE = "media"


def after_sync(context: ArchiveContext, report: SyncReport) -> None:
    """Download embeds, process new media, keep search current; each noted on ``report``."""
    settings = context.settings
    if settings.download_embeds:
        _download_embeds(context, report)
    if settings.process_media:
        _process_media(context, report)
    _attach_documents(context, report)
    if report.writes or report.media_processed:
        context.content_changed()
    _embed(context, report)


def _attach_documents(context: ArchiveContext, report: SyncReport) -> None:
    """The text of known documents onto new posts, off the posts that dropped them; after a
    sync that wrote nothing, onto the posts an earlier run left without it."""
    try:
        if not report.writes:
            with context.engine.connect() as conn:
                if not count_unattached(conn):
                    return
        with context.engine.begin() as conn:
            added = attach(conn)
    except DBAPIError as exc:
        log.warning("attaching document text after the sync failed: %s", exc)
        reason = str(exc.orig or exc).splitlines()[0]
        report.notices.append(SyncError(
            subject="documents", message=f"cannot attach document text ({reason}); the next "
                                         "sync tries again"))
        return
    if not report.writes and added:
        context.content_changed()
        report.notices.append(SyncError(
            subject="documents", message=f"attached {added:,} passage(s) of documents left "
                                         "unattached by an earlier run"))


def _download_embeds(context: ArchiveContext, report: SyncReport) -> None:
    embeds = download_embeds(context)
    report.media_stored += embeds.downloaded
    report.notices.extend(embeds.failed)
    if embeds.unavailable:
        report.notices.append(SyncError(subject="video", message=embeds.unavailable))


def _process_media(context: ArchiveContext, report: SyncReport) -> None:
    """Run the processors here, or those of another queue as jobs there (with a broker).

    After a sync that stored no file, only the files an earlier run left unprocessed, by the
    processors that can run here: one that cannot (a missing tool or model) would otherwise
    make every sync go over its files again. Processors of another queue are not checked
    (whether they can run is known on their workers): ``process backfill`` catches up.
    """
    specs = context.plugins.processors().values()
    elsewhere = sorted({spec.queue for spec in specs if spec.queue != SYNC_QUEUE})
    queued = elsewhere if context.settings.broker_url is not None else []
    here = [spec.name for spec in specs if spec.queue not in queued]
    if not report.media_stored:
        left = process_media(context, processors=here, runnable_only=True)
        report.media_processed = left.processed
        report.notices.extend(left.failed)
        if left.files:
            report.notices.append(SyncError(
                subject="media", message=f"processed {left.files:,} media file(s) left "
                                         "unprocessed by an earlier run"))
        return
    processed = process_media(context, processors=here)
    report.media_processed = processed.processed
    report.notices.extend(processed.failed)
    for queue in queued:
        names = sorted(spec.name for spec in specs if spec.queue == queue)
        submit(context, "process_media", {"processors": names}, priority=4, queue=queue)


def _embed(context: ArchiveContext, report: SyncReport) -> None:
    """Embed the new passages when an embedder and pgvector are there and
    ``embed_after_sync`` is on: here, or as an ``embed`` job when a broker is configured.

    After a sync that changed nothing, only when an earlier run left passages pending; with
    ``embed_after_sync`` off, the report counts what waits instead."""
    settings = context.settings
    if not context.capabilities().vector_installed:
        return
    if embedder_name(settings, context.plugins) is None:
        return
    if not settings.embed_after_sync:
        report.embeddings_pending = pending_embeddings(context)
        return
    fresh = bool(report.writes or report.media_processed)
    left = 0 if fresh else pending_embeddings(context)
    if not fresh and not left:
        return
    if settings.broker_url is not None:
        # with workers, embedding is its own job on the search queue: the sync's worker is
        # free for the next source at once
        submit(context, "embed", priority=4)
        if left:
            report.notices.append(SyncError(
                subject="embeddings", message=f"{left:,} passage(s) left pending by an "
                                              "earlier run: queued an embed job"))
        return
    try:
        embedded = embed_backfill(context)
    except AlejandriaError as exc:
        log.warning("embedding after the sync failed: %s", exc)
        report.notices.append(SyncError(subject="embeddings", message=str(exc)))
        return
    report.chunks_embedded = embedded.chunks + embedded.windows
    if left and report.chunks_embedded:
        report.notices.append(SyncError(
            subject="embeddings", message=f"embedded {report.chunks_embedded:,} passage(s) "
                                          "left pending by an earlier run"))

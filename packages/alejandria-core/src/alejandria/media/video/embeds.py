"""Downloading the videos posts embed (YouTube, Vimeo, Patreon HLS) into the media store.

Sources only name embeds (``MediaIn(role="embed")``); the sync records them and this step
downloads them afterwards with yt-dlp, so one slow or rate-limited video never holds up or
fails a sync. Each video is stored once by content and linked to its post; its subtitles
become a transcript at once (searchable with timestamps, no speech recognition needed).
A rate limit reschedules the video after ``Retry-After``; other transient failures back off
exponentially with jitter; an unavailable or private video is marked failed with the reason.
"""

from __future__ import annotations

import importlib.util
import logging
import mimetypes
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from alejandria.context import ArchiveContext
from alejandria.errors import ItemRejected, MediaError, RateLimited
from alejandria.models import MediaKind, StoredMedia, SyncError
from alejandria.net.backoff import backoff as net_backoff
from alejandria.plugin_types import BlobStore
from alejandria.settings import Settings
from alejandria.storage.repository import Repository
from alejandria.storage.schema import media_embeds, media_keys, post_media
from alejandria.storage.transcripts import SUBTITLES_ENGINE, TranscriptStore
from alejandria.text.language import config_for

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass
class EmbedReport:
    downloaded: int = 0
    reused: int = 0
    rescheduled: int = 0
    failed: list[SyncError] = field(default_factory=list)
    unavailable: str | None = None


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about 1, 2, 4, ... minutes, at most an hour."""
    return timedelta(seconds=net_backoff(attempts - 1, base=60.0, cap=3600.0, jitter=0.2))


def download_embeds(context: ArchiveContext) -> EmbedReport:
    """Download the embedded videos that are due (yt-dlp), with their subtitles."""
    return EmbedDownloader(context.engine, context.settings, context.media,
                           context.repository).run()


class EmbedDownloader:
    def __init__(self, engine: Engine, settings: Settings, store: BlobStore,
                 repository: Repository) -> None:
        self.engine = engine
        self.settings = settings
        self.store = store
        self.repository = repository

    def run(self) -> EmbedReport:
        """Download every embed that is due; returns what happened."""
        report = EmbedReport()
        known = (select(media_keys.c.media_id)
                 .where(media_keys.c.source == media_embeds.c.source,
                        media_keys.c.key == media_embeds.c.key)
                 .scalar_subquery())
        due = (select(media_embeds, known.label("known_media_id"))
               .where(media_embeds.c.status == "pending",
                      media_embeds.c.next_attempt_at <= func.now())
               .order_by(media_embeds.c.id))
        with self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(due)]
        if rows and importlib.util.find_spec("yt_dlp") is None:
            # left pending, untouched: they download once the extra is installed
            report.unavailable = ("embedded videos are not downloaded: "
                                  "pip install 'alejandria-core[video]'")
            return report
        for row in rows:
            if row["known_media_id"] is not None:
                self._link(row, row["known_media_id"], filename=None)
                report.reused += 1
                continue
            try:
                self._download(row)
                report.downloaded += 1
            except RateLimited as exc:
                delay = (timedelta(seconds=exc.retry_after) if exc.retry_after
                         else backoff(row["attempts"] + 1))
                self._reschedule(row, str(exc), delay)
                report.rescheduled += 1
            except ItemRejected as exc:
                self._fail(row, exc.reason, report)
            except MediaError as exc:
                if row["attempts"] + 1 >= MAX_ATTEMPTS:
                    self._fail(row, str(exc), report)
                else:
                    self._reschedule(row, str(exc), backoff(row["attempts"] + 1))
                    report.rescheduled += 1
        return report

    def _download(self, row: dict[str, Any]) -> None:
        from alejandria.media.video.download import download_video
        from alejandria.media.video.subtitles import parse_subtitle_file

        with tempfile.TemporaryDirectory(prefix="alejandria-video-") as tmp:
            video = download_video(row["url"], Path(tmp), referer=row["referer"],
                                   subtitle_languages=self.settings.subtitle_languages)
            with video.path.open("rb") as stream:
                sha256, size, _created = self.store.put_stream(stream)
            subtitles = {lang: parse_subtitle_file(path)
                         for lang, path in video.subtitles.items()}
        mime_type = mimetypes.guess_type(video.path.name)[0] or "video/mp4"
        stored = StoredMedia(sha256=sha256, size=size, mime_type=mime_type,
                             kind=MediaKind.VIDEO)
        with self.engine.begin() as conn:
            media_id = self.repository.upsert_media_file(conn, stored, {"video": video.info})
            self.repository.remember_media_key(conn, row["source"], row["key"], media_id)
        self._link(row, media_id, filename=video.path.name)
        transcripts = TranscriptStore(self.engine)
        for language, segments in subtitles.items():
            if not segments:
                continue
            state = transcripts.begin(media_id, SUBTITLES_ENGINE, f"subtitles:{language}", "1")
            if state.status == "complete":
                continue
            ts_config = config_for(language)
            if ts_config not in self.settings.search_languages:
                ts_config = self.settings.search_language
            transcripts.add_window(state, segments, offset_s=0.0,
                                   progress_s=max(s.end_s for s in segments),
                                   language=language, ts_config=ts_config or "simple")
            transcripts.complete(state)

    def _link(self, row: dict[str, Any], media_id: int, filename: str | None) -> None:
        stmt = insert(post_media).values(
            post_id=row["post_id"], media_id=media_id, key=row["key"], role="embed",
            position=row["position"], original_url=row["url"], filename=filename,
        )
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[post_media.c.post_id, post_media.c.key],
                set_={"media_id": media_id}))
            conn.execute(update(media_embeds).where(media_embeds.c.id == row["id"]).values(
                status="done", media_id=media_id, error=None, updated_at=func.now()))

    def _reschedule(self, row: dict[str, Any], message: str, delay: timedelta) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(media_embeds).where(media_embeds.c.id == row["id"]).values(
                attempts=row["attempts"] + 1, error=message,
                next_attempt_at=func.now() + delay, updated_at=func.now()))

    def _fail(self, row: dict[str, Any], message: str, report: EmbedReport) -> None:
        report.failed.append(SyncError(subject=row["url"], message=message))
        with self.engine.begin() as conn:
            conn.execute(update(media_embeds).where(media_embeds.c.id == row["id"]).values(
                status="failed", attempts=row["attempts"] + 1, error=message,
                updated_at=func.now()))

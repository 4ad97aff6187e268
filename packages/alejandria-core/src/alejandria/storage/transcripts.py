"""Stored transcripts: one per (media file, model), with timestamped, searchable segments.

Transcription runs in windows; each finished window is committed with the progress, so an
interrupted job resumes after the last window instead of starting again. A user's correction
(``corrected_text``) is kept when the file is transcribed again, by the same model (same
segment) or another one (the new segment that overlaps it most).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine

from alejandria.plugin_types import TranscriptSegment
from alejandria.storage.schema import media_files, transcript_segments, transcriptions

#: The engine name of transcripts that came with a video as subtitles.
SUBTITLES_ENGINE = "subtitles"


@dataclass(frozen=True)
class TranscriptionState:
    id: int
    status: str
    progress_s: float
    language: str | None


class TranscriptStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def begin(self, media_id: int, engine_name: str, model: str, model_version: str,
              *, restart: bool = False) -> TranscriptionState:
        """The transcription row for (media, model), created if needed; ``restart`` clears a
        finished or partial one (its corrections are kept for the new segments)."""
        with self.engine.begin() as conn:
            stmt = insert(transcriptions).values(
                media_id=media_id, engine=engine_name, model=model, model_version=model_version,
                status="partial", progress_s=0.0,
            ).on_conflict_do_update(
                index_elements=[transcriptions.c.media_id, transcriptions.c.model],
                set_={"engine": engine_name},
            ).returning(transcriptions.c.id, transcriptions.c.status,
                        transcriptions.c.progress_s, transcriptions.c.language,
                        transcriptions.c.model_version)
            row = conn.execute(stmt).one()
            if restart or row.model_version != model_version:
                conn.execute(update(transcriptions).where(transcriptions.c.id == row.id).values(
                    status="partial", progress_s=0.0, model_version=model_version, text=""))
                self._stash_corrections(conn, row.id)
                return TranscriptionState(row.id, "partial", 0.0, None)
            return TranscriptionState(row.id, row.status, row.progress_s or 0.0, row.language)

    def _stash_corrections(self, conn: Connection, transcription_id: int) -> None:
        corrected = conn.execute(
            select(transcript_segments.c.start_s, transcript_segments.c.end_s,
                   transcript_segments.c.corrected_text)
            .where(transcript_segments.c.transcription_id == transcription_id,
                   transcript_segments.c.corrected_text.is_not(None))).all()
        conn.execute(delete(transcript_segments)
                     .where(transcript_segments.c.transcription_id == transcription_id))
        if corrected:
            conn.execute(update(transcriptions).where(transcriptions.c.id == transcription_id)
                         .values(metadata={"pending_corrections": [list(r) for r in corrected]}))

    def add_window(self, state: TranscriptionState, segments: Sequence[TranscriptSegment],
                   *, offset_s: float, progress_s: float, language: str | None,
                   ts_config: str) -> None:
        """Store one window's segments (times shifted by ``offset_s``) and the progress."""
        with self.engine.begin() as conn:
            first = conn.execute(
                select(func.coalesce(func.max(transcript_segments.c.ordinal) + 1, 0))
                .where(transcript_segments.c.transcription_id == state.id)).scalar_one()
            rows = [
                {"transcription_id": state.id, "ordinal": first + i,
                 "start_s": round(offset_s + seg.start_s, 3),
                 "end_s": round(offset_s + seg.end_s, 3),
                 "text": seg.text.strip(), "ts_config": ts_config}
                for i, seg in enumerate(segments) if seg.text.strip()
            ]
            if rows:
                conn.execute(insert(transcript_segments), rows)
            conn.execute(update(transcriptions).where(transcriptions.c.id == state.id).values(
                progress_s=progress_s, language=language, updated_at=func.now()))

    def complete(self, state: TranscriptionState) -> str:
        """Mark finished, fill the full text and re-apply stashed corrections; return text."""
        with self.engine.begin() as conn:
            segments = conn.execute(
                select(transcript_segments.c.id, transcript_segments.c.start_s,
                       transcript_segments.c.end_s, transcript_segments.c.text)
                .where(transcript_segments.c.transcription_id == state.id)
                .order_by(transcript_segments.c.ordinal)).all()
            meta = conn.execute(select(transcriptions.c.metadata)
                                .where(transcriptions.c.id == state.id)).scalar_one() or {}
            for start, end, text_ in meta.pop("pending_corrections", []):
                best = max(segments, default=None,
                           key=lambda s: min(s.end_s, end) - max(s.start_s, start))
                if best is not None and min(best.end_s, end) > max(best.start_s, start):
                    conn.execute(update(transcript_segments)
                                 .where(transcript_segments.c.id == best.id)
                                 .values(corrected_text=text_))
            text = " ".join(segment.text for segment in segments)
            conn.execute(update(transcriptions).where(transcriptions.c.id == state.id).values(
                status="complete", text=text, metadata=meta, updated_at=func.now()))
        return text

    def has_complete(self, media_id: int, *, engine: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(transcriptions.c.id).where(
                transcriptions.c.media_id == media_id, transcriptions.c.engine == engine,
                transcriptions.c.status == "complete").limit(1)).first() is not None

    def correct(self, segment_id: int, text: str) -> None:
        """A user's correction of one segment (searchable at once; kept on re-transcription)."""
        with self.engine.begin() as conn:
            conn.execute(update(transcript_segments)
                         .where(transcript_segments.c.id == segment_id)
                         .values(corrected_text=text))
            # the transcript changed: its embedded windows are stale from now on
            conn.execute(update(transcriptions)
                         .where(transcriptions.c.id == select(
                             transcript_segments.c.transcription_id)
                             .where(transcript_segments.c.id == segment_id).scalar_subquery())
                         .values(updated_at=func.now()))

    def media_exists(self, media_id: int) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(media_files.c.id)
                                .where(media_files.c.id == media_id)).first() is not None

    def segments(self, media_id: int) -> list[TranscriptSegment]:
        """The newest complete transcript of a media file, corrections applied."""
        with self.engine.connect() as conn:
            latest = conn.execute(
                select(transcriptions.c.id).where(transcriptions.c.media_id == media_id,
                                                  transcriptions.c.status == "complete")
                .order_by(transcriptions.c.updated_at.desc()).limit(1)).scalar_one_or_none()
            if latest is None:
                return []
            rows = conn.execute(
                select(transcript_segments.c.start_s, transcript_segments.c.end_s,
                       func.coalesce(transcript_segments.c.corrected_text,
                                     transcript_segments.c.text))
                .where(transcript_segments.c.transcription_id == latest)
                .order_by(transcript_segments.c.ordinal)).all()
        return [TranscriptSegment(start_s=r[0], end_s=r[1], text=r[2]) for r in rows]


def to_webvtt(segments: Sequence[TranscriptSegment]) -> str:
    """A WebVTT file (players show it as subtitles)."""
    lines = ["WEBVTT", ""]
    for number, segment in enumerate(segments, 1):
        lines += [str(number), f"{_vtt_time(segment.start_s)} --> {_vtt_time(segment.end_s)}",
                  segment.text.replace("-->", "->"), ""]
    return "\n".join(lines)


def _vtt_time(seconds: float) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"

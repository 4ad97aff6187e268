"""The ``transcribe`` processor: speech in audio and video becomes a searchable transcript.

The engine is a transcriber plugin (``ALEJANDRIA_TRANSCRIBER``, default faster-whisper). Long
files are cut into windows with ffmpeg and each window's segments are committed as it finishes,
so an interrupted job resumes at the last finished window.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from alejandria.errors import AlejandriaError, MediaError
from alejandria.models import Availability, MediaKind
from alejandria.plugin_types import ProcessorContext, Transcriber
from alejandria.storage.transcripts import SUBTITLES_ENGINE, TranscriptStore
from alejandria.text.language import config_for

ACCEPTS = frozenset({MediaKind.AUDIO, MediaKind.VIDEO})
WINDOW_S = 600.0
FFMPEG_TIMEOUT_S = 600


class TranscribeProcessor:
    def __init__(self, context: ProcessorContext) -> None:
        self.context = context
        self.settings = context.settings
        self._transcriber: Transcriber | None = None
        self._reason: str | None = None

    def _engine(self) -> Transcriber | None:
        if self._transcriber is None and self._reason is None:
            try:
                if self.context.plugins is None or self.context.engine is None:
                    raise AlejandriaError("transcription needs the archive's database")
                spec = self.context.plugins.transcriber(self.settings.transcriber)
                transcriber = spec.factory(self.settings)
                availability = transcriber.availability()
                if availability.available:
                    self._transcriber = transcriber
                else:
                    self._reason = f"{spec.name}: {availability.reason}"
            except AlejandriaError as exc:
                self._reason = str(exc)
        return self._transcriber

    def availability(self) -> Availability:
        self._engine()
        return Availability.no(self._reason) if self._reason else Availability.yes()

    def process(self, path: Path, media: dict[str, Any]) -> dict[str, Any]:
        transcriber = self._engine()
        if transcriber is None or self.context.engine is None:
            raise MediaError(self._reason or "no transcriber available")
        store = TranscriptStore(self.context.engine)
        if store.has_complete(media["id"], engine=SUBTITLES_ENGINE):
            return {"skipped": "the video came with subtitles; they are its transcript"}
        state = store.begin(media["id"], self.settings.transcriber, transcriber.model_name,
                            transcriber.model_version)
        if state.status == "complete":
            return {"transcription_id": state.id, "model": transcriber.model_name,
                    "language": state.language, "resumed": False}
        duration = media.get("duration_s")
        language = None if self.settings.transcribe_language == "auto" \
            else self.settings.transcribe_language
        windows = _windows(duration, state.progress_s)
        detected = state.language
        for start, length in windows:
            with tempfile.TemporaryDirectory(prefix="alejandria-asr-") as tmp:
                audio = _window_audio(path, start, length, Path(tmp), whole=len(windows) == 1
                                      and start == 0)
                transcript = transcriber.transcribe(audio, language or detected)
            detected = detected or transcript.language
            ts_config = (config_for(detected) if config_for(detected)
                         in self.settings.search_languages else self.settings.search_language)
            end = start + length if length is not None else (duration or 0.0)
            store.add_window(state, transcript.segments, offset_s=start, progress_s=end,
                             language=detected, ts_config=ts_config or "simple")
        text = store.complete(state)
        return {"transcription_id": state.id, "model": transcriber.model_name,
                "language": detected, "characters": len(text),
                "resumed": state.progress_s > 0}


def _windows(duration: float | None, done_s: float) -> list[tuple[float, float | None]]:
    """(start, length) windows still to do; one open window when the duration is unknown."""
    if not duration or duration <= WINDOW_S:
        return [(0.0, None)] if done_s <= 0 else []
    starts: list[tuple[float, float | None]] = []
    start = 0.0
    while start < duration:
        if start >= done_s:
            starts.append((start, min(WINDOW_S, duration - start)))
        start += WINDOW_S
    return starts


def _window_audio(path: Path, start: float, length: float | None, tmp: Path, *,
                  whole: bool) -> Path:
    """The window as 16 kHz mono WAV (ffmpeg), or the file itself when it is one window."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        if whole:
            return path
        raise MediaError("ffmpeg is needed to transcribe long files in windows: "
                         "apt-get install ffmpeg")
    out = tmp / "window.wav"
    command = [ffmpeg, "-v", "error", "-nostdin", "-ss", f"{start:.3f}"]
    if length is not None:
        command += ["-t", f"{length:.3f}"]
    command += ["-i", str(path), "-vn", "-ac", "1", "-ar", "16000", "-f", "wav", str(out)]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=FFMPEG_TIMEOUT_S)
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
        raise MediaError(f"cannot decode the audio: {detail[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise MediaError("decoding the audio took too long") from exc
    return out

"""The ``openai-api`` engine: an OpenAI-compatible ``/v1/audio/transcriptions`` endpoint.

``ALEJANDRIA_OPENAI_BASE_URL`` points at the server (``https://api.openai.com/v1`` or a
self-hosted one such as speaches or a whisper.cpp server), ``ALEJANDRIA_OPENAI_API_KEY`` holds
its key and ``ALEJANDRIA_OPENAI_TRANSCRIBE_MODEL`` names the model (``whisper-1``). The file is
sent as it is and segments come back from the ``verbose_json`` response.

Retries on connection errors, 408/409/429 and 5xx are left to the ``openai`` client
(``max_retries``); what still fails becomes a ``MediaError`` whose message never contains
the API key. ``openai`` is imported only when a file is transcribed.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alejandria.errors import MediaError
from alejandria.net.openai_compat import OpenAICompatibleClient
from alejandria.plugin_types import Transcript, TranscriptSegment

if TYPE_CHECKING:
    from alejandria.settings import Settings

#: How often the client retries a failed request, and how long one request may take.
MAX_RETRIES = 3
TIMEOUT_S = 900.0
#: Language names some servers (OpenAI's among them) answer with, to ISO 639-1 codes.
LANGUAGE_CODES: Mapping[str, str] = {
    "english": "en", "spanish": "es", "castilian": "es", "french": "fr", "german": "de",
    "italian": "it", "portuguese": "pt", "catalan": "ca", "dutch": "nl", "russian": "ru",
    "chinese": "zh", "japanese": "ja", "korean": "ko", "arabic": "ar", "hindi": "hi",
    "polish": "pl", "turkish": "tr", "swedish": "sv", "greek": "el", "basque": "eu",
    "galician": "gl", "romanian": "ro", "ukrainian": "uk", "czech": "cs", "danish": "da",
    "finnish": "fi", "norwegian": "no", "hungarian": "hu", "hebrew": "he",
}


def language_code(value: object) -> str | None:
    """An ISO code for what the server said (``"english"`` or ``"en"``); None if it said none."""
    if not isinstance(value, str) or not value.strip():
        return None
    name = value.strip().lower()
    return LANGUAGE_CODES.get(name, name)


def _field(item: object, name: str) -> Any:
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


class OpenAIApiTranscriber(OpenAICompatibleClient):
    """Transcription through an OpenAI-compatible HTTP API."""

    max_retries = MAX_RETRIES
    timeout_s = TIMEOUT_S

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.model_name = settings.openai_transcribe_model
        self.model_version = f"openai-api:{self.host or 'unconfigured'}"

    def transcribe(self, path: Path, language: str | None = None) -> Transcript:
        """Send ``path`` to the API; ``language`` None or "auto" lets the server detect it."""
        available = self.availability()
        if not available.available:
            raise MediaError(f"cannot transcribe with the OpenAI API: {available.reason}")
        openai = importlib.import_module("openai")
        client = self._get_client(openai)
        options: dict[str, Any] = {
            "model": self.model_name,
            "response_format": "verbose_json",
            "timestamp_granularities": ["segment"],
        }
        if language and language.strip().lower() != "auto":
            options["language"] = language.strip().lower()
        try:
            with path.open("rb") as audio:
                response = client.audio.transcriptions.create(file=audio, **options)
        except OSError as exc:
            raise MediaError(f"{path.name}: cannot read the file: {exc.strerror or exc}") from exc
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise MediaError(
                f"the transcription API at {self.host} refused the API key "
                f"(HTTP {exc.status_code}); check ALEJANDRIA_OPENAI_API_KEY"
            ) from None
        except openai.APIStatusError as exc:
            detail = self._scrub(str(getattr(exc, "message", "") or ""))
            raise MediaError(
                f"{path.name}: the transcription API at {self.host} answered HTTP "
                f"{exc.status_code}: {detail}"
            ) from None
        except openai.APIConnectionError as exc:
            raise MediaError(
                f"cannot reach the transcription API at {self.host} "
                f"({type(exc).__name__}, after {self.max_retries} retries)"
            ) from None
        except openai.OpenAIError as exc:
            raise MediaError(
                f"{path.name}: the transcription API at {self.host} failed: "
                f"{self._scrub(str(exc))}"
            ) from None
        return self._to_transcript(response, language)



    @staticmethod
    def _to_transcript(response: object, language: str | None) -> Transcript:
        segments: list[TranscriptSegment] = []
        for item in _field(response, "segments") or ():
            text = str(_field(item, "text") or "").strip()
            start, end = _field(item, "start"), _field(item, "end")
            if not text or start is None or end is None:
                continue
            segments.append(TranscriptSegment(start_s=float(start), end_s=float(end), text=text))
        if not segments:
            text = str(_field(response, "text") or "").strip()
            if text:
                duration = float(_field(response, "duration") or 0.0)
                segments.append(TranscriptSegment(start_s=0.0, end_s=duration, text=text))
        requested = None if not language or language.lower() == "auto" else language.lower()
        detected = language_code(_field(response, "language")) or requested
        return Transcript(language=detected, segments=tuple(segments))

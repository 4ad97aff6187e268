"""The openai-whisper engine, run for real on speech made here with espeak-ng.

openai-whisper's pretrained weights cannot be downloaded in tests, so the model is one built
here: Whisper with tiny dimensions and seeded random weights, saved as the same checkpoint
format (``{"dims": ..., "model_state_dict": ...}``) the official ``.pt`` files use. Its words
are nonsense; what is checked is the real code path: the checkpoint loads, ffmpeg decodes the
clip, the mel spectrogram, encoder and decoder run, and segments with times come back with the
model's name and version recorded.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from alejandria.cli.main import cli
from alejandria.errors import MediaError
from alejandria.media.transcribers import openai_whisper_engine
from alejandria.media.transcribers.openai_whisper_engine import (
    INSTALL_HINT,
    OpenAIWhisperTranscriber,
    choose_model,
)
from alejandria.models import Checkpoint, CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.settings import Settings
from alejandria.testing import require

#: openai-whisper's beam search hands torch tensors to numpy, which warns under numpy 2.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array_wrap__ must accept context:DeprecationWarning")

SPEECH = "The natal chart shows the planets at the moment of birth"


def whisper_settings(model: str | Path, **changes: Any) -> Settings:
    return Settings(transcriber="openai-whisper", transcribe_model=str(model), **changes)


@pytest.fixture(autouse=True)
def empty_whisper_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """openai-whisper's model cache points at an empty folder: no test sees a real one."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "whisper"


# --- without the extra, and model choice (no torch needed) ---------------------------------


def test_registered_as_a_transcriber(plugin_manager: Any) -> None:
    spec = plugin_manager.transcriber("openai-whisper")
    assert spec.factory is OpenAIWhisperTranscriber


def test_unavailable_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_whisper_engine, "whisper_installed", lambda: False)
    engine = OpenAIWhisperTranscriber(whisper_settings(""))
    availability = engine.availability()
    assert not availability.available
    assert availability.reason == INSTALL_HINT
    assert "pip install 'alejandria-core[whisper]'" in INSTALL_HINT
    with pytest.raises(MediaError, match=r"alejandria-core\[whisper\]"):
        engine.transcribe(Path("nothing.wav"))


def test_doctor_names_the_install_command(
    alejandria_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openai_whisper_engine, "whisper_installed", lambda: False)
    monkeypatch.setenv("ALEJANDRIA_DATABASE_URL", alejandria_database_url)
    monkeypatch.setenv("ALEJANDRIA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ALEJANDRIA_TRANSCRIBER", "openai-whisper")
    result = CliRunner().invoke(cli, ["doctor", "--json"], catch_exceptions=False)
    checks = {check["name"]: check for check in json.loads(result.output)["checks"]}
    assert checks["transcriber openai-whisper"]["status"] == "warn"
    assert INSTALL_HINT in checks["transcriber openai-whisper"]["detail"]


def test_default_and_official_names_come_from_the_cache(empty_whisper_cache: Path) -> None:
    default = choose_model("")
    assert default is not None and default.name == "base" and default.official
    assert default.path == empty_whisper_cache / "base.pt"
    turbo = choose_model("turbo")
    assert turbo is not None and turbo.path.name == "large-v3-turbo.pt"
    english = choose_model("tiny.en")
    assert english is not None and english.english_only


def test_a_model_not_on_this_machine_is_never_downloaded(
    monkeypatch: pytest.MonkeyPatch, empty_whisper_cache: Path
) -> None:
    monkeypatch.setattr(openai_whisper_engine, "whisper_installed", lambda: True)
    engine = OpenAIWhisperTranscriber(whisper_settings("small"))
    availability = engine.availability()
    assert not availability.available
    assert "not on this machine" in (availability.reason or "")
    assert str(empty_whisper_cache / "small.pt") in (availability.reason or "")
    with pytest.raises(MediaError, match="not on this machine"):
        engine.transcribe(Path("nothing.wav"))
    assert not empty_whisper_cache.exists()


def test_unusable_model_settings_say_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(openai_whisper_engine, "whisper_installed", lambda: True)

    def reason(model: str | Path) -> str:
        availability = OpenAIWhisperTranscriber(whisper_settings(model)).availability()
        assert not availability.available
        return availability.reason or ""

    assert "does not exist" in reason(tmp_path / "missing.pt")
    assert "is a folder" in reason(tmp_path)  # e.g. a faster-whisper (CTranslate2) folder
    assert "unknown openai-whisper model 'huge'" in reason("huge")


# --- a real (tiny, random) model on real speech ----------------------------------------------


@dataclasses.dataclass
class Clip:
    path: Path
    duration_s: float


def speak(directory: Path) -> Clip:
    path = directory / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), SPEECH],
                   check=True, capture_output=True, timeout=60)
    with wave.open(str(path)) as audio:
        return Clip(path=path, duration_s=audio.getnframes() / audio.getframerate())


def make_checkpoint(path: Path, *, n_vocab: int = 51865) -> Path:
    """A Whisper checkpoint with tiny dimensions and seeded random weights (multilingual
    vocabulary by default; 51864 tokens is an English-only model)."""
    torch = importlib.import_module("torch")
    model_module = importlib.import_module("whisper.model")
    torch.manual_seed(0)
    dims = model_module.ModelDimensions(
        n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
        n_vocab=n_vocab, n_text_ctx=16, n_text_state=64, n_text_head=2, n_text_layer=1,
    )
    model = model_module.Whisper(dims)
    # Whisper leaves the decoder's positional embedding uninitialised (a checkpoint fills it).
    torch.nn.init.normal_(model.decoder.positional_embedding, std=0.02)
    torch.save({"dims": dataclasses.asdict(dims), "model_state_dict": model.state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    require(openai_whisper_engine.whisper_installed(), INSTALL_HINT)
    require(shutil.which("espeak-ng") is not None, "espeak-ng is missing: apt-get install "
                                                   "espeak-ng")
    require(shutil.which("ffmpeg") is not None, "ffmpeg is missing: apt-get install ffmpeg")
    directory = tmp_path_factory.mktemp("openai-whisper")
    return {
        "clip": speak(directory),
        "checkpoint": make_checkpoint(directory / "tiny-random.pt"),
        "english_checkpoint": make_checkpoint(directory / "tiny-random.en.pt", n_vocab=51864),
    }


def assert_real_transcript(transcript: Any, clip: Clip) -> None:
    languages = importlib.import_module("whisper.tokenizer").LANGUAGES
    assert transcript.segments, "the model produced no segment"
    for segment in transcript.segments:
        assert isinstance(segment.text, str) and segment.text.strip() == segment.text != ""
        assert 0.0 <= segment.start_s <= segment.end_s <= max(clip.duration_s, 30.0)
    assert transcript.language in languages


@pytest.mark.needs_model
def test_a_checkpoint_file_transcribes_real_audio(assets: dict[str, Any]) -> None:
    checkpoint: Path = assets["checkpoint"]
    engine = OpenAIWhisperTranscriber(whisper_settings(checkpoint, transcribe_device="cpu"))
    assert engine.availability().available
    assert engine.model_name == "tiny-random"
    assert engine.model_version.startswith("openai-whisper==")
    assert f"file:tiny-random:{checkpoint.stat().st_size}" in engine.model_version
    assert len(engine.model_version) <= 100  # transcriptions.model_version

    transcript = engine.transcribe(assets["clip"].path)  # language detected

    assert_real_transcript(transcript, assets["clip"])
    assert engine._device == "cpu"


@pytest.mark.needs_model
def test_a_fixed_language_is_honoured(assets: dict[str, Any]) -> None:
    engine = OpenAIWhisperTranscriber(whisper_settings(assets["checkpoint"],
                                                       transcribe_language="es"))
    transcript = engine.transcribe(assets["clip"].path, "es")
    assert transcript.language == "es"
    assert_real_transcript(transcript, assets["clip"])


@pytest.mark.needs_model
def test_an_official_name_loads_from_the_cache(
    assets: dict[str, Any], empty_whisper_cache: Path
) -> None:
    empty_whisper_cache.mkdir(parents=True)
    shutil.copyfile(assets["checkpoint"], empty_whisper_cache / "tiny.pt")
    engine = OpenAIWhisperTranscriber(whisper_settings("tiny", transcribe_device="auto"))
    assert engine.availability().available
    assert engine.model_name == "tiny"
    assert engine.model_version.endswith(";tiny")
    assert_real_transcript(engine.transcribe(assets["clip"].path), assets["clip"])
    torch = importlib.import_module("torch")
    assert engine._device == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.needs_model
def test_an_english_only_model_refuses_another_language(assets: dict[str, Any]) -> None:
    english: Path = assets["english_checkpoint"]
    refused = OpenAIWhisperTranscriber(whisper_settings(english, transcribe_language="es"))
    availability = refused.availability()
    assert not availability.available and "only understands English" in (
        availability.reason or "")
    engine = OpenAIWhisperTranscriber(whisper_settings(english))
    with pytest.raises(MediaError, match="only understands English"):
        engine.transcribe(assets["clip"].path, "es")


@pytest.mark.needs_model
def test_devices_are_checked(assets: dict[str, Any]) -> None:
    torch = importlib.import_module("torch")
    bogus = OpenAIWhisperTranscriber(whisper_settings(assets["checkpoint"],
                                                      transcribe_device="tpu-9000"))
    assert "not a PyTorch device" in (bogus.availability().reason or "")
    if not torch.cuda.is_available():
        cuda = OpenAIWhisperTranscriber(whisper_settings(assets["checkpoint"],
                                                         transcribe_device="cuda"))
        assert "no CUDA device" in (cuda.availability().reason or "")


@pytest.mark.needs_model
def test_a_file_that_is_not_audio_is_refused(assets: dict[str, Any], tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"this is not audio at all")
    engine = OpenAIWhisperTranscriber(whisper_settings(assets["checkpoint"]))
    with pytest.raises(MediaError, match=r"broken\.wav: cannot decode the audio"):
        engine.transcribe(broken)


@pytest.mark.needs_model
def test_a_broken_checkpoint_is_a_media_error(assets: dict[str, Any], tmp_path: Path) -> None:
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    engine = OpenAIWhisperTranscriber(whisper_settings(broken))
    with pytest.raises(MediaError, match="cannot load the openai-whisper checkpoint"):
        engine.transcribe(assets["clip"].path)


@pytest.mark.needs_model
def test_the_archive_transcribes_with_it(
    assets: dict[str, Any], archive: Any, memory_source: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive.settings, "transcriber", "openai-whisper")
    monkeypatch.setattr(archive.settings, "transcribe_model", str(assets["checkpoint"]))
    memory_source.blobs = {"ep": assets["clip"].path.read_bytes()}
    memory_source.content["t"] = [
        CreatorIn(external_id="c", name="C"),
        PostIn(external_id="ep1", creator_external_id="c", title="Episode 1",
               media=(MediaIn(key="ep", filename="ep1.wav", kind=MediaKind.AUDIO),)),
        Checkpoint(),
    ]

    report = archive.sync("memory", "t")

    assert report.ok, report.notices
    with archive.engine.connect() as conn:
        row = conn.execute(text(
            "SELECT t.engine, t.model, t.model_version, t.status, count(s.id) AS segments "
            "FROM transcriptions t LEFT JOIN transcript_segments s ON s.transcription_id = t.id "
            "GROUP BY t.id")).one()
    assert row.engine == "openai-whisper" and row.model == "tiny-random"
    assert row.model_version.startswith("openai-whisper==") and row.status == "complete"
    assert row.segments >= 1

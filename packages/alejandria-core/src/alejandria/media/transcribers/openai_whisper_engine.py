"""The ``openai-whisper`` engine: OpenAI's reference Whisper on PyTorch, on this machine.

An alternative to ``faster-whisper`` for people who already run PyTorch (a GPU with CUDA, say)
or want the reference implementation. ``ALEJANDRIA_TRANSCRIBE_MODEL`` is a checkpoint file
(``/models/small.pt``: ``{"dims": ..., "model_state_dict": ...}``, the format
``whisper.load_model`` reads) or the name of an official model already in openai-whisper's
cache (``~/.cache/whisper/<name>.pt``, or ``$XDG_CACHE_HOME/whisper``); empty means ``base``.
Nothing is ever downloaded: a model that is not on this machine makes the engine unavailable
with a reason that says where to put it.

``ALEJANDRIA_TRANSCRIBE_DEVICE`` is a PyTorch device (``cpu``, ``cuda``, ``cuda:1``) or
``auto`` (CUDA when there is one); half precision is used on CUDA only. Decoding is the
``whisper`` command's default: beam search of 5, with its temperature fallback.
``ALEJANDRIA_TRANSCRIBE_LANGUAGE`` is an ISO code or ``auto`` (detected per file). Audio is
decoded with the ``ffmpeg`` program, as openai-whisper does.

``whisper`` and ``torch`` are imported only when the model loads (first transcription), so
importing this module and checking availability cost nothing at start-up.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import pickle
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alejandria.errors import MediaError
from alejandria.media.transcribers.faster_whisper_engine import normalise_language
from alejandria.models import Availability
from alejandria.plugin_types import Transcript, TranscriptSegment

if TYPE_CHECKING:
    from alejandria.settings import Settings

INSTALL_HINT = "install the whisper extra: pip install 'alejandria-core[whisper]'"
FFMPEG_HINT = "openai-whisper decodes audio with ffmpeg: apt-get install ffmpeg"
#: The model used when ALEJANDRIA_TRANSCRIBE_MODEL is empty.
DEFAULT_MODEL = "base"
#: The official model names (``whisper.available_models()``) and the file each is cached as.
OFFICIAL_MODELS = {
    name: f"{name}.pt"
    for name in ("tiny.en", "tiny", "base.en", "base", "small.en", "small", "medium.en",
                 "medium", "large-v1", "large-v2", "large-v3", "large-v3-turbo")
} | {"large": "large-v3.pt", "turbo": "large-v3-turbo.pt"}
#: Beam search width (and candidates sampled at a fallback temperature): the ``whisper`` command
#: line's default and faster-whisper's, where ``whisper.transcribe`` alone would decode greedily.
BEAM_SIZE = 5
#: ``transcriptions.model_version`` holds at most this many characters.
MAX_VERSION_CHARS = 100


def whisper_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("whisper", "torch"))


def whisper_version() -> str:
    try:
        return importlib.metadata.version("openai-whisper")
    except importlib.metadata.PackageNotFoundError:
        return "not-installed"


def cache_dir() -> Path:
    """Where openai-whisper keeps the official models it downloaded (we never download)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(root) / "whisper"


@dataclass(frozen=True)
class WhisperModelChoice:
    """The checkpoint file to load (it may not exist) and the name transcripts record."""

    path: Path
    name: str
    identifier: str
    official: bool

    @property
    def english_only(self) -> bool:
        return self.name.lower().endswith(".en")


def choose_model(configured: str) -> WhisperModelChoice | None:
    """The checkpoint ``configured`` names: a file path, or an official name looked up in the
    cache (empty: ``base``). None for something that is neither (an unknown name, a folder)."""
    configured = configured.strip() or DEFAULT_MODEL
    if configured in OFFICIAL_MODELS:
        return WhisperModelChoice(path=cache_dir() / OFFICIAL_MODELS[configured],
                                  name=configured, identifier=configured, official=True)
    path = Path(configured).expanduser()
    if path.is_dir():
        return None
    if path.is_file():
        path = path.resolve()
        size = path.stat().st_size
        identifier = f"file:{path.stem[:48]}:{size}"
        return WhisperModelChoice(path=path, name=path.stem, identifier=identifier,
                                  official=False)
    if _looks_like_path(configured):
        return WhisperModelChoice(path=path, name=path.stem, identifier=f"file:{path.stem}",
                                  official=False)
    return None


def _looks_like_path(value: str) -> bool:
    return value.startswith(("/", ".", "~")) or "/" in value or "\\" in value \
        or value.endswith((".pt", ".pth"))


def english_only_message(model: str, language: str) -> str:
    return (
        f"the transcription model {model!r} only understands English and cannot transcribe "
        f"language {language!r}; set ALEJANDRIA_TRANSCRIBE_MODEL to a multilingual Whisper "
        f"model (e.g. 'base' or 'small'), or set ALEJANDRIA_TRANSCRIBE_LANGUAGE=en"
    )


class OpenAIWhisperTranscriber:
    """Local Whisper transcription with ``openai-whisper`` (PyTorch)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.configured_device = (settings.transcribe_device or "cpu").strip().lower()
        self.choice = choose_model(settings.transcribe_model)
        configured = settings.transcribe_model.strip() or DEFAULT_MODEL
        self.model_name = self.choice.name if self.choice else configured
        identifier = self.choice.identifier if self.choice else "missing-model"
        self.model_version = f"openai-whisper=={whisper_version()};{identifier}"[
            :MAX_VERSION_CHARS]
        self._model: Any = None
        self._device: str | None = None
        # One transcription at a time: openai-whisper installs its key/value-cache hooks on the
        # shared model for the length of a call, so two calls at once would corrupt each other.
        self._lock = threading.Lock()

    # --- availability ----------------------------------------------------------------------

    def availability(self) -> Availability:
        if not whisper_installed():
            return Availability.no(INSTALL_HINT)
        problem = self._model_problem()
        if problem:
            return Availability.no(problem)
        if shutil.which("ffmpeg") is None:
            return Availability.no(FFMPEG_HINT)
        language = normalise_language(self.settings.transcribe_language)
        if self.choice is not None and self.choice.english_only and language not in (None, "en"):
            return Availability.no(english_only_message(self.choice.name, language or ""))
        if self.configured_device not in ("cpu", "auto"):
            try:
                self._resolve_device()
            except MediaError as exc:
                return Availability.no(str(exc))
        return Availability.yes()

    def _model_problem(self) -> str | None:
        configured = self.settings.transcribe_model.strip() or DEFAULT_MODEL
        choice = self.choice
        if choice is None:
            if Path(configured).expanduser().is_dir():
                return (f"{configured!r} is a folder; the openai-whisper engine loads a PyTorch "
                        f"checkpoint file (a .pt file such as base.pt), not a CTranslate2 model "
                        f"folder (that is the faster-whisper engine's format)")
            names = ", ".join(sorted(OFFICIAL_MODELS))
            return (f"unknown openai-whisper model {configured!r}: set "
                    f"ALEJANDRIA_TRANSCRIBE_MODEL to a .pt checkpoint file or one of {names}")
        if choice.path.is_file():
            return None
        if choice.official:
            return (f"the openai-whisper model {choice.name!r} is not on this machine (nothing "
                    f"is downloaded at run time): put its checkpoint at {choice.path}, or set "
                    f"ALEJANDRIA_TRANSCRIBE_MODEL to a local .pt checkpoint file")
        return (f"the openai-whisper checkpoint {str(choice.path)!r} does not exist; set "
                f"ALEJANDRIA_TRANSCRIBE_MODEL to a .pt checkpoint file")

    def _resolve_device(self) -> str:
        torch = importlib.import_module("torch")
        device = self.configured_device
        if device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise MediaError(f"ALEJANDRIA_TRANSCRIBE_DEVICE={device!r} but PyTorch sees no "
                             f"CUDA device here; use 'cpu' or 'auto'")
        try:
            torch.device(device)
        except (RuntimeError, ValueError) as exc:
            raise MediaError(f"ALEJANDRIA_TRANSCRIBE_DEVICE={device!r} is not a PyTorch "
                             f"device: {exc}") from exc
        return device

    # --- transcription ---------------------------------------------------------------------

    def transcribe(self, path: Path, language: str | None = None) -> Transcript:
        """Transcribe ``path`` (anything ffmpeg decodes); ``language`` None or "auto": detect
        it per file (English-only models always answer "en")."""
        wanted = normalise_language(language)
        with self._lock:
            model = self._load()
            if wanted not in (None, "en") and not bool(model.is_multilingual):
                raise MediaError(english_only_message(self.model_name, wanted or ""))
            whisper = importlib.import_module("whisper")
            try:
                audio = whisper.load_audio(str(path))
            except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
                raise MediaError(f"{path.name}: cannot decode the audio: "
                                 f"{_last_line(exc)}") from exc
            try:
                result = whisper.transcribe(
                    model, audio, language=wanted, verbose=None,
                    fp16=str(self._device).startswith("cuda"),
                    beam_size=BEAM_SIZE, best_of=BEAM_SIZE,
                )
            except (RuntimeError, ValueError) as exc:
                raise MediaError(f"{path.name}: cannot transcribe: {exc}") from exc
        found = tuple(
            TranscriptSegment(start_s=float(segment["start"]), end_s=float(segment["end"]),
                              text=str(segment["text"]).strip())
            for segment in result.get("segments", ())
            if str(segment["text"]).strip()
        )
        detected = result.get("language") or wanted
        return Transcript(language=str(detected) if detected else None, segments=found)

    # --- model loading ---------------------------------------------------------------------

    def _load(self) -> Any:
        """The model, loaded on first use; the caller holds ``self._lock``."""
        if self._model is not None:
            return self._model
        if not whisper_installed():
            raise MediaError(f"cannot transcribe: {INSTALL_HINT}")
        problem = self._model_problem()
        if problem or self.choice is None:
            raise MediaError(problem or "no openai-whisper model")
        device = self._resolve_device()
        torch = importlib.import_module("torch")
        model_module = importlib.import_module("whisper.model")
        try:
            # weights_only: a checkpoint is data, never code to run.
            checkpoint = torch.load(self.choice.path, map_location=device, weights_only=True)
            dims = model_module.ModelDimensions(**checkpoint["dims"])
            model = model_module.Whisper(dims)
            model.load_state_dict(checkpoint["model_state_dict"])
        except (OSError, RuntimeError, ValueError, KeyError, TypeError, EOFError,
                pickle.UnpicklingError) as exc:
            raise MediaError(f"cannot load the openai-whisper checkpoint "
                             f"{str(self.choice.path)!r}: {exc}") from exc
        self._model = model.to(device).eval()
        self._device = device
        return self._model


def _last_line(exc: BaseException) -> str:
    stderr = getattr(exc, "stderr", None)
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    text = str(stderr or exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__

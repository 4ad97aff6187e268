"""Transcription real-time factor (processing seconds / audio seconds) of each local engine.

Speech is synthesised with espeak-ng (no download, no internet); each engine transcribes the
same clip, best of N runs after a warm-up that also loads the model. Lower is faster; an RTF of
0.1 transcribes an hour of audio in six minutes.

    python bench/transcribe.py [--repeat 3] [--seconds 60]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import wave
from pathlib import Path

from alejandria.plugins import build_plugin_manager
from alejandria.settings import Settings

#: Models to compare per engine ("" = the engine's bundled default).
MODELS = {"faster-whisper": ("", "tiny.en")}

PARAGRAPH = (
    "Welcome back to the show. Today we look at the natal chart, the map of the sky at the "
    "moment of birth, and at how the planets move through the twelve houses over a year. "
    "Listeners asked about retrograde periods, so we will explain why a planet seems to move "
    "backwards, and what astrologers have said about it for centuries. "
)


def make_clip(folder: Path, seconds: float) -> tuple[Path, float]:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("needs espeak-ng: apt-get install espeak-ng")
    text = PARAGRAPH * max(1, round(seconds / 20))
    path = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    with wave.open(str(path)) as audio:
        return path, audio.getnframes() / audio.getframerate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        clip, duration = make_clip(Path(tmp), args.seconds)
        print(f"clip: {duration:.1f} s of espeak-ng speech (en-us)")
        rows = []
        runs = [(name, spec, model)
                for name, spec in build_plugin_manager().transcribers().items()
                for model in (MODELS.get(name, ("",)))]
        for name, spec, model in runs:
            engine = spec.factory(settings.model_copy(update={"transcribe_model": model}))
            availability = engine.availability()
            if not availability.available or name == "openai-api":  # local engines only
                print(f"{name}: skipped ({availability.reason or 'not a local engine'})")
                continue
            engine.transcribe(clip)  # warm-up: loads the model
            best = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                engine.transcribe(clip)
                best = min(best, time.perf_counter() - start)
            rows.append((name, engine.model_name, best, best / duration))
        print(f"\n{'engine':<16} {'model':<10} {'seconds':>8} {'RTF':>6}")
        for name, model, seconds, rtf in rows:
            print(f"{name:<16} {model:<10} {seconds:>8.2f} {rtf:>6.3f}")
        if len(rows) > 1:
            fastest = min(rows, key=lambda row: row[3])
            for name, model, _, rtf in rows:
                print(f"{name} {model}: {rtf / fastest[3]:.2f}x the fastest one's time")


if __name__ == "__main__":
    main()

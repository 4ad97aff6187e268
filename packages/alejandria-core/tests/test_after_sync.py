"""The one path after a sync: processors here or on their own queue, plugins told last."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from alejandria import hookimpl
from alejandria.models import Availability, Checkpoint, CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.plugin_types import ProcessorSpec

GIF = b"GIF89a" + b"\x00" * 64


class Recorder:
    """A processor that records the files it saw."""

    seen: list[str] = []

    def __init__(self, context):
        self.name = context.name

    def availability(self):
        return Availability.yes()

    def process(self, path, media):
        Recorder.seen.append(self.name)
        return {}


class SlowQueuePlugin:
    @hookimpl
    def register_processors(self):
        return [ProcessorSpec(name="gpu-work", accepts=frozenset(MediaKind), factory=Recorder,
                              queue="transcription", order=90)]


@pytest.fixture
def synced_image(archive, memory_source, register_plugin):
    Recorder.seen = []
    register_plugin(SlowQueuePlugin(), name="slow-queue")
    memory_source.blobs = {"img": GIF}
    memory_source.content["t"] = [
        CreatorIn(external_id="c", name="C"),
        PostIn(external_id="p", creator_external_id="c", title="Con imagen",
               media=(MediaIn(key="img", filename="x.gif"),)),
        Checkpoint(),
    ]

    def sync():
        return archive.sync("memory", "t")

    return sync


def test_without_a_broker_every_processor_runs_after_the_sync(archive, synced_image):
    report = synced_image()

    assert report.ok and report.media_stored == 1
    assert Recorder.seen == ["gpu-work"]
    assert [job.job_type for job in archive.jobs.list()] == []


def test_with_a_broker_a_processor_of_another_queue_is_queued_there(
        archive, synced_image, alejandria_redis_url, monkeypatch):
    monkeypatch.setattr(archive.settings, "broker_url", SecretStr(alejandria_redis_url))

    report = synced_image()

    assert report.ok
    assert Recorder.seen == []  # not run by the worker that synced
    assert report.media_processed >= 1  # probe and thumbnails ran here
    [job] = [job for job in archive.jobs.list() if job.job_type == "process_media"]
    assert (job.queue, job.payload, job.status) == (
        "transcription", {"processors": ["gpu-work", "transcribe"]}, "pending")


def test_plugins_hear_of_the_sync_after_the_work_that_follows_it(archive, synced_image,
                                                                 register_plugin):
    heard: list[tuple[int, list[str]]] = []

    class Listener:
        @hookimpl
        def sync_finished(self, archive, report):
            heard.append((report.media_processed, list(Recorder.seen)))

    register_plugin(Listener(), name="listener")

    synced_image()

    assert heard and heard[0][0] >= 1 and heard[0][1] == ["gpu-work"]

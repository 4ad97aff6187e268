"""Thread-safe processors (probe, thumbnails) work on several files at once; every file still
meets the processors in order, and the ones after see what the first ones found."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image
from sqlalchemy import text

from alejandria import hookimpl
from alejandria.errors import MediaError
from alejandria.models import Availability, Checkpoint, CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.plugin_types import ProcessorSpec


def _jpeg(seed: int) -> bytes:
    image = Image.new("RGB", (640, 480), (seed * 40 % 256, 90, 160))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


class Together:
    """Thread-safe: records which thread ran it and how many ran at the same time."""

    lock = threading.Lock()
    running = 0
    most = 0
    seen: list[tuple[str, str]] = []

    def __init__(self, context):
        self.context = context

    def availability(self):
        return Availability.yes()

    def process(self, path, media):
        with Together.lock:
            Together.running += 1
            Together.most = max(Together.most, Together.running)
        time.sleep(0.05)  # a decode's worth of time, without the GIL
        with Together.lock:
            Together.running -= 1
            Together.seen.append(("together", media["sha256"]))
        if path.read_bytes().startswith(b"broken"):
            raise MediaError("cannot decode the picture")
        return {"checked": True}


class After:
    """Not thread-safe, later in order: sees the kind probe found."""

    kinds: list[str] = []

    def __init__(self, context):
        self.context = context

    def availability(self):
        return Availability.yes()

    def process(self, path, media):
        After.kinds.append(media["kind"])
        Together.seen.append(("after", media["sha256"]))
        return {}


class Plugin:
    @hookimpl
    def register_processors(self):
        kinds = frozenset(MediaKind)
        return [ProcessorSpec(name="together", accepts=kinds, factory=Together, order=5,
                              threadsafe=True),
                ProcessorSpec(name="after", accepts=kinds, factory=After, order=90)]


@pytest.fixture
def photos(memory_source, register_plugin):
    Together.running = Together.most = 0
    Together.seen, After.kinds = [], []
    register_plugin(Plugin(), name="threads-plugin")
    memory_source.blobs = {f"p{i}": _jpeg(i) for i in range(8)} | {"bad": b"broken file"}
    memory_source.content["t"] = [
        CreatorIn(external_id="c", name="C"),
        PostIn(external_id="p", creator_external_id="c", title="Fotos",
               # named .bin and declared as other files: probe must find they are pictures
               media=tuple(MediaIn(key=key, filename=f"{key}.bin", kind=MediaKind.OTHER)
                           for key in [*(f"p{i}" for i in range(8)), "bad"])),
        Checkpoint(),
    ]


def test_files_are_processed_together_and_in_order(open_archive, photos):
    with open_archive(media_threads=3) as archive:
        report = archive.sync("memory", "t")
        assert report.media_stored == 9
        assert 2 <= Together.most <= 3  # several files at once, never more than asked
        # each file met "together" before "after"; after saw probe's kind, not the source's
        for sha in {sha for _, sha in Together.seen}:
            steps = [step for step, seen in Together.seen if seen == sha]
            assert steps == ["together", "after"]
        assert After.kinds.count("image") == 8
        failed = [n for n in report.notices if n.subject.startswith("together")]
        assert [n.message for n in failed] == ["cannot decode the picture"]
        with archive.engine.connect() as conn:
            thumbnails = conn.execute(text(
                "SELECT count(*) FROM media_derivatives "
                "WHERE processor = 'thumbnails' AND status = 'done'")).scalar_one()
        assert thumbnails == 8


def test_one_thread_processes_one_file_at_a_time(open_archive, photos):
    with open_archive(media_threads=1) as archive:
        assert archive.sync("memory", "t").media_stored == 9
    assert Together.most == 1 and After.kinds.count("image") == 8

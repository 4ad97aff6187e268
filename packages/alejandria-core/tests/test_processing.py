"""Processors run once per file and version, record failures, and verify finds corruption."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from alejandria import hookimpl
from alejandria.cli.main import cli
from alejandria.errors import MediaError
from alejandria.models import Availability, Checkpoint, CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.plugin_types import ProcessorSpec

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10
WAV = b"RIFF....WAVEfmt " + b"\x00" * 40


class Measure:
    calls: list[str] = []

    def __init__(self, context):
        self.context = context

    def availability(self):
        return Availability.yes()

    def process(self, path, media):
        Measure.calls.append(media["sha256"])
        if path.read_bytes().startswith(b"RIFF"):
            raise MediaError("unsupported audio layout")
        return {"bytes": path.stat().st_size, "width": 7, "kind": "image"}


class NeedsGpu(Measure):
    def availability(self):
        return Availability.no("needs a GPU: pip install alejandria-core[gpu]")


def plugin(version: str = "1"):
    class Plugin:
        @hookimpl
        def register_processors(self):
            kinds = frozenset({MediaKind.IMAGE, MediaKind.AUDIO})
            return [ProcessorSpec(name="measure", accepts=kinds, factory=Measure,
                                  version=version),
                    ProcessorSpec(name="gpu", accepts=kinds, factory=NeedsGpu)]
    return Plugin()


@pytest.fixture
def synced(archive, memory_source, register_plugin):
    Measure.calls = []
    register_plugin(plugin(), name="measure-plugin")
    memory_source.blobs = {"img": PNG, "wav": WAV}
    memory_source.content["t"] = [
        CreatorIn(external_id="c", name="C"),
        PostIn(external_id="p", creator_external_id="c", title="Con adjuntos",
               media=(MediaIn(key="img", filename="a.png", kind=MediaKind.IMAGE),
                      MediaIn(key="wav", filename="b.wav", kind=MediaKind.AUDIO))),
        Checkpoint(),
    ]
    return archive, archive.sync("memory", "t")


def test_processors_run_after_sync_and_record_results(synced):
    archive, report = synced

    assert report.media_stored == 2 and report.media_processed >= 2
    failed = [n for n in report.notices if n.subject.startswith("measure")]
    assert [n.message for n in failed] == ["unsupported audio layout"]
    # the file is named as the source named it, with its post, not by its hash alone
    assert failed[0].subject.startswith("measure: b.wav in 'Con adjuntos' (")
    with archive.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT m.size, d.status, d.result, d.error, m.width FROM media_derivatives d "
            "JOIN media_files m ON m.id = d.media_id WHERE d.processor = 'measure' "
            "ORDER BY d.status")).all()
    assert [(r.size, r.status, r.error) for r in rows] == [
        (len(PNG), "done", None), (len(WAV), "failed", "unsupported audio layout")]
    assert rows[0].result["bytes"] == len(PNG) and rows[0].width == 7


def test_backfill_is_a_no_op_until_the_version_changes(synced, plugin_manager):
    archive, _ = synced
    assert archive.process_media().processed == 0

    plugin_manager.unregister("measure-plugin")
    plugin_manager.register(plugin(version="2"), "measure-plugin-v2")
    rerun = archive.process_media(processor="measure")

    assert rerun.processed == 2
    assert len(Measure.calls) == 4
    assert archive.process_media().processed == 0


def test_files_of_later_syncs_are_processed_too(archive, memory_source, register_plugin):
    """Every sync's new files are processed, not only the first one's (a query that asked
    whether *any* file had each result once made every later sync process nothing). Only
    available processors here: an unavailable one leaves every file a candidate forever,
    which hid that mistake."""
    Measure.calls = []

    class OnlyMeasure:
        @hookimpl
        def register_processors(self):
            return [ProcessorSpec(name="measure", accepts=frozenset({MediaKind.IMAGE}),
                                  factory=Measure)]

    register_plugin(OnlyMeasure(), name="only-measure")
    images = {f"img{n}": PNG + str(n).encode() for n in (1, 2, 3)}
    memory_source.blobs = images

    def post(n: int) -> list:
        return [CreatorIn(external_id="c", name="C"),
                PostIn(external_id=f"p{n}", creator_external_id="c", title=f"Post {n}",
                       media=(MediaIn(key=f"img{n}", filename=f"{n}.png",
                                      kind=MediaKind.IMAGE),)),
                Checkpoint()]

    sizes = [len(images[f"img{n}"]) for n in (1, 2, 3)]
    for n in (1, 2):
        memory_source.content[f"t{n}"] = post(n)
        report = archive.sync("memory", f"t{n}")
        assert report.media_stored == 1 and report.media_processed >= 1
        assert _measured(archive) == set(sizes[:n])

    # a third file stored with processing off is found by the backfill, and only it
    archive.settings.process_media = False
    memory_source.content["t3"] = post(3)
    assert archive.sync("memory", "t3").media_processed == 0
    Measure.calls = []

    backfill = archive.process_media()

    assert backfill.by_processor["measure"] == 1 and len(Measure.calls) == 1
    assert _measured(archive) == set(sizes)
    assert archive.process_media().processed == 0


def _measured(archive) -> set[int]:
    """Sizes of the files the ``measure`` processor has a result for."""
    with archive.engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT m.size FROM media_derivatives d JOIN media_files m ON m.id = d.media_id "
            "WHERE d.processor = 'measure' AND d.status = 'done'")).scalars())


def test_unavailable_processors_are_reported_with_the_fix(synced):
    archive, _ = synced
    report = archive.process_media(processor="gpu")
    assert report.unavailable == {"gpu": "needs a GPU: pip install alejandria-core[gpu]"}
    assert report.processed == 0


def test_media_verify_detects_a_corrupted_file(synced, alejandria_database_url, monkeypatch):
    archive, _ = synced
    assert archive.verify_media().ok
    victim = next(p for p in archive.media.root.glob("??/??/*") if p.read_bytes() == PNG)
    victim.write_bytes(PNG.replace(b"pixels", b"pixelz", 1))

    report = archive.verify_media()

    assert report.corrupt == [victim.name] and report.missing == []
    monkeypatch.setenv("ALEJANDRIA_DATABASE_URL", alejandria_database_url)
    monkeypatch.setenv("ALEJANDRIA_DATA_DIR", str(archive.settings.data_dir))
    result = CliRunner().invoke(cli, ["media", "verify"])
    assert result.exit_code == 1
    assert f"media {victim.name}: corrupt" in result.output

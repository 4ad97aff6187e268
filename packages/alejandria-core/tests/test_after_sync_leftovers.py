"""Derived work an interrupted sync left undone is done by the next sync, even one that finds
nothing new, and the report says so: passages without vectors are embedded, media files
without their processors' output are processed, documents' text is attached to their posts."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from alejandria import hookimpl
from alejandria.models import Availability, Checkpoint, CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.plugin_types import EmbedderSpec, ExtractorSpec, ProcessorSpec
from alejandria.testing import reads

GIF = b"GIF89a" + b"\x00" * 64


class Stoppable:
    """A toy embedder that the user interrupts (Ctrl-C) at its ``interrupt_at``-th call."""

    model_name = "stoppable-v1"
    dimensions = 3
    interrupt_at: int | None = None
    calls = 0

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def availability(self) -> Availability:
        return Availability.yes()

    def embed(self, texts: list[str]) -> list[list[float]]:
        Stoppable.calls += 1
        if Stoppable.calls == Stoppable.interrupt_at:
            raise KeyboardInterrupt
        return [[1.0, 1.0 + len(t), 1.0 + t.count(" ")] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]


class StoppableEmbedder:
    @hookimpl
    def register_embedders(self) -> list[EmbedderSpec]:
        return [EmbedderSpec(name="stoppable", factory=Stoppable, dimensions=3)]


def _posts(count: int) -> list[Any]:
    return [CreatorIn(external_id="c", name="C"),
            *(PostIn(external_id=f"p{n}", creator_external_id="c", title=f"Post {n}",
                     text=f"The body of post number {n}.") for n in range(count)),
            Checkpoint()]


@pytest.fixture
def embedding(archive, memory_source, register_plugin, monkeypatch):
    """The archive embedding after each sync with ``stoppable``, one chunk per batch."""
    if not archive.capabilities().vector_installed:
        pytest.skip("this Postgres has no pgvector")
    Stoppable.interrupt_at, Stoppable.calls = None, 0
    register_plugin(StoppableEmbedder(), name="stoppable-embedder")
    for name, value in {"embedder": "stoppable", "embed_after_sync": True,
                        "embed_batch_size": 1, "process_media": False}.items():
        monkeypatch.setattr(archive.settings, name, value)
    memory_source.content["t"] = _posts(3)
    return archive


def _messages(report: Any, subject: str) -> list[str]:
    return [notice.message for notice in report.notices if notice.subject == subject]


# --- embeddings ------------------------------------------------------------------------------


def test_embedding_interrupted_by_ctrl_c_is_finished_by_the_next_unchanged_sync(embedding):
    Stoppable.interrupt_at = 2  # the first chunk is embedded, then the user presses Ctrl-C
    with pytest.raises(KeyboardInterrupt):
        embedding.sync("memory", "t")
    assert embedding.embed_status()["chunks_pending"] == 2
    Stoppable.interrupt_at = None

    report = embedding.sync("memory", "t")

    assert report.ok and report.posts_written == 0 and report.posts_unchanged == 3
    assert report.chunks_embedded == 2
    assert _messages(report, "embeddings") == [
        "embedded 2 passage(s) left pending by an earlier run"]
    assert embedding.embed_status()["chunks_pending"] == 0


def test_a_sync_with_nothing_left_pending_says_nothing_and_embeds_nothing(embedding):
    assert embedding.sync("memory", "t").chunks_embedded == 3
    calls = Stoppable.calls

    report = embedding.sync("memory", "t")

    assert report.ok and report.chunks_embedded == 0 and report.notices == []
    assert report.embeddings_pending == 0 and Stoppable.calls == calls


def test_a_sync_job_finishes_what_an_earlier_run_left(embedding):
    """The same catch-up when the sync runs as a job (here inline, without a broker)."""
    embedding.settings.embed_after_sync = False
    assert embedding.sync("memory", "t").ok
    embedding.settings.embed_after_sync = True

    job = embedding.jobs.get(embedding.submit("sync", {"source": "memory", "targets": ["t"]}))

    assert job is not None and job.status == "completed"
    assert job.result["posts_written"] == 0 and job.result["chunks_embedded"] == 3
    assert [n["message"] for n in job.result["notices"]] == [
        "embedded 3 passage(s) left pending by an earlier run"]


def test_with_embedding_after_a_sync_off_the_report_counts_what_waits(embedding):
    embedding.settings.embed_after_sync = False

    first = embedding.sync("memory", "t")
    again = embedding.sync("memory", "t")

    assert (first.posts_written, first.chunks_embedded, first.embeddings_pending) == (3, 0, 3)
    assert (again.posts_written, again.chunks_embedded, again.embeddings_pending) == (0, 0, 3)
    assert again.notices == [] and Stoppable.calls == 0
    assert embedding.embed_status()["chunks_pending"] == 3


def test_with_a_broker_passages_left_pending_are_queued_as_an_embed_job(
        embedding, alejandria_redis_url, monkeypatch):
    embedding.settings.embed_after_sync = False
    assert embedding.sync("memory", "t").ok
    embedding.settings.embed_after_sync = True
    monkeypatch.setattr(embedding.settings, "broker_url", SecretStr(alejandria_redis_url))

    report = embedding.sync("memory", "t")

    assert report.ok and report.chunks_embedded == 0 and Stoppable.calls == 0
    assert _messages(report, "embeddings") == [
        "3 passage(s) left pending by an earlier run: queued an embed job"]
    [job] = [job for job in embedding.jobs.list() if job.job_type == "embed"]
    assert (job.queue, job.status) == ("search", "pending")


# --- media processing ------------------------------------------------------------------------


class Interrupter:
    """A processor during which the user presses Ctrl-C while ``armed``."""

    armed = False
    seen: list[str] = []

    def __init__(self, context: Any) -> None:
        self.name = context.name

    def availability(self) -> Availability:
        return Availability.yes()

    def process(self, path: Any, media: dict[str, Any]) -> dict[str, Any]:
        if Interrupter.armed:
            raise KeyboardInterrupt
        Interrupter.seen.append(media["sha256"])
        return {}


class Unavailable:
    """A processor that cannot run here (a model or a tool is missing)."""

    def __init__(self, context: Any) -> None:
        self.name = context.name

    def availability(self) -> Availability:
        return Availability.no("the tool is not installed")

    def process(self, path: Any, media: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("an unavailable processor never runs")


class ProcessorsPlugin:
    @hookimpl
    def register_processors(self) -> list[ProcessorSpec]:
        return [ProcessorSpec(name="interrupter", accepts=frozenset(MediaKind),
                              factory=Interrupter, order=5),
                ProcessorSpec(name="unavailable", accepts=frozenset(MediaKind),
                              factory=Unavailable, order=6)]


@pytest.fixture
def image(archive, memory_source, register_plugin):
    """A post with one image; the archive processes media after a sync, with the two
    processors above besides core's."""
    Interrupter.armed, Interrupter.seen = False, []
    register_plugin(ProcessorsPlugin(), name="leftover-processors")
    memory_source.blobs = {"img": GIF}
    memory_source.content["t"] = [
        CreatorIn(external_id="c", name="C"),
        PostIn(external_id="p", creator_external_id="c", title="With an image",
               media=(MediaIn(key="img", filename="x.gif"),)),
        Checkpoint(),
    ]
    return archive


def _processors(archive: Any) -> set[str]:
    return {d.processor for d in reads.derivatives(archive)}


def test_processing_interrupted_by_ctrl_c_is_finished_by_the_next_unchanged_sync(image):
    Interrupter.armed = True
    with pytest.raises(KeyboardInterrupt):
        image.sync("memory", "t")
    assert _processors(image) == {"probe"}  # no thumbnails: the run stopped after the probe
    Interrupter.armed = False

    report = image.sync("memory", "t")

    assert report.ok and report.media_stored == 0 and report.posts_unchanged == 1
    assert {"interrupter", "thumbnails"} <= _processors(image)
    assert report.media_processed >= 2 and len(Interrupter.seen) == 1
    assert _messages(report, "media") == [
        "processed 1 media file(s) left unprocessed by an earlier run"]


def test_a_processor_that_cannot_run_here_is_not_retried_by_every_sync(image):
    assert image.sync("memory", "t").media_processed >= 2

    report = image.sync("memory", "t")

    assert report.ok and report.media_processed == 0 and report.notices == []
    assert "unavailable" not in _processors(image)  # still lacking: it cannot run here


def test_with_processing_off_media_left_unprocessed_stay_so(image, monkeypatch):
    monkeypatch.setattr(image.settings, "process_media", False)
    assert image.sync("memory", "t").ok

    report = image.sync("memory", "t")

    assert report.media_processed == 0 and report.notices == []
    assert _processors(image) == set()
    monkeypatch.setattr(image.settings, "process_media", True)
    assert image.sync("memory", "t").media_processed >= 2
    assert "thumbnails" in _processors(image)


@pytest.fixture
def cli_sync(tmp_path, alejandria_database_url, monkeypatch):
    """``cli_sync(**env)``: ``alejandria sync files`` of a folder with one picture, in this
    process, with ``env`` (``process_media="false"``) as ``ALEJANDRIA_*`` variables."""
    from click.testing import CliRunner

    from alejandria.cli.main import cli

    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    monkeypatch.setenv("ALEJANDRIA_DATABASE_URL", alejandria_database_url)
    monkeypatch.setenv("ALEJANDRIA_DATA_DIR", str(tmp_path / "data"))

    def run(**env: str) -> str:
        for name, value in {"embed_after_sync": "false", "process_media": "true",
                            **env}.items():
            monkeypatch.setenv(f"ALEJANDRIA_{name.upper()}", value)
        result = CliRunner().invoke(cli, ["sync", "files", str(folder)])
        assert result.exit_code == 0, result.output
        return result.output

    return run


def test_the_cli_says_what_a_sync_did_for_an_earlier_run(cli_sync):
    cli_sync(process_media="false")  # the first run does no processing

    output = cli_sync()

    assert "1 unchanged" in output
    assert "processed 1 media file(s) left unprocessed by an earlier run" in output


def test_the_cli_says_how_to_embed_what_waits_when_embedding_after_a_sync_is_off(
        cli_sync, archive):
    from alejandria.search.embedding.select import embedder_name

    if not archive.capabilities().vector_installed or embedder_name(
            archive.settings, archive.plugins) is None:
        pytest.skip("no pgvector or no local embedder installed")

    output = cli_sync()

    assert "wait for embeddings (ALEJANDRIA_EMBED_AFTER_SYNC is off): run alejandria " \
           "embed backfill" in " ".join(output.split())


# --- document text ---------------------------------------------------------------------------


class Plain:
    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def availability(self) -> Availability:
        return Availability.yes()

    def extract(self, path: Any, media: dict[str, Any]) -> list[Any]:
        from alejandria.models import ChunkIn

        return [ChunkIn(text=path.read_text(), page=1)]


class PlainPlugin:
    @hookimpl
    def register_extractors(self) -> list[ExtractorSpec]:
        return [ExtractorSpec(name="plain-leftover", mime_types=frozenset({"text/plain"}),
                              factory=Plain)]


def test_document_text_an_interrupted_run_did_not_attach_is_attached_by_the_next_sync(
        archive, memory_source, register_plugin):
    register_plugin(PlainPlugin(), name="plain-leftover")
    memory_source.blobs = {"manual": b"Collimate the secondary mirror of the telescope."}
    memory_source.content["t"] = [
        CreatorIn(external_id="c", name="C"),
        *(PostIn(external_id=eid, creator_external_id="c", title=eid,
                 media=(MediaIn(key="manual", filename="manual.txt"),)) for eid in ("a", "b")),
        Checkpoint(),
    ]
    assert archive.sync("memory", "t").ok
    # the run stopped before the text reached post b (the attach after the sync)
    with archive.engine.begin() as conn:
        conn.execute(text("DELETE FROM chunks WHERE media_id IS NOT NULL AND post_id = "
                          "(SELECT id FROM posts WHERE external_id = 'b')"))
    assert {hit.title for hit in archive.search("collimate", mode="fulltext")} == {"a"}

    report = archive.sync("memory", "t")

    assert report.ok and report.posts_written == 0
    assert {hit.title for hit in archive.search("collimate", mode="fulltext")} == {"a", "b"}
    assert _messages(report, "documents") == [
        "attached 1 passage(s) of documents left unattached by an earlier run"]

"""The plugin test kit itself: the settings override, the read helpers and the markers."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from alejandria import hookimpl
from alejandria.api import Archive
from alejandria.models import (
    EMBED_ROLE,
    Availability,
    Checkpoint,
    ChunkIn,
    CollectionIn,
    CollectionRef,
    CreatorIn,
    MediaIn,
    PostIn,
)
from alejandria.plugin_types import ExtractorSpec
from alejandria.storage.credentials import CredentialStore
from alejandria.testing import DEFAULT_SETTINGS, Settings, reads

PUBLISHED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
CREATOR = CreatorIn(external_id="ana", name="Ana Autora", metadata={"tier": "oro"})
SERIES = CollectionIn(external_id="series", creator_external_id="ana", title="La serie",
                      description="Dos entradas")


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


PICTURE = png(12, 7)


def first_post(text: str = "Primer texto del autor.") -> PostIn:
    return PostIn(
        external_id="p1", creator_external_id="ana", title="Primera", text=text,
        html=f"<p>{text}</p>", tags=("uno", "dos"), metadata={"likes": 3},
        published_at=PUBLISHED, collections=(CollectionRef(external_id="series", position=1),),
        media=(MediaIn(key="img-1", filename="cuadro.png", mime_type="image/png", role="image",
                       data=PICTURE),
               MediaIn(key="yt:abc", url="https://www.youtube.com/watch?v=abc", role=EMBED_ROLE,
                       position=1, metadata={"referer": "https://example.org/"})),
    )


SECOND = PostIn(external_id="p0", creator_external_id="ana", title="Segunda",
                text="Otro texto.", collections=(CollectionRef(external_id="series", position=0),),
                media=(MediaIn(key="img-again", filename="copia.png", data=PICTURE),))


@pytest.fixture
def alejandria_settings_overrides() -> dict[str, object]:
    """This module's archives download no embedded video (yt-dlp on a made-up one)."""
    return {"download_embeds": False}


@pytest.fixture
def synced(archive: Archive, memory_source: Any) -> Archive:
    """An archive holding one creator, one collection of two posts (one file shared), an
    embedded video and a cursor."""
    memory_source.content["feed"] = [CREATOR, SERIES, first_post(), SECOND,
                                     Checkpoint(cursor={"page": 2})]
    report = archive.sync("memory", "feed")
    assert report.ok, report.errors
    return archive


# -- the settings override ------------------------------------------------------------------


class TestDefaults:
    @pytest.fixture
    def alejandria_settings_overrides(self) -> dict[str, object]:
        return {}

    def test_the_archive_uses_the_kit_defaults(self, archive: Archive,
                                               alejandria_settings: Settings,
                                               alejandria_database_url: str,
                                               tmp_path: Path) -> None:
        assert DEFAULT_SETTINGS == {"embed_after_sync": False, "embedded_linger_s": 0}
        assert archive.settings.embed_after_sync is False
        assert archive.settings.embedded_linger_s == 0
        assert archive.settings.process_media is True  # Settings' own default, not overridden
        assert archive.settings.data_dir == (tmp_path / "data").resolve()
        assert archive.settings.database_url is not None
        assert archive.settings.database_url.get_secret_value() == alejandria_database_url
        assert alejandria_settings.database_url is None  # no database without ``archive``


def test_by_default_stored_images_are_probed(synced: Archive) -> None:
    (image,) = reads.media_files(synced)
    assert (image.width, image.height) == (12, 7)


class TestOverriddenSettings:
    @pytest.fixture
    def alejandria_settings_overrides(self) -> dict[str, object]:
        return {"process_media": False, "download_embeds": False,
                "search_languages": "english"}

    def test_the_override_is_merged_over_the_defaults(self, archive: Archive) -> None:
        settings = archive.settings
        assert (settings.process_media, settings.download_embeds) == (False, False)
        assert settings.search_languages == ["english"]  # validated like the environment's
        assert settings.embed_after_sync is False  # the kit's default stays

    def test_the_archive_behaves_as_overridden(self, synced: Archive) -> None:
        (image,) = reads.media_files(synced)
        assert (image.width, image.height) == (None, None)  # not probed: process_media off
        (embed,) = reads.embeds(synced)
        assert (embed.status, embed.attempts) == ("pending", 0)  # not downloaded

    def test_open_archive_opens_another_on_the_same_database(self, synced: Archive,
                                                             open_archive: Any) -> None:
        other = open_archive(process_media=True)

        assert other.settings.process_media is True
        assert other.settings.download_embeds is False
        assert other.settings.data_dir == synced.settings.data_dir
        assert reads.posts(other) == reads.posts(synced)
        report = other.process_media()
        assert report.failed == [] and report.by_processor["probe"] == 1
        (image,) = reads.media_files(synced)
        assert (image.width, image.height) == (12, 7)

    def test_the_cli_gets_the_same_database_data_dir_and_overrides(
            self, alejandria_cli_env: dict[str, str], alejandria_database_url: str,
            alejandria_settings: Settings) -> None:
        env = alejandria_cli_env
        assert env["ALEJANDRIA_DATABASE_URL"] == alejandria_database_url
        assert env["ALEJANDRIA_DATA_DIR"] == str(alejandria_settings.data_dir)
        assert env["ALEJANDRIA_PROCESS_MEDIA"] == "false"
        assert env["ALEJANDRIA_DOWNLOAD_EMBEDS"] == "false"
        assert env["ALEJANDRIA_EMBED_AFTER_SYNC"] == "false"
        assert env["ALEJANDRIA_SEARCH_LANGUAGES"] == "english"
        assert env["PATH"] == os.environ["PATH"]

    def test_the_cli_runs_on_the_test_database(self, synced: Archive,
                                               alejandria_cli: Any) -> None:
        stats = alejandria_cli("stats", "--json")

        assert stats.returncode == 0, stats.stderr
        assert stats.json()["posts"] == 2


# -- the read helpers -------------------------------------------------------------------------


def test_posts_with_their_creator_and_collections(synced: Archive) -> None:
    first, second = reads.posts(synced)

    assert (first.source, first.external_id, first.title) == ("memory", "p1", "Primera")
    assert first.content_text == "Primer texto del autor."
    assert first.content_html == "<p>Primer texto del autor.</p>"
    assert first.tags == ("uno", "dos") and first.metadata == {"likes": 3}
    assert (first.published_at, first.edited_at) == (PUBLISHED, None)
    assert first.has_text and len(first.content_hash) == 64
    assert (first.creator, first.creator_name) == ("ana", "Ana Autora")
    assert first.collections == (reads.Membership("series", 1),)
    assert second.external_id == "p0" and second.id > first.id  # write order
    assert reads.post(synced, "p0") == second
    assert reads.posts(synced, source="other") == []


def test_post_names_what_is_missing(synced: Archive) -> None:
    with pytest.raises(LookupError, match="0 posts have the external_id 'nope'"):
        reads.post(synced, "nope")


def test_media_links_and_files(synced: Archive) -> None:
    (link,) = reads.media_links(synced, "p1")
    (copy,) = reads.media_links(synced, "p0")
    (stored,) = reads.media_files(synced)

    assert (link.post, link.key, link.role, link.filename, link.position) == (
        "p1", "img-1", "image", "cuadro.png", 0)
    assert (link.kind, link.mime_type, link.size) == ("image", "image/png", len(PICTURE))
    assert (link.width, link.height) == (12, 7)
    assert copy.sha256 == link.sha256 == stored.sha256  # the same bytes, stored once
    assert synced.media.verify(stored.sha256)
    assert stored.keys == (("memory", "img-1"), ("memory", "img-again"))
    assert reads.media_files(synced, kind="audio") == []
    assert [m.post for m in reads.media_links(synced)] == ["p1", "p0"]


def test_creators_collections_and_chunks(synced: Archive) -> None:
    (creator,) = reads.creators(synced)
    (collection,) = reads.collections(synced, source="memory")

    assert (creator.external_id, creator.name, creator.metadata) == (
        "ana", "Ana Autora", {"tier": "oro"})
    assert (collection.external_id, collection.title, collection.description) == (
        "series", "La serie", "Dos entradas")
    assert collection.creator == "ana"
    assert collection.posts == ("p0", "p1")  # by position, not write order
    assert [chunk.text for chunk in reads.chunks(synced, "p1")] == ["Primer texto del autor."]
    assert {chunk.post for chunk in reads.chunks(synced)} == {"p0", "p1"}


def test_cursors_embeds_and_versions(synced: Archive, memory_source: Any) -> None:
    (cursor,) = reads.sync_cursors(synced)
    (embed,) = reads.embeds(synced)

    assert (cursor.source, cursor.scope, cursor.cursor, cursor.last_error) == (
        "memory", "feed", {"page": 2}, None)
    assert (embed.post, embed.key, embed.url, embed.referer, embed.status) == (
        "p1", "yt:abc", "https://www.youtube.com/watch?v=abc", "https://example.org/", "pending")
    assert reads.post_versions(synced) == []

    memory_source.content["feed"] = [CREATOR, SERIES, first_post("Texto corregido."),
                                     Checkpoint(cursor={"page": 3})]
    assert synced.sync("memory", "feed").ok

    (version,) = reads.post_versions(synced, "p1")
    assert (version.post, version.title, version.content_text) == (
        "p1", "Primera", "Primer texto del autor.")
    assert reads.post(synced, "p1").content_text == "Texto corregido."
    (moved,) = reads.sync_cursors(synced, source="memory")
    assert moved.cursor == {"page": 3} and moved.updated_at > cursor.updated_at


class LinesExtractor:
    """One passage per non-empty line of a text file, its line number as the page."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def availability(self) -> Availability:
        return Availability.yes()

    def extract(self, path: Path, media: dict[str, Any]) -> list[ChunkIn]:
        lines = enumerate(path.read_text().splitlines(), start=1)
        return [ChunkIn(text=line, page=number) for number, line in lines if line]


class LinesPlugin:
    @hookimpl
    def register_extractors(self) -> list[ExtractorSpec]:
        return [ExtractorSpec(name="lines", mime_types=frozenset({"text/plain"}),
                              factory=LinesExtractor)]


def test_what_processors_and_extractors_made_of_a_file(archive: Archive, memory_source: Any,
                                                       register_plugin: Any) -> None:
    register_plugin(LinesPlugin(), name="lines-test")
    notes = MediaIn(key="notes", filename="notas.txt", mime_type="text/plain",
                    data=b"Primera linea\n\nSegunda linea\n")
    memory_source.content["docs"] = [
        CREATOR, PostIn(external_id="d1", creator_external_id="ana", title="Notas",
                        media=(notes,)), Checkpoint()]

    assert archive.sync("memory", "docs").ok

    (stored,) = reads.media_files(archive)
    assert [(p.sha256, p.ordinal, p.page, p.text) for p in reads.passages(archive)] == [
        (stored.sha256, 0, 1, "Primera linea"), (stored.sha256, 1, 3, "Segunda linea")]
    (extract,) = reads.derivatives(archive, stored.sha256, processor="extract")
    assert (extract.status, extract.error) == ("done", None)
    assert extract.result["extractor"] == "lines" and extract.result["passages"] == 2
    assert "probe" in {d.processor for d in reads.derivatives(archive)}
    assert reads.passages(archive, "0" * 64) == []


def test_credentials_show_field_names_never_values(archive: Archive) -> None:
    CredentialStore(archive.engine, archive.settings.data_dir).set(
        "memory", {"token": "s3cret-value", "user": "ana"}, account="work")

    (stored,) = reads.credentials(archive)

    assert (stored.source, stored.account, stored.fields) == ("memory", "work", ("token", "user"))
    assert b"s3cret-value" not in stored.ciphertext and stored.ciphertext
    assert "s3cret" not in repr(stored) and "ciphertext" not in repr(stored)


def test_table_counts(synced: Archive) -> None:
    counts = reads.table_counts(synced)

    assert set(counts) == set(reads.CONTENT_TABLES)
    assert (counts["posts"], counts["post_media"], counts["media_files"]) == (2, 2, 1)
    assert (counts["media_keys"], counts["media_embeds"], counts["post_versions"]) == (2, 1, 0)
    assert counts["media_derivatives"] > 0 and counts["media_passages"] == 0
    assert reads.table_counts(synced, "creators", "jobs") == {"creators": 1, "jobs": 0}
    assert reads.count(synced, "collections") == 1
    with pytest.raises(ValueError, match="no table named 'postss'"):
        reads.count(synced, "postss")


def test_jobs_come_from_the_archive(synced: Archive) -> None:
    job_id = synced.submit("process_media")

    (job,) = synced.jobs.list()
    assert (job.id, job.job_type, job.status) == (job_id, "process_media", "completed")


# -- markers ----------------------------------------------------------------------------------


def test_the_markers_are_registered(pytestconfig: pytest.Config) -> None:
    registered = {line.split(":")[0] for line in pytestconfig.getini("markers")}
    assert {"slow", "needs_redis", "needs_model"} <= registered


def test_a_test_using_redis_is_marked_needs_redis(request: pytest.FixtureRequest,
                                                  alejandria_redis_url: str) -> None:
    assert request.node.get_closest_marker("needs_redis") is not None


def test_a_test_without_redis_is_not(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("needs_redis") is None


SAMPLE_TESTS = '''
import pytest

@pytest.mark.slow
def test_slow(): pass

@pytest.mark.needs_model
def test_model(): pass

def test_redis(alejandria_redis_url): pass

def test_quick(): pass
'''


def test_a_plugin_project_gets_the_markers_and_can_deselect_them(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\n")
    (tmp_path / "test_sample.py").write_text(SAMPLE_TESTS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
         "-m", "not slow and not needs_model and not needs_redis"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_sample.py::test_quick" in done.stdout
    assert "1/4 tests collected (3 deselected)" in done.stdout


# -- Redis ------------------------------------------------------------------------------------

REDIS_TESTS = '''
import redis

def test_uses_redis(alejandria_redis_url):
    client = redis.Redis.from_url(alejandria_redis_url)
    client.set("mine", "1")
    assert client.dbsize() == 1
    print("URL", alejandria_redis_url)
'''


def test_the_kit_never_touches_the_machines_redis(tmp_path: Path) -> None:
    """A key in every database of the machine's Redis (127.0.0.1:6379, where the kit used to
    flush a random database) survives a test run of the kit, which starts its own server."""
    import uuid

    import redis

    machine = "redis://127.0.0.1:6379"
    try:
        redis.Redis.from_url(machine).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379 to prove it with")
    key = f"alejandria-kit-test-{uuid.uuid4().hex}"
    clients = [redis.Redis.from_url(f"{machine}/{number}") for number in range(16)]
    try:
        for number, client in enumerate(clients):
            client.set(key, number, ex=600)
        (tmp_path / "test_redis.py").write_text(REDIS_TESTS)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PYTEST_") and k != "ALEJANDRIA_TEST_REDIS_URL"}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

        assert done.returncode == 0, done.stdout + done.stderr
        assert "URL redis://127.0.0.1:" in done.stdout
        assert f"URL {machine}/" not in done.stdout
        assert [client.get(key) for client in clients] == [str(n).encode() for n in range(16)]
    finally:
        for client in clients:
            client.delete(key)
            client.close()


def test_a_named_test_redis_is_the_only_database_flushed() -> None:
    from alejandria.testing.redis_server import named_redis

    named = named_redis("redis://10.0.0.5:6380/4")
    assert (named.base_url, named.fixed_database) == ("redis://10.0.0.5:6380", 4)
    plain = named_redis("redis://10.0.0.5:6380")
    assert (plain.base_url, plain.fixed_database) == ("redis://10.0.0.5:6380", 0)


def test_a_private_redis_stops_and_leaves_nothing_behind() -> None:
    from alejandria.testing.redis_server import PrivateRedis, _answers

    server = PrivateRedis.start()
    assert _answers(server.port)
    server.stop()
    assert not _answers(server.port)
    assert not server.folder.exists()


CONTRACT_WITHOUT_ENTRY_POINT = '''
import pytest
from alejandria import hookimpl
from alejandria.models import Checkpoint, CreatorIn, PostIn, SyncTarget
from alejandria.plugin_types import BaseSource, SourceSpec
from alejandria.testing.contracts import SourceContract


class Feed(BaseSource):
    def __init__(self, context):
        pass

    def resolve(self, targets):
        for target in targets:
            yield SyncTarget(scope=target, label=target, locator=target)

    def fetch(self, target, cursor):
        yield CreatorIn(external_id="c", name="C")
        yield PostIn(external_id="p", creator_external_id="c", title="T", content_text="x")
        yield Checkpoint()


class Plugin:
    @hookimpl
    def register_sources(self):
        return [SourceSpec(name="feed", factory=Feed)]


class TestFeedContract(SourceContract):
    source_name = "feed"

    @pytest.fixture
    def contract_targets(self, register_plugin):
        register_plugin(Plugin(), name="feed")  # the fallback that used to hide it
        return ["one"]
'''


@pytest.mark.slow
def test_the_contract_names_a_missing_entry_point(tmp_path: Path) -> None:
    (tmp_path / "test_feed.py").write_text(CONTRACT_WITHOUT_ENTRY_POINT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x",
         "-k", "entry_point"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "registered by the test, not from an installed entry point" in done.stdout
    assert "StopIteration" not in done.stdout

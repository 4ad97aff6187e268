"""Every hook's example in docs/plugins.md is a working plugin, not pseudo-code.

For each hookspec, the Python example of its section in docs/plugins.md (the code block that
defines the hook) is executed as a plugin module, registered on a real archive, and checked
for what the section promises. A hookspec without a section, without an example, or without a
runner here fails, so a new hook cannot ship with an example nobody ran.
"""

from __future__ import annotations

import array
import inspect
import io
import logging
import re
import shutil
import sys
import textwrap
import wave
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import inspect as inspect_database
from sqlalchemy import text

from alejandria import hookimpl, hookspecs
from alejandria.api import Archive
from alejandria.errors import ConfigurationError, DatabaseUnavailable
from alejandria.models import Checkpoint, CreatorIn, MediaIn, PostIn
from alejandria.plugin_types import HealthResult, SourceSpec
from alejandria.plugins import PluginManager
from alejandria.settings import Settings
from alejandria.testing import require, source_context

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "plugins.md"
NOTES_SRC = ROOT / "examples" / "plugin-notes" / "src"

#: Every hook core declares (pluggy marks each hookspec with ``alejandria_spec``).
HOOK_NAMES = sorted(name for name, value in vars(hookspecs).items()
                    if hasattr(value, f"{hookspecs.PROJECT_NAME}_spec"))

#: Examples that reveal a bug in core: run, expected to fail until core is fixed.
KNOWN_BUGS: dict[str, str] = {}


# --- reading the docs ---------------------------------------------------------------------


def hook_section(hook_name: str) -> str:
    """The text of the ``### `hook_name(...)` `` section of docs/plugins.md."""
    match = re.search(rf"^### `{hook_name}\(.*?$(.*?)(?=^##)", DOCS.read_text(), re.M | re.S)
    if match is None:
        pytest.fail(f"docs/plugins.md has no section '### `{hook_name}(...)`'")
    return match.group(1)


def documented_example(hook_name: str) -> str:
    """The one Python block of the hook's section that implements the hook."""
    blocks = re.findall(r"^```python\n(.*?)^```", hook_section(hook_name), re.M | re.S)
    examples = [block for block in blocks if re.search(rf"^def {hook_name}\(", block, re.M)]
    if len(examples) != 1:
        pytest.fail(f"the {hook_name} section of docs/plugins.md needs exactly one Python "
                    f"example that defines the hook (found {len(examples)})")
    return str(examples[0])


def load_example(hook_name: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The example executed as a plugin module, as if it were ``folder/plugin.py``."""
    folder.mkdir(parents=True, exist_ok=True)
    module = ModuleType(f"docs_example_{hook_name}")
    module.__file__ = str(folder / "plugin.py")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # pydantic resolves annotations
    exec(compile(documented_example(hook_name), f"<docs/plugins.md: {hook_name}>", "exec"),
         module.__dict__)
    return module


# --- the test -----------------------------------------------------------------------------

Runner = Callable[..., None]
RUNNERS: dict[str, Runner] = {}


def runs(hook_name: str) -> Callable[[Runner], Runner]:
    """Register the function that runs ``hook_name``'s example. Its parameters are fixtures,
    and ``example``: the loaded example module."""

    def register(runner: Runner) -> Runner:
        RUNNERS[hook_name] = runner
        return runner

    return register


@pytest.mark.parametrize("hook_name", [
    pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN_BUGS[name], strict=True))
    if name in KNOWN_BUGS else name for name in HOOK_NAMES])
def test_the_documented_example_does_what_its_section_says(
        hook_name: str, request: pytest.FixtureRequest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    documented_example(hook_name)
    runner = RUNNERS.get(hook_name)
    if runner is None:
        pytest.fail(f"nothing runs the {hook_name} example of docs/plugins.md: add a runner "
                    f"to {Path(__file__).name} that registers it and checks what it promises")
    example = load_example(hook_name, tmp_path / "example", monkeypatch)
    fixtures = {name: example if name == "example" else request.getfixturevalue(name)
                for name in inspect.signature(runner).parameters}
    runner(**fixtures)


def test_every_hook_has_a_runner_and_every_runner_a_hook() -> None:
    assert sorted(RUNNERS) == HOOK_NAMES


def test_a_section_without_a_runnable_example_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """The guard itself: a section whose example does not define the hook fails the test."""
    docs = tmp_path / "plugins.md"
    docs.write_text("### `startup(archive: Archive) -> None`\n\n```python\nprint('hi')\n```\n"
                    "\n## Testing your plugin\n")
    monkeypatch.setattr(sys.modules[__name__], "DOCS", docs)
    with pytest.raises(pytest.fail.Exception, match="exactly one Python example"):
        documented_example("startup")
    with pytest.raises(pytest.fail.Exception, match="no section"):
        documented_example("shutdown")


def test_add_hookspecs_example_adds_a_hook_plugins_implement() -> None:
    """The "Hooks of your own" example of the hook reference."""
    intro = DOCS.read_text().split("## Hook reference", 1)[1].split("\n### ", 1)[0]
    [block] = [b for b in re.findall(r"^```python\n(.*?)^```", intro, re.M | re.S)
               if "add_hookspecs" in b]
    namespace: dict[str, Any] = {"__name__": "docs_example_add_hookspecs"}
    exec(compile(block, "<docs/plugins.md: add_hookspecs>", "exec"), namespace)
    manager: PluginManager = namespace["manager"]

    class Blog:
        @hookimpl
        def register_pages(self) -> list[str]:
            return ["/blog", "/blog/feed"]

    manager.register(Blog(), "blog")

    assert namespace["pages"] == []  # no plugin implemented it when the example ran
    assert [path for paths in manager.hook.register_pages() for path in paths] == [
        "/blog", "/blog/feed"]


# --- helpers for the runners --------------------------------------------------------------


def post(external_id: str, title: str, body: str = "", *media: MediaIn) -> PostIn:
    return PostIn(external_id=external_id, creator_external_id="ana", title=title,
                  text=body or title, media=media)


def items(*posts: PostIn) -> list[Any]:
    return [CreatorIn(external_id="ana", name="Ana"), *posts, Checkpoint()]


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return buffer.getvalue()


def wav_bytes(loud_seconds: set[int], seconds: int = 3) -> bytes:
    """16 kHz mono 16-bit: silence, except a square wave in ``loud_seconds``."""
    rate = 16000
    samples = array.array("h")
    for second in range(seconds):
        amplitude = 12000 if second in loud_seconds else 0
        samples.extend((amplitude if (n // 40) % 2 else -amplitude) for n in range(rate))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def own_archive(url: str, data_dir: Path, plugins: PluginManager, **settings: Any) -> Archive:
    """An archive opened after the test registered its plugin (so registration-time work,
    plugin settings and ``startup``, sees it)."""
    return Archive.open(settings=Settings(data_dir=data_dir, database_url=url,
                                          embed_after_sync=False, **settings),
                        plugins=plugins, migrate=False)


# --- registration hooks -------------------------------------------------------------------


@runs("register_sources")
def notes_source_archives_a_folder_once(example: ModuleType, archive: Archive,
                                        plugin_manager: PluginManager,
                                        register_plugin: Callable[..., None],
                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.syspath_prepend(str(NOTES_SRC))  # the factory imports alejandria_notes.source
    installed = plugin_manager.sources().get("notes")
    if installed is not None:  # alejandria-notes is pip-installed: the example replaces it
        plugin_manager.unregister(installed.plugin)
    register_plugin(example, name="notes-example")
    folder = tmp_path / "garden"
    folder.mkdir()
    (folder / "tomatoes.md").write_text("# Growing tomatoes\n\nWater them every morning.\n")

    first = archive.sync("notes", folder)
    again = archive.sync("notes", folder)

    assert first.ok and first.posts_written == 1
    assert again.ok and again.writes == 0
    assert [hit.title for hit in archive.search("tomatoes")] == ["Growing tomatoes"]


@runs("register_processors")
def size_processor_records_the_size_of_images(example: ModuleType, archive: Archive,
                                              register_plugin: Callable[..., None],
                                              memory_source: Any) -> None:
    register_plugin(example, name="size-example")
    image = png_bytes()
    memory_source.content["t"] = items(post(
        "p1", "Red dot",
        "", MediaIn(key="dot", filename="dot.png", data=image),
        MediaIn(key="zip", filename="empty.zip", data=b"PK\x05\x06" + bytes(18))))

    report = archive.sync("memory", "t")

    assert report.ok and report.media_processed > 0, report.notices
    with archive.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT m.kind, d.status, d.result FROM media_derivatives d "
            "JOIN media_files m ON m.id = d.media_id WHERE d.processor = 'size' "
            "ORDER BY m.kind")).all()
    assert [tuple(row) for row in rows] == [
        ("image", "done", {"bytes": len(image)}),
        ("other", "skipped", {}),  # not a kind it accepts: recorded, never processed
    ]


@runs("register_search_backends")
def title_prefix_backend_is_a_search_mode(example: ModuleType, archive: Archive,
                                          register_plugin: Callable[..., None],
                                          memory_source: Any) -> None:
    register_plugin(example, name="prefix-example")
    memory_source.content["t"] = items(post("a", "Apple pie"), post("b", "Apricot jam"),
                                       post("c", "Banana bread"), post("d", "100% apricot"))
    assert archive.sync("memory", "t").ok

    def titles(query: str, **filters: Any) -> list[str]:
        return [hit.title for hit in archive.search(query, mode="prefix", **filters)]

    assert titles("ap") == ["Apple pie", "Apricot jam"]
    assert titles("ap", limit=1, offset=1) == ["Apricot jam"]
    assert titles("1%") == []  # % is a character here, not a LIKE wildcard
    assert titles("100%") == ["100% apricot"]
    assert titles("ap", source="pdf") == []  # the source filter is honoured
    assert {hit.mode for hit in archive.search("ap", mode="prefix")} == {"prefix"}


@runs("register_embedders")
def vowels_embedder_serves_semantic_search(example: ModuleType, archive: Archive,
                                           register_plugin: Callable[..., None],
                                           memory_source: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    if not archive.capabilities().vector_installed:
        pytest.skip("this Postgres has no pgvector")
    register_plugin(example, name="vowels-example")
    monkeypatch.setattr(archive.settings, "embedder", "vowels")
    monkeypatch.setattr(archive.settings, "embed_after_sync", True)
    memory_source.content["t"] = items(post("a", "aaaa", "aaaa aaaa"),
                                       post("u", "uuuu", "uuuu uuuu"))

    report = archive.sync("memory", "t")

    assert report.chunks_embedded == 2  # embedded right after the sync
    assert archive.embed_status()["model"] == "vowels-v1"
    assert [hit.title for hit in archive.search("u u u", mode="semantic")] == ["uuuu", "aaaa"]


@runs("register_transcribers")
def loudness_transcriber_points_at_the_loud_second(example: ModuleType, archive: Archive,
                                                   register_plugin: Callable[..., None],
                                                   memory_source: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    require(shutil.which("ffmpeg") is not None, "needs ffmpeg (apt-get install ffmpeg)")
    register_plugin(example, name="loudness-example")
    monkeypatch.setattr(archive.settings, "transcriber", "loudness")
    monkeypatch.setattr(archive.settings, "process_media", True)
    memory_source.content["t"] = items(post(
        "ep1", "Episode one", "", MediaIn(key="ep1", filename="ep1.wav",
                                          data=wav_bytes(loud_seconds={1}))))

    report = archive.sync("memory", "t")

    assert report.ok and not report.notices, report.notices
    [hit] = archive.search("noise", mode="transcripts")
    assert (hit.title, hit.start_s) == ("Episode one", 1.0)


@runs("register_migrations")
def migrations_give_the_plugin_its_own_tables(example: ModuleType, plugin_manager: PluginManager,
                                              register_plugin: Callable[..., None],
                                              alejandria_database_url: str,
                                              tmp_path: Path) -> None:
    versions = Path(example.__file__ or "").parent / "migrations"
    versions.mkdir()
    (versions / "m0001_bookmarks.py").write_text(textwrap.dedent('''
        import sqlalchemy as sa
        from alembic import op

        revision = "m0001"
        down_revision = None
        branch_labels = ("myplugin",)
        depends_on = None


        def upgrade():
            op.create_table("myplugin_bookmarks",
                            sa.Column("id", sa.Integer, primary_key=True),
                            sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id")))
    '''))
    register_plugin(example, name="myplugin")

    # an external database is not migrated by opening it: users run `alejandria db upgrade`
    with pytest.raises(DatabaseUnavailable, match="alejandria db upgrade"):
        own_archive(alejandria_database_url, tmp_path / "data", plugin_manager)
    with Archive.open(settings=Settings(data_dir=tmp_path / "data",
                                        database_url=alejandria_database_url),
                      plugins=plugin_manager, migrate=True) as archive:
        tables = inspect_database(archive.engine).get_table_names()
        with archive.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version_myplugin"))
            assert version.scalar_one() == "m0001"
    assert "myplugin_bookmarks" in tables
    own_archive(alejandria_database_url, tmp_path / "data", plugin_manager).close()  # up to date


@runs("register_settings")
def settings_come_from_the_environment_and_options(example: ModuleType,
                                                   plugin_manager: PluginManager,
                                                   register_plugin: Callable[..., None],
                                                   alejandria_database_url: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    class PagedSourcePlugin:
        @hookimpl
        def register_sources(self) -> list[SourceSpec]:
            return [SourceSpec(name="paged", factory=example.PagedSource)]

    settings_model = example.PagedSettings
    register_plugin(example, name="paged-example")
    register_plugin(PagedSourcePlugin(), name="paged-source")
    monkeypatch.setenv("ALEJANDRIA_PAGED_PAGE_SIZE", "50")

    with own_archive(alejandria_database_url, tmp_path / "data", plugin_manager) as archive:
        # read once, when the archive opened
        assert archive.context.plugin_settings[settings_model].page_size == 50
        monkeypatch.setenv("ALEJANDRIA_PAGED_PAGE_SIZE", "70")
        assert archive.source("paged").settings.page_size == 50
        # -o options are validated by the same model, on top of the environment
        paged = archive.source("paged", options={"verbose": "yes"})
        assert (paged.settings.page_size, paged.settings.verbose) == (50, True)
        with pytest.raises(ConfigurationError,
                           match="paged: option pagesize: no such option"):
            archive.sync("paged", "anything", options={"pagesize": 10})
        with pytest.raises(ConfigurationError, match="option page_size: Input should be"):
            archive.source("paged", options={"page_size": "many"})

    # what the testing kit gives a source's own tests
    context = source_context(plugin_manager, Settings(data_dir=tmp_path / "data"),
                             options={"page_size": 5})
    assert example.PagedSource(context).settings.page_size == 5

    # a bad value in the environment stops the archive from opening, naming the variable
    monkeypatch.setenv("ALEJANDRIA_PAGED_PAGE_SIZE", "many")
    with pytest.raises(ConfigurationError, match="ALEJANDRIA_PAGED_PAGE_SIZE: Input should be"):
        own_archive(alejandria_database_url, tmp_path / "data", plugin_manager)


@runs("register_extractors")
def plain_text_attachments_become_searchable(example: ModuleType, archive: Archive,
                                             register_plugin: Callable[..., None],
                                             memory_source: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    register_plugin(example, name="plain-text-example")
    monkeypatch.setattr(archive.settings, "process_media", True)  # extract is a processor
    notes = b"Shopping list\n\nCarrots, leeks and parsnips for the winter soup.\n"
    memory_source.content["t"] = items(post(
        "p1", "Sunday plans", "What to cook on Sunday.",
        MediaIn(key="list", filename="list.txt", mime_type="text/plain", data=notes)))

    report = archive.sync("memory", "t")

    assert report.ok and not report.notices, report.notices
    [hit] = archive.search("parsnips")
    assert hit.title == "Sunday plans"
    # a second post holding the same file is found too, without extracting it again
    memory_source.content["u"] = items(post(
        "p2", "Monday plans", "Leftovers.",
        MediaIn(key="list-again", filename="list.txt", mime_type="text/plain", data=notes)))
    assert archive.sync("memory", "u").ok
    assert sorted(hit.title for hit in archive.search("parsnips")) == [
        "Monday plans", "Sunday plans"]


@runs("register_job_types")
def count_posts_job_runs_inline_and_is_recorded(example: ModuleType, archive: Archive,
                                                register_plugin: Callable[..., None],
                                                memory_source: Any) -> None:
    register_plugin(example, name="count-example")
    memory_source.content["t"] = items(post("a", "One"), post("b", "Two"))
    assert archive.sync("memory", "t").ok
    assert archive.settings.broker_url is None

    job_id = archive.submit("count_posts", {"source": "memory"})

    job = archive.jobs.get(job_id)
    assert job is not None
    assert (job.job_type, job.status, job.queue) == ("count_posts", "completed", "search")
    assert job.result == {"source": "memory", "posts": 2}
    assert (job.progress_current, job.progress_total) == (1, 1)
    with pytest.raises(ConfigurationError, match="count_posts"):
        archive.submit("count_post", {})  # an unknown type lists the known ones


@runs("register_health_checks")
def api_key_check_is_part_of_doctor(example: ModuleType, archive: Archive,
                                    plugin_manager: PluginManager,
                                    register_plugin: Callable[..., None],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from alejandria.ops.doctor import run_checks

    register_plugin(example, name="acme")
    monkeypatch.delenv("ACME_API_KEY", raising=False)

    results = run_checks(archive.settings, plugin_manager)

    assert HealthResult("acme", "warn", "set ACME_API_KEY to sync Acme") in results
    assert {"data dir", "database"} <= {result.name for result in results}  # core's, alike
    monkeypatch.setenv("ACME_API_KEY", "k")
    assert HealthResult("acme", "ok", "API key set") in run_checks(archive.settings,
                                                                   plugin_manager)


@runs("register_media_stores")
def folder_store_keeps_media_in_its_folder(example: ModuleType, archive: Archive,
                                            plugin_manager: PluginManager,
                                            register_plugin: Callable[..., None],
                                            tmp_path: Path) -> None:
    from alejandria.context import open_media_store

    register_plugin(example, name="folder-store")
    settings = archive.settings.model_copy(
        update={"media_url": (tmp_path / "shelf").as_uri().replace("file:", "folder:", 1)})

    store = open_media_store(settings, plugin_manager)
    sha256, size, created = store.put_bytes(b"a blob")

    assert created and size == 6
    assert (tmp_path / "shelf" / sha256[:2] / sha256[2:4] / sha256).read_bytes() == b"a blob"
    assert store.check().startswith("a folder")


# --- commands and events ------------------------------------------------------------------


@runs("register_commands")
def notes_count_command_counts_the_notes(example: ModuleType, archive: Archive,
                                         plugin_manager: PluginManager,
                                         register_plugin: Callable[..., None],
                                         alejandria_database_url: str,
                                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.syspath_prepend(str(NOTES_SRC))
    from alejandria_notes import plugin as notes_plugin

    if "notes" not in plugin_manager.sources():
        register_plugin(notes_plugin, name="notes")
    folder = tmp_path / "notes"
    folder.mkdir()
    for name in ("a.md", "b.md"):
        (folder / name).write_text(f"# {name}\n\nsome text\n")
    assert archive.sync("notes", folder).posts_written == 2
    register_plugin(example, name="notes-count-example")
    group = click.Group("alejandria")

    plugin_manager.register_commands(group)
    monkeypatch.setenv("ALEJANDRIA_DATABASE_URL", alejandria_database_url)
    monkeypatch.setenv("ALEJANDRIA_DATA_DIR", str(archive.settings.data_dir))
    result = CliRunner().invoke(group, ["notes-count"])

    assert (result.exit_code, result.output) == (0, "2 notes\n"), result.output


@runs("startup")
def startup_makes_the_plugin_folder(example: ModuleType, plugin_manager: PluginManager,
                                    register_plugin: Callable[..., None],
                                    alejandria_database_url: str, tmp_path: Path) -> None:
    register_plugin(example, name="myplugin")
    data_dir = tmp_path / "data"

    with own_archive(alejandria_database_url, data_dir, plugin_manager):
        assert (data_dir / "myplugin").is_dir()


@runs("shutdown")
def shutdown_logs_the_database_it_closes(example: ModuleType, plugin_manager: PluginManager,
                                         register_plugin: Callable[..., None],
                                         alejandria_database_url: str, tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    register_plugin(example, name="myplugin")
    archive = own_archive(alejandria_database_url, tmp_path / "data", plugin_manager)
    description = archive.database.description

    with caplog.at_level(logging.INFO, logger="myplugin"):
        assert not [r for r in caplog.records if r.name == "myplugin"]
        archive.close()

    assert [r.getMessage() for r in caplog.records if r.name == "myplugin"] == [
        f"closing {description}"]


@runs("post_stored")
def post_stored_logs_new_posts_only(example: ModuleType, archive: Archive,
                                    register_plugin: Callable[..., None], memory_source: Any,
                                    caplog: pytest.LogCaptureFixture) -> None:
    register_plugin(example, name="myplugin")
    memory_source.content["t"] = items(post("a", "First"))

    with caplog.at_level(logging.INFO, logger="myplugin"):
        archive.sync("memory", "t")
        memory_source.content["t"] = items(post("a", "First, edited"))  # changed, not new
        archive.sync("memory", "t")

    [post_id] = [hit.post_id for hit in archive.search("first")]
    assert [r.getMessage() for r in caplog.records if r.name == "myplugin"] == [
        f"new post {post_id}: First"]


@runs("media_stored")
def media_stored_reports_new_audio_once(example: ModuleType, archive: Archive,
                                        register_plugin: Callable[..., None], memory_source: Any,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    register_plugin(example, name="myplugin")
    monkeypatch.setattr(archive.settings, "process_media", False)  # no transcription here
    audio = wav_bytes(loud_seconds=set(), seconds=1)
    memory_source.content["t"] = items(
        post("a", "Episode", "", MediaIn(key="ep", filename="ep.wav", data=audio)),
        post("b", "Cover", "", MediaIn(key="cover", filename="cover.png", data=png_bytes()),
             MediaIn(key="notes", filename="notes.txt", data=b"not audio either")))
    memory_source.content["u"] = items(  # the same bytes under another key: deduplicated
        post("c", "Episode again", "", MediaIn(key="ep-copy", filename="ep.wav", data=audio)))

    archive.sync("memory", "t")
    archive.sync("memory", "u")

    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("new audio file: ") and line.endswith(f" ({len(audio)} bytes)")
    stored = Path(line.removeprefix("new audio file: ").rsplit(" (", 1)[0])
    assert stored.read_bytes() == audio


@runs("sync_finished")
def sync_finished_reports_failures(example: ModuleType, archive: Archive,
                                   register_plugin: Callable[..., None], memory_source: Any,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    register_plugin(example, name="myplugin")
    memory_source.content["t"] = items(post("a", "Fine"))

    assert archive.sync("memory", "t").ok
    assert capsys.readouterr().out == ""
    report = archive.sync("memory", "t", "missing")  # MemorySource rejects unknown targets

    assert not report.ok
    assert capsys.readouterr().out == "memory: 1 failed\n"

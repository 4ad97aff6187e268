"""The CLI contract scripts rely on: commands, flags, JSON shapes and exit codes."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from alejandria.cli.main import cli
from alejandria.models import Checkpoint, ChunkIn, CreatorIn, MediaIn, PostIn


@pytest.fixture
def run(alejandria_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ALEJANDRIA_DATABASE_URL", alejandria_database_url)
    monkeypatch.setenv("ALEJANDRIA_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.startswith("alejandria ")


def test_stats_json_counts_every_kind(run):
    result = run("stats", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "creators": 0, "collections": 0, "posts": 0, "media_files": 0,
        "transcriptions": 0, "users": 0, "jobs": 0,
    }


def test_plugins_json_lists_core(run):
    result = run("plugins", "--json")
    plugins = {p["name"]: p for p in json.loads(result.output)}
    assert plugins["core"]["builtin"] is True
    assert "register_search_backends" in plugins["core"]["hooks"]
    assert set(plugins["core"]) == {"name", "package", "version", "hooks", "error", "builtin"}


def test_search_json_shape(run, archive, memory_source):
    memory_source.content["t"] = [
        CreatorIn(external_id="lucia", name="Lucía"),
        PostIn(external_id="p", creator_external_id="lucia", title="La carta natal",
               chunks=(ChunkIn(text="Cómo leer la carta natal paso a paso.", page=7),)),
        Checkpoint(),
    ]
    archive.sync("memory", "t")

    result = run("search", "carta natal", "--json", "--mode", "fulltext", "--limit", "5")

    assert result.exit_code == 0
    [hit] = json.loads(result.output)
    assert {"post_id", "source", "creator", "title", "snippet", "score", "page"} <= set(hit)
    assert (hit["source"], hit["creator"], hit["page"]) == ("memory", "Lucía", 7)


def test_search_text_output_and_no_matches(run):
    assert run("search", "nothing here").output.strip() == "no matches"


def test_unknown_source_is_one_clear_line(run):
    result = run("sync", "nosuchsource", "x")
    assert result.exit_code == 2
    assert "error: unknown source 'nosuchsource'" in result.output
    assert "Traceback" not in result.output


def test_unknown_mode_is_one_clear_line(run):
    result = run("search", "x", "--mode", "psychic")
    assert result.exit_code == 2
    assert "unknown search mode 'psychic' (available: auto, " in result.output
    assert "fulltext, hybrid, semantic, transcripts)" in result.output  # installed ones too


def test_doctor_json_reports_each_check(run):
    result = run("doctor", "--json")
    report = json.loads(result.output)
    names = {check["name"] for check in report["checks"]}
    assert {"data dir", "plugins", "database", "schema", "pgvector"} <= names
    assert report["ok"] is (result.exit_code == 0)


def test_doctor_fails_on_an_unreachable_database(run, monkeypatch):
    monkeypatch.setenv("ALEJANDRIA_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = run("doctor", "--json")
    assert result.exit_code == 1
    database = next(c for c in json.loads(result.output)["checks"] if c["name"] == "database")
    assert database["status"] == "fail" and "cannot connect" in database["detail"]


def test_db_upgrade_is_idempotent(run):
    first = run("db", "upgrade")
    second = run("db", "upgrade")
    assert first.exit_code == second.exit_code == 0
    assert "up to date" in second.output


def test_archived_text_cannot_drive_the_terminal(run, archive, memory_source):
    """Titles and snippets come from the sites: escape sequences in them (set the window
    title, clear the screen, a one-character C1 CSI) are never printed raw."""
    hostile = "Carta \x1b]0;pwned\x07natal \x1b[2J\x9b31m\u202egnp.exe"
    memory_source.content["t"] = [
        CreatorIn(external_id="lucia", name="Lucía\x1b[5m"),
        PostIn(external_id="p", creator_external_id="lucia", title=hostile,
               chunks=(ChunkIn(text=f"Cómo leer la carta natal {hostile}"),)),
        Checkpoint(),
    ]
    archive.sync("memory", "t")

    shown = run("search", "carta natal", "--mode", "fulltext").output
    as_json = run("search", "carta natal", "--mode", "fulltext", "--json").output

    assert "carta natal" in shown.lower()
    for control in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert control not in shown and control not in as_json
    [hit] = json.loads(as_json)
    assert hit["title"] == hostile  # JSON escapes them: the data reaches scripts intact


def test_a_date_out_of_range_is_one_clear_line(run):
    for flag, value in (("--before", "0001-01-01"), ("--after", "9999-12-31")):
        result = run("search", "x", flag, value)
        assert "Traceback" not in result.output
        assert result.exit_code in (0, 2) and ("no matches" in result.output
                                               or "date" in result.output)


def test_a_sync_without_a_broker_is_recorded_as_a_job(run, tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)

    assert run("sync", "files", str(folder)).exit_code == 0
    [job] = json.loads(run("jobs", "list", "--json").output)

    assert (job["job_type"], job["status"]) == ("sync", "completed")
    assert job["payload"]["targets"] == [str(folder)] and job["result"]["posts_written"] == 1
    retried = run("jobs", "retry", str(job["id"]))
    assert retried.exit_code == 2
    assert f"job {job['id']} is completed: only a failed or cancelled job" in retried.output


def test_sync_progress_shows_the_posts_of_the_current_target():
    from alejandria.cli.sync import BarRow, progress_rows
    from alejandria.sync.pipeline import ProgressEvent

    def rows(stage, posts=0, expected=None):
        return progress_rows(ProgressEvent(stage, 1, 3, "creator-x", posts=posts,
                                           posts_expected=expected))

    targets = BarRow(1, 3, "1/3", "creator-x")
    assert rows("target") == (targets, None)
    assert rows("posts", 37, 1200) == (targets, BarRow(37, 1200, "37/1,200 posts"))
    assert rows("posts", 0, 120) == (targets, BarRow(0, 120, "0/120 posts"))
    assert rows("posts", 4000) == (targets, BarRow(4000, None, "4,000 posts"))  # no total said
    assert rows("posts", 125, 120)[1] == BarRow(120, 120, "125/120 posts")  # said too few
    assert rows("posts", 1) == (targets, None)  # a target of one file: its target says it
    assert rows("posts", 1, 1) == (targets, None)


def test_sync_progress_rows_on_a_terminal():
    """The callback ``sync`` gives the pipeline, on a Progress drawn nowhere (a test has no
    terminal): a row for the targets, and one for the posts of the current target only."""
    import io

    from rich.console import Console
    from rich.progress import Progress

    from alejandria.cli.sync import SyncBar
    from alejandria.sync.pipeline import ProgressEvent

    with Progress(console=Console(file=io.StringIO()), auto_refresh=False) as bar:
        on_progress = SyncBar(bar, "patreon")

        def shown():
            return [(task.description, task.completed, task.total, task.fields["counter"],
                     task.fields["label"]) for task in bar.tasks if task.visible]

        on_progress(ProgressEvent("resolved", 0, 2))
        on_progress(ProgressEvent("target", 0, 2, "creator-x [nsfw]"))
        assert shown() == [("sync patreon", 0, 2, "0/2", "creator-x \\[nsfw]")]
        on_progress(ProgressEvent("posts", 0, 2, "creator-x [nsfw]", posts=37,
                                  posts_expected=120))
        assert shown()[1] == ("  posts", 37, 120, "37/120 posts", "")
        on_progress(ProgressEvent("target", 1, 2, "creator-y"))
        assert shown() == [("sync patreon", 1, 2, "1/2", "creator-y")]
        on_progress(ProgressEvent("posts", 1, 2, "creator-y", posts=5))
        assert shown()[1] == ("  posts", 5, None, "5 posts", "")  # a new row: no total


def test_sync_help_lists_the_installed_sources(run):
    shown = run("sync", "--help").output
    assert "Sources installed:" in shown
    assert re.search(r"\n  files +Media files you already have", shown)
    assert re.search(r"gumroad --include-archived +also the purchases you archived", shown)
    assert "Sources installed:\n  (unknown)" not in shown


def test_a_query_without_words_finds_nothing_and_says_why(run, archive, memory_source):
    memory_source.content["t"] = [
        CreatorIn(external_id="lucia", name="Lucía"),
        PostIn(external_id="p", creator_external_id="lucia", title="La carta natal",
               chunks=(ChunkIn(text="Cómo leer la carta natal paso a paso."),)),
        Checkpoint(),
    ]
    archive.sync("memory", "t")

    for mode in ("auto", "hybrid", "fulltext", "semantic"):
        assert archive.search("' -- ¿?", mode=mode) == []
    shown = run("search", "'").output
    assert shown.strip() == "no matches: the query has no words to search for (letters or digits)"


def test_transcript_of_a_media_id_that_does_not_exist(run, archive, memory_source):
    memory_source.blobs = {"img": b"\x89PNG\r\n\x1a\n" + b"\x00" * 16}
    memory_source.content["t"] = [
        CreatorIn(external_id="lucia", name="Lucía"),
        PostIn(external_id="p", creator_external_id="lucia", title="Con imagen",
               media=(MediaIn(key="img", filename="a.png"),)),
        Checkpoint(),
    ]
    archive.sync("memory", "t")
    with archive.engine.connect() as conn:
        media_id = conn.exec_driver_sql("SELECT id FROM media_files").scalar_one()

    missing = run("media", "transcript", str(media_id + 999))
    untranscribed = run("media", "transcript", str(media_id))

    assert missing.exit_code == 2 and f"no media file {media_id + 999}" in missing.output
    assert untranscribed.exit_code == 1 and "has no transcript yet" in untranscribed.output


def test_plugins_piped_are_whole_lines(run):
    lines = run("plugins").output.splitlines()
    assert lines[0] == "plugin\tpackage\tversion\thooks\tstatus"
    core = next(line.split("\t") for line in lines if line.startswith("core\t"))
    assert "register_search_backends" in core[3].split(",") and core[4] == "ok"

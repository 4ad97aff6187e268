"""The index as derived data: kept current with every write, rebuilt when it cannot be
trusted, one writer at a time, and never an answer that misses what the database holds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from alejandria.api import Archive
from alejandria.models import Checkpoint
from alejandria.testing.memory import memory_plugin
from alejandria_search_tantivy import index as index_module
from alejandria_search_tantivy.index import WRITER_LOCK
from alejandria_search_tantivy.service import catch_up, index_of, status
from alejandria_search_tantivy.settings import Bm25Settings

from .conftest import CORPUS, post, titles


def modes(archive: Archive, query: str) -> set[str]:
    return {hit.mode for hit in archive.search(query, mode="bm25")}


def pending(archive: Archive) -> int:
    with archive.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM bm25_pending")).scalar_one())


def resync(archive: Archive, register_plugin: Callable[..., None], items: list[Any],
           name: str) -> None:
    register_plugin(memory_plugin("memory", items), name=name)
    assert archive.sync("memory", "t").ok


def test_first_search_builds_the_index_then_edits_are_seen(
        corpus: Archive, register_plugin: Callable[..., None]):
    assert titles(corpus.search("mercurio", mode="bm25")) == ["Los planetas retrógrados"]
    assert status(corpus).current and status(corpus).pending == 0

    # the post's text changes: the old word is gone from the index, the new one is found
    changed = [item for item in CORPUS if getattr(item, "external_id", "") != "retro"]
    changed.insert(-1, post("retro", "Los planetas retrógrados", "Saturno vuelve."))
    corpus.plugins.unregister("bm25-memory")
    resync(corpus, register_plugin, changed, "bm25-memory-2")
    assert pending(corpus) == 1
    assert corpus.search("mercurio", mode="bm25") == []
    assert titles(corpus.search("saturno", mode="bm25")) == ["Los planetas retrógrados"]
    assert pending(corpus) == 0

    # a deleted post (its chunks cascade) leaves the index with the next search
    with corpus.engine.begin() as conn:
        conn.execute(text("DELETE FROM posts WHERE external_id = 'retro'"))
    assert corpus.search("saturno", mode="bm25") == []


def test_far_behind_postgres_answers_until_caught_up(
        corpus: Archive, bm25_settings: Callable[..., Bm25Settings]):
    bm25_settings(inline_posts=0)
    # nothing built yet and nothing may be done inline: Postgres answers, and the same posts
    assert modes(corpus, "carta") == {"fulltext"}
    assert sorted(titles(corpus.search("carta", mode="bm25"))) == sorted(
        titles(corpus.search("carta", mode="fulltext")))

    report = catch_up(corpus)
    assert (report.rebuilt, report.posts, report.busy) == (True, 7, False)
    assert modes(corpus, "carta") == {"bm25"}


def test_background_thread_catches_up(corpus: Archive,
                                      bm25_settings: Callable[..., Bm25Settings]):
    bm25_settings(inline_posts=0, background=True)
    assert modes(corpus, "natal") == {"fulltext"}
    index_of(corpus.settings).wait_background(60)
    assert modes(corpus, "natal") == {"bm25"}


def test_restored_database_rebuilds_the_index(corpus: Archive):
    corpus.search("carta", mode="bm25")
    # a backup restore brings back an older token (and its own rows): the index is rebuilt
    with corpus.engine.begin() as conn:
        conn.execute(text("UPDATE bm25_state SET token = 'from-a-backup'"))
        conn.execute(text("DELETE FROM posts WHERE external_id = 'natal'"))
        conn.execute(text("DELETE FROM bm25_pending"))  # the backup knew of no change
    found = corpus.search("carta natal", mode="bm25")
    assert "Capítulo 2: La carta natal" not in titles(found)
    assert {hit.mode for hit in found} == {"bm25"}


@pytest.mark.parametrize("damage", ["deleted", "garbage", "other-format"])
def test_damaged_index_folder_is_rebuilt(corpus: Archive, damage: str):
    corpus.search("carta", mode="bm25")
    folder = index_of(corpus.settings).path
    index_module._OPEN.clear()  # as a new process would open it
    if damage == "deleted":
        for entry in folder.iterdir():
            entry.unlink()
        folder.rmdir()
    elif damage == "garbage":
        for entry in folder.iterdir():
            entry.write_bytes(b"\x00not an index")
    else:
        (folder / index_module.STATE_FILE).write_text('{"schema": 0, "token": "x"}')

    assert sorted(titles(corpus.search("carta", mode="bm25"))) == sorted(
        titles(corpus.search("carta", mode="fulltext")))
    assert modes(corpus, "carta") == {"bm25"}


def test_another_writer_means_postgres_answers_and_the_cli_says_so(
        corpus: Archive, alejandria_cli: Callable[..., Any]):
    corpus.search("carta", mode="bm25")
    with corpus.engine.begin() as conn:
        conn.execute(text("UPDATE chunks SET text = text || ' luna' "
                          "WHERE post_id = (SELECT id FROM posts WHERE external_id = 'tagged')"))
    with corpus.engine.connect() as other:
        assert other.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": WRITER_LOCK}).scalar()
        other.commit()
        try:
            found = corpus.search("luna", mode="bm25")
            assert (titles(found), {hit.mode for hit in found}) == (["Notas sueltas"],
                                                                    {"fulltext"})
            result = alejandria_cli("bm25", "catch-up")
            assert result.returncode != 0
            assert "another process is writing the BM25 index" in result.stderr
        finally:
            other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": WRITER_LOCK})
            other.commit()
    assert modes(corpus, "luna") == {"bm25"}


def test_a_write_during_a_catch_up_step_stays_pending(corpus: Archive):
    """The step locks the pending rows it reads; a writer marking one of those posts again
    waits, then marks it anew once the step deleted it: the change is not lost."""
    corpus.search("carta", mode="bm25")
    with corpus.engine.begin() as conn:
        post_id = conn.execute(text("SELECT id FROM posts WHERE external_id = 'tagged'")).scalar()
        conn.execute(text("INSERT INTO bm25_pending (post_id) VALUES (:p)"), {"p": post_id})
    written = threading.Event()

    def write() -> None:
        with corpus.engine.begin() as conn:
            conn.execute(text("UPDATE chunks SET text = 'eclipse' WHERE post_id = :p"),
                         {"p": post_id})
        written.set()

    with corpus.engine.connect() as step:
        step.execute(text("SELECT post_id FROM bm25_pending FOR UPDATE")).all()
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.5)
        assert not written.is_set()  # waiting on the step's lock
        step.execute(text("DELETE FROM bm25_pending WHERE post_id = :p"), {"p": post_id})
        step.commit()
    writer.join(10)
    assert written.is_set() and pending(corpus) == 1
    assert titles(corpus.search("eclipse", mode="bm25")) == ["Notas sueltas"]


def test_each_sync_catches_up_where_bm25_serves(
        open_archive: Callable[..., Archive], register_plugin: Callable[..., None],
        bm25_settings: Callable[..., Bm25Settings]):
    with open_archive(fulltext_backend="bm25") as archive:
        resync(archive, register_plugin, CORPUS, "bm25-memory")
        assert pending(archive) == 0 and status(archive).documents == 8
        archive.plugins.unregister("bm25-memory")
        resync(archive, register_plugin,
               [CORPUS[0], post("new", "Una nota nueva", "Eclipse lunar."), Checkpoint()],
               "bm25-memory-2")
        assert pending(archive) == 0 and status(archive).documents == 9


def test_cli_rebuild_and_status(corpus: Archive, alejandria_cli: Callable[..., Any]):
    assert status(corpus).current is False
    built = alejandria_cli("bm25", "rebuild")
    assert built.returncode == 0, built.stderr
    assert "indexed 7 posts, 8 chunks" in built.stdout and "built from scratch" in built.stdout
    shown = alejandria_cli("bm25", "status", "--json").json()
    assert (shown["current"], shown["pending"], shown["documents"]) == (True, 0, 8)


def test_doctor_says_whether_the_index_is_current(corpus: Archive,
                                                  alejandria_cli: Callable[..., Any]):
    def bm25_line() -> str:
        shown = alejandria_cli("doctor", "--json").json()
        return next(check["detail"] for check in shown["checks"] if check["name"] == "bm25")

    assert "not built for this database yet" in bm25_line()
    corpus.search("carta", mode="bm25")
    assert "8 chunks, up to date" in bm25_line()


def test_a_post_a_writer_holds_is_answered_by_postgres(corpus: Archive):
    """A catch-up skips the pending rows a writer's open transaction holds (SKIP LOCKED): the
    search must not answer from an index that lacks those posts' committed chunks."""
    corpus.search("carta", mode="bm25")
    with corpus.engine.begin() as conn:  # committed: the post now says "eclipse"
        conn.execute(text("UPDATE chunks SET text = 'eclipse' WHERE post_id = "
                          "(SELECT id FROM posts WHERE external_id = 'tagged')"))
    with corpus.engine.connect() as writer:  # a second write, still open, holds the mark
        writer.execute(text("UPDATE chunks SET tags = 'x' WHERE post_id = "
                            "(SELECT id FROM posts WHERE external_id = 'tagged')"))
        found = corpus.search("eclipse", mode="bm25")
        assert (titles(found), {hit.mode for hit in found}) == (["Notas sueltas"],
                                                                {"fulltext"})
        writer.rollback()
    assert modes(corpus, "eclipse") == {"bm25"}


def test_an_index_that_cannot_be_written_leaves_postgres_answering(
        corpus: Archive, monkeypatch: pytest.MonkeyPatch):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index_module.Bm25Index, "catch_up", broken)
    found = corpus.search("carta natal", mode="bm25")
    assert {hit.mode for hit in found} == {"fulltext"}
    assert titles(found) == titles(corpus.search("carta natal", mode="fulltext"))


def test_a_rebuild_that_dies_midway_is_not_trusted(corpus: Archive,
                                                   monkeypatch: pytest.MonkeyPatch):
    corpus.search("carta", mode="bm25")
    index = index_of(corpus.settings)
    real = index_module.Bm25Index._write_state
    calls: list[object] = []

    def dies_second_time(self: Any, state: Any) -> None:
        calls.append(state)
        if len(calls) == 2:  # the index is empty now; the process dies here
            raise OSError(5, "Input/output error")
        real(self, state)

    monkeypatch.setattr(index_module.Bm25Index, "_write_state", dies_second_time)
    with pytest.raises(OSError):
        catch_up(corpus, rebuild=True)
    monkeypatch.setattr(index_module.Bm25Index, "_write_state", real)
    assert status(corpus).current is False  # the emptied index is not served
    assert index.state() is not None and index.state().token.startswith("rebuilding-")
    assert sorted(titles(corpus.search("carta", mode="bm25"))) == sorted(
        titles(corpus.search("carta", mode="fulltext")))

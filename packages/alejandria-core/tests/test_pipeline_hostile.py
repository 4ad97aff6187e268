"""Hostile or broken input costs only itself: one bad file is a notice, not a failed creator;
strings Postgres refuses are made storable; error messages carry no SQL and no secrets; and a
report counts only what was committed."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from alejandria.errors import SourceError, TooLarge, URLRefused
from alejandria.models import Checkpoint, CreatorIn, MediaIn, PostIn
from alejandria.redaction import forget_secrets, remember_secret

CREATOR = CreatorIn(external_id="ana", name="Ana")
FAILURES = {
    "inline": URLRefused("data: is not a web address; the image is not fetched"),
    "private": URLRefused("cdn.example/img.png points at a private address (127.0.0.1)"),
    "short": SourceError("big.bin: the download broke off 6 times; the next sync fetches "
                         "it again"),
    "huge": TooLarge("endless.bin is larger than the limit of 10 MB (max_download_mb)"),
    "bug": ValueError("a plugin bug"),
}


class Blobs(dict[str, bytes]):
    """Files of a post; the keys in ``failing`` fail the way their exception says."""

    failing: dict[str, Exception] = {}

    def __getitem__(self, key: str) -> bytes:
        if key in self.failing:
            raise self.failing[key]
        return super().__getitem__(key)


def _post(external_id: str, title: str, keys: list[str], **extra: object) -> PostIn:
    return PostIn(external_id=external_id, creator_external_id="ana", title=title,
                  text="texto", media=tuple(MediaIn(key=key, filename=f"{key}.bin")
                                            for key in keys), **extra)


@pytest.mark.parametrize("concurrency", [1, 3])
def test_one_bad_file_is_a_notice_and_the_creator_is_archived(archive, memory_source, count,
                                                              concurrency):
    memory_source.media_concurrency = concurrency
    Blobs.failing = dict(FAILURES)
    memory_source.blobs = Blobs({"good1": b"first good file", "good2": b"second good file"})
    memory_source.content["t"] = [
        CREATOR,
        _post("p1", "Con trampas", ["good1", *FAILURES]),
        _post("p2", "Vecino", ["good2"]),
        Checkpoint(),
    ]

    report = archive.sync("memory", "t")

    assert report.errors == [] and report.posts_written == 2 and report.media_stored == 2
    assert count(archive, "posts") == 2 and count(archive, "media_files") == 2
    notices = {notice.subject: notice.message for notice in report.notices}
    assert set(notices) == {f"Con trampas: {key}.bin" for key in FAILURES}
    assert notices["Con trampas: private.bin"].endswith("(not retried)")
    assert "private address" in notices["Con trampas: private.bin"]
    assert notices["Con trampas: huge.bin"].endswith("(retried on the next sync)")
    assert "unexpected error: ValueError: a plugin bug" in notices["Con trampas: bug.bin"]

    # the post missing files is fetched again; once they can be served, they are stored
    Blobs.failing = {}
    memory_source.blobs.update({key: f"bytes of {key}".encode() for key in FAILURES})
    again = archive.sync("memory", "t")
    assert again.ok and again.media_stored == len(FAILURES) and again.posts_unchanged == 1
    assert count(archive, "media_files") == 2 + len(FAILURES)


def test_nul_characters_and_undecodable_names_are_stored_cleaned(archive, memory_source):
    memory_source.blobs = {"f": b"bytes"}
    memory_source.content["t"] = [
        CreatorIn(external_id="ana", name="Ana\x00 Mar\udcf1a"),
        PostIn(external_id="p\x001", creator_external_id="ana", title="Tí\x00tulo",
               text="cuerpo\x00 del post", html="<p>a\x00b</p>", tags=("eti\x00queta",),
               metadata={"nota\x00": ["va\x00lor", {"k": "\udcff"}]},
               media=(MediaIn(key="f", filename="archivo\udce9.pdf"),)),
        Checkpoint(),
    ]

    report = archive.sync("memory", "t")

    assert report.ok and report.posts_written == 1 and report.media_stored == 1
    with archive.engine.connect() as conn:
        row = conn.execute(text(
            "SELECT p.external_id, p.title, p.content_text AS text, p.tags, p.metadata, c.name "
            "FROM posts p JOIN creators c ON c.id = p.creator_id")).one()
        filename = conn.execute(text("SELECT filename FROM post_media")).scalar_one()
    assert (row.external_id, row.title, row.text) == ("p1", "Título", "cuerpo del post")
    assert row.tags == ["etiqueta"] and row.metadata == {"nota": ["valor", {"k": "\ufffd"}]}
    assert row.name == "Ana Mar\ufffda" and filename == "archivo\ufffd.pdf"


def test_database_errors_carry_no_sql_and_secrets_are_redacted(archive, memory_source):
    secret = "session-cookie-4f9a8b7c6d5e"
    remember_secret(f"session_id={secret}; locale=es")
    try:
        memory_source.content["db"] = [
            CREATOR, _post("p1", "Desbordado", [], url="https://cdn.example/x?token=SIGNED"),
            # an integer Postgres cannot hold: the database refuses the write
            PostIn(external_id="p2", creator_external_id="ana", title="Demasiado",
                   media=(MediaIn(key="k", position=2**40, data=b"x"),)),
            Checkpoint()]
        memory_source.content["echo"] = SourceError(
            f"Patreon said: invalid session {secret} for this request")

        report = archive.sync("memory", "db", "echo")
    finally:
        forget_secrets()

    by_target = {error.subject: error.message for error in report.errors}
    database = by_target["db"]
    assert database.startswith("the database refused it: ")
    for leaked in ("INSERT", "SELECT", "[parameters", "SIGNED", "texto"):
        assert leaked not in database
    assert by_target["echo"] == "Patreon said: invalid session [redacted] for this request"
    with archive.engine.connect() as conn:
        stored = conn.execute(text("SELECT last_error FROM sync_cursors")).scalars().all()
    assert stored and all(secret not in error and "INSERT" not in error for error in stored)


def test_a_report_counts_only_what_was_committed(archive, memory_source, count):
    memory_source.blobs = {"a": b"file a", "b": b"file b"}
    memory_source.content["t"] = [
        CREATOR, _post("p1", "Uno", ["a"]), Checkpoint(),
        _post("p2", "Dos", ["b"]), _post("p3", "Tres", []),
        SourceError("page 2: HTTP 502"),
    ]

    report = archive.sync("memory", "t")

    assert not report.ok and "HTTP 502" in report.errors[0].message
    assert (report.creators_written, report.posts_written, report.media_stored) == (1, 1, 1)
    assert count(archive, "posts") == 1

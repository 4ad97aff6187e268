"""An updated post keeps what readers saw before in ``post_versions``."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from alejandria.models import Checkpoint, CreatorIn, PostIn

CREATOR = CreatorIn(external_id="ana", name="Ana")


def post(body: str, *, comments: int = 0, edited: datetime | None = None) -> PostIn:
    return PostIn(external_id="p1", creator_external_id="ana", title="Entrada", text=body,
                  html=f"<p>{body}</p>", edited_at=edited, metadata={"comments": comments})


def versions(archive) -> list[tuple[str, str | None]]:
    with archive.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT content_text, content_html FROM post_versions ORDER BY id"))]


def test_an_edit_keeps_the_previous_version(archive, memory_source) -> None:
    memory_source.content["t"] = [CREATOR, post("primera"), Checkpoint()]
    archive.sync("memory", "t")
    memory_source.content["t"] = [CREATOR, post("segunda", edited=datetime(2024, 2, 1,
                                                                           tzinfo=UTC)),
                                  Checkpoint()]
    archive.sync("memory", "t")
    memory_source.content["t"] = [CREATOR, post("tercera"), Checkpoint()]
    archive.sync("memory", "t")

    assert versions(archive) == [("primera", "<p>primera</p>"), ("segunda", "<p>segunda</p>")]
    with archive.engine.connect() as conn:
        assert conn.execute(text("SELECT content_text FROM posts")).scalar_one() == "tercera"


def test_a_metadata_change_alone_is_not_a_new_version(archive, memory_source) -> None:
    memory_source.content["t"] = [CREATOR, post("igual"), Checkpoint()]
    archive.sync("memory", "t")
    memory_source.content["t"] = [CREATOR, post("igual", comments=3), Checkpoint()]

    report = archive.sync("memory", "t")

    assert report.posts_written == 1
    assert versions(archive) == []


def test_versions_go_with_their_post(archive, memory_source) -> None:
    memory_source.content["t"] = [CREATOR, post("uno"), Checkpoint()]
    archive.sync("memory", "t")
    memory_source.content["t"] = [CREATOR, post("dos"), Checkpoint()]
    archive.sync("memory", "t")
    with archive.engine.begin() as conn:
        conn.execute(text("DELETE FROM posts"))
    assert versions(archive) == []

"""Reading status (built-in and custom labels) and private Markdown notes."""
# ruff: noqa: F811 (the fixtures imported from the helpers are parameters here)

from __future__ import annotations

import pytest
from sqlalchemy import text

from alejandria.accounts.errors import AccountConflict
from alejandria.errors import NotFound

from .accounts_helpers import clock, services  # noqa: F401 (fixtures)
from .personal_helpers import People, people  # noqa: F401 (fixtures)


def _rows(archive) -> int:
    with archive.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM user_post_data")).scalar_one()


def test_status_is_unread_until_set_and_unread_again_leaves_no_row(archive, people: People):
    status, post = people.ana.status, people.posts[0]
    assert status.get(post) == "unread"

    assert status.set(post, "in_progress") == "in_progress"
    assert status.get(post) == "in_progress"
    status.set(post, "completed")
    assert status.get(post) == "completed" and _rows(archive) == 1

    status.clear(post)
    assert status.get(post) == "unread" and _rows(archive) == 0
    status.set(post, "completed")
    status.set(post, "unread")
    assert _rows(archive) == 0
    with pytest.raises(NotFound, match="no post 999999"):
        status.get(999999)


def test_a_custom_label_must_be_defined_and_removing_it_resets_its_posts(people: People):
    status, post = people.ana.status, people.posts[0]
    with pytest.raises(ValueError, match="unknown status 'releer'"):
        status.set(post, "releer")

    status.define("releer")
    status.set(post, "releer")

    assert status.labels() == ["unread", "in_progress", "completed", "releer"]
    assert status.get(post) == "releer"
    assert people.bo.status.labels() == ["unread", "in_progress", "completed"]
    with pytest.raises(AccountConflict):
        status.define("releer")
    with pytest.raises(AccountConflict):
        status.define("completed")
    assert status.undefine("releer") == 1
    assert status.get(post) == "unread"
    with pytest.raises(NotFound, match="no status label 'releer'"):
        status.undefine("releer")


def test_a_label_has_no_slash_since_it_is_a_path_segment_of_its_view(people: People):
    """``/statuses/{label}`` (the page, the API's DELETE) cannot carry a "/": such a label
    could be made but never shown nor removed."""
    with pytest.raises(ValueError, match="/"):
        people.ana.status.define("leer / releer")
    assert people.ana.status.labels() == ["unread", "in_progress", "completed"]


def test_a_note_keeps_its_markdown_and_renders_safe_html(people: People):
    notes, post = people.ana.notes, people.posts[0]
    source = ("# Idea\n\n**Mercurio** rige la *mente*.\n\n<script>alert(1)</script>\n\n"
              "[peligro](javascript:alert(1)) [web](https://example.org)")

    saved = notes.set(post, source)

    assert saved.markdown == source and notes.get(post).markdown == source
    assert "<h1>Idea</h1>" in saved.html and "<strong>Mercurio</strong>" in saved.html
    assert "<script" not in saved.html and "&lt;script&gt;" in saved.html  # shown, not run
    assert 'href="javascript' not in saved.html
    assert 'href="https://example.org"' in saved.html and "noopener" in saved.html


def test_a_note_is_replaced_listed_and_deleted(archive, people: People):
    notes, post = people.ana.notes, people.posts[1]
    with pytest.raises(NotFound, match=f"no note on post {post}"):
        notes.get(post)
    notes.set(post, "primera")
    notes.set(post, "segunda")
    people.ana.status.set(post, "completed")

    assert [(n.markdown, n.title) for n in notes.list()] == [("segunda", "Entrada p2")]
    assert notes.get(post).title is None  # the caller already knows the post
    notes.delete(post)
    assert notes.list() == [] and people.ana.status.get(post) == "completed"
    people.ana.status.clear(post)
    assert _rows(archive) == 0
    with pytest.raises(NotFound, match=f"no note on post {post}"):
        notes.delete(post)
    with pytest.raises(ValueError, match="needs some text"):
        notes.set(post, "   ")

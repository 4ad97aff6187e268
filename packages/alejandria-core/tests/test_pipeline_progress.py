"""The sync's progress: targets as they start, and the posts of the current target, with the
total a source says (``Expect``) or as a count without one, at a bounded rate."""

from __future__ import annotations

import pytest

from alejandria.models import Checkpoint, CreatorIn, Expect, PostIn
from alejandria.sync import pipeline
from alejandria.sync.pipeline import ProgressEvent

CREATOR = CreatorIn(external_id="ana", name="Ana")


def post(external_id: str) -> PostIn:
    return PostIn(external_id=external_id, creator_external_id="ana", title=external_id,
                  text="texto")


def shown(events: list[ProgressEvent]) -> list[tuple[object, ...]]:
    return [(e.stage, e.done, e.total, e.label, e.posts, e.posts_expected) for e in events]


@pytest.fixture
def every_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every change of the posts count is reported (no interval between reports)."""
    monkeypatch.setattr(pipeline, "POST_PROGRESS_INTERVAL_S", 0.0)


@pytest.mark.usefixtures("every_change")
def test_a_source_that_says_how_many_posts_gets_them_counted_against_that(archive,
                                                                         memory_source):
    memory_source.content["t"] = [
        Expect(posts=2), CREATOR, post("p1"), Checkpoint(),
        Expect(posts=3),  # a listing that learns more as it goes
        post("p2"), Checkpoint(), post("p3"), Checkpoint()]
    events: list[ProgressEvent] = []

    assert archive.sync("memory", "t", progress=events.append).ok

    assert shown(events) == [
        ("resolved", 0, 1, "", 0, None),
        ("target", 0, 1, "t", 0, None),
        ("posts", 0, 1, "t", 0, 2),
        ("posts", 0, 1, "t", 1, 2),
        ("posts", 0, 1, "t", 1, 3),
        ("posts", 0, 1, "t", 2, 3),
        ("posts", 0, 1, "t", 3, 3),
        ("done", 1, 1, "", 0, None),
    ]


@pytest.mark.usefixtures("every_change")
def test_a_source_that_says_nothing_gets_a_count_without_total(archive, memory_source):
    memory_source.content["a"] = [CREATOR, post("a1"), post("a2"), Checkpoint(), post("a3"),
                                  Checkpoint()]
    memory_source.content["b"] = [CREATOR, post("b1"), Checkpoint()]
    events: list[ProgressEvent] = []

    archive.sync("memory", "a", "b", progress=events.append)

    assert [e for e in shown(events) if e[0] in ("posts", "target")] == [
        ("target", 0, 2, "a", 0, None),
        ("posts", 0, 2, "a", 2, None),
        ("posts", 0, 2, "a", 3, None),
        ("target", 1, 2, "b", 0, None),
        ("posts", 1, 2, "b", 1, None),
    ]


@pytest.mark.usefixtures("every_change")
def test_posts_found_unchanged_count_too(archive, memory_source):
    memory_source.content["t"] = [Expect(posts=2), CREATOR, post("p1"), post("p2"), Checkpoint()]
    archive.sync("memory", "t")
    events: list[ProgressEvent] = []

    again = archive.sync("memory", "t", progress=events.append)

    assert again.posts_unchanged == 2
    assert [(e.posts, e.posts_expected) for e in events if e.stage == "posts"][-1] == (2, 2)


def test_posts_are_reported_once_per_interval_and_each_targets_last_count_always(
        archive, memory_source, monkeypatch):
    monkeypatch.setattr(pipeline, "POST_PROGRESS_INTERVAL_S", 3600.0)
    parts = [[post(f"p{n}-{i}") for i in range(10)] + [Checkpoint()] for n in range(50)]
    memory_source.content["t"] = [Expect(posts=500), CREATOR,
                                  *(item for part in parts for item in part)]
    memory_source.content["u"] = [CREATOR, post("u1"), Checkpoint()]
    events: list[ProgressEvent] = []

    archive.sync("memory", "t", "u", progress=events.append)

    # the first change is said at once (the total), the rest within the hour only at the end
    assert [(e.label, e.posts, e.posts_expected) for e in events if e.stage == "posts"] == [
        ("t", 0, 500), ("t", 500, 500), ("u", 1, None)]
    assert [e.stage for e in events] == ["resolved", "target", "posts", "posts", "target",
                                         "posts", "done"]


def test_saying_how_many_posts_writes_nothing(archive, memory_source):
    memory_source.content["t"] = [Expect(posts=0)]

    report = archive.sync("memory", "t")

    assert report.ok and report.writes == 0 and report.skipped_unchanged == 1


def test_a_negative_count_is_refused_where_the_source_builds_it():
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Expect(posts=-1)

"""Syncing is idempotent, updates changed content, isolates failures and dedups media."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from alejandria.errors import ItemRejected, RateLimited, SourceAuthError, SourceError
from alejandria.models import (
    Checkpoint,
    CollectionIn,
    CollectionRef,
    CreatorIn,
    MediaIn,
    MediaKind,
    PostIn,
    Prune,
)
from alejandria.testing.contracts import SourceContract

CREATOR = CreatorIn(external_id="ana", name="Ana")
BOOK = CollectionIn(external_id="book", creator_external_id="ana", title="El libro")


def post(external_id: str, title: str, text_: str = "texto", **extra: object) -> PostIn:
    return PostIn(external_id=external_id, creator_external_id="ana", title=title, text=text_,
                  collections=(CollectionRef(external_id="book", position=0),), **extra)


def test_second_sync_of_same_content_writes_nothing(archive, memory_source):
    memory_source.content["t1"] = [CREATOR, BOOK, post("p1", "Uno"), post("p2", "Dos"),
                                   Checkpoint(cursor={"page": 1})]
    first = archive.sync("memory", "t1")
    assert first.ok and first.posts_written == 2 and first.creators_written == 1
    with archive.engine.connect() as conn:
        before = conn.execute(text("SELECT id, updated_at FROM posts ORDER BY id")).all()
        xmin_before = conn.execute(text("SELECT max(xmin::text::bigint) FROM posts")).scalar()

    second = archive.sync("memory", "t1")

    assert second.ok
    assert second.writes == 0 and second.posts_unchanged == 2
    with archive.engine.connect() as conn:
        after = conn.execute(text("SELECT id, updated_at FROM posts ORDER BY id")).all()
        xmin_after = conn.execute(text("SELECT max(xmin::text::bigint) FROM posts")).scalar()
    assert after == before and xmin_after == xmin_before


def test_changed_post_updates_in_place_and_prune_removes_dropped(archive, memory_source):
    memory_source.content["t1"] = [CREATOR, BOOK, post("p1", "Uno"), post("p2", "Dos"),
                                   Checkpoint()]
    archive.sync("memory", "t1")
    with archive.engine.connect() as conn:
        p1_id = conn.execute(text("SELECT id FROM posts WHERE external_id='p1'")).scalar_one()

    memory_source.content["t1"] = [CREATOR, BOOK, post("p1", "Uno", "texto nuevo"),
                                   Prune(collection_external_id="book", keep=("p1",)),
                                   Checkpoint()]
    report = archive.sync("memory", "t1")

    assert report.posts_written == 1 and report.posts_deleted == 1
    with archive.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, content_text FROM posts")).all()
        chunk_text = conn.execute(text("SELECT text FROM chunks")).scalars().all()
    assert [(r.id, r.content_text) for r in rows] == [(p1_id, "texto nuevo")]
    assert chunk_text == ["texto nuevo"]


def test_failed_target_rolls_back_and_others_are_archived(archive, memory_source):
    def broken_items():
        yield CREATOR
        yield post("half", "A medias")
        raise ItemRejected("broken.pdf", "corrupt or unreadable PDF")

    class Lazy(list):
        def __iter__(self):
            return broken_items()

    memory_source.content["bad"] = Lazy()
    memory_source.content["good"] = [CREATOR, post("ok", "Bien"), Checkpoint()]

    report = archive.sync("memory", "bad", "good")

    assert not report.ok
    assert [(e.subject, e.message) for e in report.errors] == [
        ("bad", "corrupt or unreadable PDF")]
    with archive.engine.connect() as conn:
        titles = conn.execute(text("SELECT title FROM posts")).scalars().all()
        last_error = conn.execute(
            text("SELECT last_error FROM sync_cursors WHERE scope='bad'")).scalar_one()
    assert titles == ["Bien"]
    assert last_error == "corrupt or unreadable PDF"


def test_auth_error_stops_the_sync_with_one_message(archive, memory_source, count):
    memory_source.content["a"] = SourceAuthError("session expired: log in again")
    memory_source.content["b"] = [CREATOR, Checkpoint()]

    report = archive.sync("memory", "a", "b")

    assert [e.message for e in report.errors] == ["session expired: log in again"]
    assert count(archive, "creators") == 0


def test_checkpoint_commits_work_before_a_crash(archive, memory_source):
    def items():
        yield CREATOR
        yield post("p1", "Uno")
        yield Checkpoint(cursor={"after": "p1"})
        yield post("p2", "Dos")
        raise RuntimeError("connection reset")

    class Lazy(list):
        def __iter__(self):
            return items()

    memory_source.content["t"] = Lazy()
    report = archive.sync("memory", "t")

    assert "unexpected error: RuntimeError: connection reset" in report.errors[0].message
    with archive.engine.connect() as conn:
        titles = conn.execute(text("SELECT title FROM posts")).scalars().all()
        cursor = conn.execute(text("SELECT cursor FROM sync_cursors")).scalar_one()
    assert titles == ["Uno"]
    assert cursor == {"after": "p1"}


def test_same_bytes_in_two_posts_are_stored_once(archive, memory_source, count):
    image = b"\x89PNG\r\n\x1a\n" + b"pixels" * 1000
    memory_source.blobs = {"k1": image, "k2": image}
    memory_source.content["t"] = [
        CREATOR,
        post("p1", "Uno", media=(MediaIn(key="k1", filename="a.png"),)),
        post("p2", "Dos", media=(MediaIn(key="k2", filename="b.png", kind=MediaKind.IMAGE),)),
        Checkpoint(),
    ]

    report = archive.sync("memory", "t")

    assert report.media_stored == 1 and report.media_reused == 1
    assert count(archive, "media_files") == 1 and count(archive, "post_media") == 2
    files = [p for p in archive.media.root.rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].read_bytes() == image
    with archive.engine.connect() as conn:
        kind, image_count = conn.execute(text(
            "SELECT m.kind, p.image_count FROM media_files m, posts p WHERE p.external_id='p2'"
        )).one()
    assert (kind, image_count) == ("image", 1)


def test_known_media_keys_are_not_fetched_again(archive, memory_source):
    memory_source.blobs = {"k1": b"audio bytes"}
    memory_source.content["t"] = [CREATOR, post("p1", "Uno", media=(MediaIn(key="k1"),)),
                                  Checkpoint()]
    archive.sync("memory", "t")
    memory_source.content["t"] = [CREATOR,
                                  post("p1", "Uno editado", media=(MediaIn(key="k1"),)),
                                  Checkpoint()]

    report = archive.sync("memory", "t")

    assert report.posts_written == 1 and report.media_reused == 1
    assert memory_source.opened == ["k1"]


def test_events_fire_after_commit(archive, memory_source, register_plugin, count):
    from alejandria import hookimpl

    seen: list[tuple[str, bool, int]] = []

    class Listener:
        @hookimpl
        def post_stored(self, archive, post_id, post, created):
            seen.append((post.title, created, count(archive, "posts")))

        @hookimpl
        def sync_finished(self, archive, report):
            raise RuntimeError("a broken listener must not break the sync")

    register_plugin(Listener(), name="listener")
    memory_source.content["t"] = [CREATOR, post("p1", "Uno"), Checkpoint()]

    report = archive.sync("memory", "t")

    assert report.ok
    assert seen == [("Uno", True, 1)]


class TestMemorySourceContract(SourceContract):
    """Core's own test source passes the contract every source plugin must pass."""

    source_name = "memory"
    needs_entry_point = False  # a test double, registered by the memory_source fixture

    @pytest.fixture
    def contract_targets(self, memory_source):
        memory_source.blobs = {"img": b"GIF89a" + b"\x00" * 64}
        memory_source.content["t"] = [
            CREATOR, BOOK,
            post("p1", "Uno", media=(MediaIn(key="img", filename="x.gif"),)),
            Checkpoint(),
        ]
        return ["t"]


def test_a_post_yielded_twice_keeps_its_last_version(archive, memory_source, count):
    memory_source.content["t"] = [CREATOR, post("p1", "Primera"), post("p1", "Segunda"),
                                  Checkpoint()]

    report = archive.sync("memory", "t")

    assert report.ok and count(archive, "posts") == 1
    assert archive.search("segunda")[0].title == "Segunda"


def test_many_posts_are_written_in_batches_across_checkpoints(archive, memory_source, count):
    many = [post(f"p{i}", f"Entrada {i}", f"texto número {i}") for i in range(450)]
    memory_source.content["t"] = [CREATOR, BOOK, *many[:300], Checkpoint(cursor={"n": 300}),
                                  *many[300:], Checkpoint(cursor={"n": 450})]

    first = archive.sync("memory", "t")
    memory_source.content["t"][5] = post("p3", "Entrada 3", "texto cambiado")
    second = archive.sync("memory", "t")

    assert first.posts_written == 450 and count(archive, "post_collections") == 450
    assert second.posts_written == 1 and second.posts_unchanged == 449
    assert [h.title for h in archive.search("cambiado")] == ["Entrada 3"]


def test_a_target_failing_while_written_does_not_leak_into_the_next(archive, memory_source):
    orphan = PostIn(external_id="o", creator_external_id="nobody", title="Huérfano")
    memory_source.content["bad"] = [orphan, *[post(f"x{i}", "Resto") for i in range(50)],
                                    Checkpoint()]
    memory_source.content["good"] = [CREATOR, post("ok", "Bien"), Checkpoint()]

    report = archive.sync("memory", "bad", "good")

    assert [e.subject for e in report.errors] == ["bad"]
    assert "referenced creator 'nobody' before yielding it" in report.errors[0].message
    assert [h.title for h in archive.search("bien")] == ["Bien"]
    assert archive.search("resto") == []


def test_a_file_the_source_cannot_serve_is_noted_and_retried_next_sync(archive, memory_source,
                                                                      count):
    """One missing file costs neither the post nor the rest of the target."""
    from alejandria.models import MediaIn

    class Flaky(dict[str, bytes]):
        gone = True

        def __getitem__(self, key: str) -> bytes:
            if key == "b" and Flaky.gone:
                raise ItemRejected("https://cdn.example/b.png", "HTTP 404 Not Found")
            return super().__getitem__(key)

    memory_source.blobs = Flaky({"a": b"first file", "b": b"second file"})
    memory_source.content["t"] = [
        CreatorIn(external_id="c", name="C"),
        PostIn(external_id="p", creator_external_id="c", title="Two files",
               media=(MediaIn(key="a", filename="a.png"), MediaIn(key="b", filename="b.png"))),
        PostIn(external_id="q", creator_external_id="c", title="Next post", text="still here"),
        Checkpoint(),
    ]
    first = archive.sync("memory", "t")
    assert first.ok and first.posts_written == 2 and first.media_stored == 1
    assert [n.message for n in first.notices] == [
        "HTTP 404 Not Found (retried on the next sync)"]
    assert first.notices[0].subject == "Two files: b.png"

    Flaky.gone = False
    second = archive.sync("memory", "t")
    assert second.ok and second.posts_written == 1 and second.media_stored == 1
    assert count(archive, "post_media") == 2
    third = archive.sync("memory", "t")
    assert third.posts_written == 0 and third.writes == 0


class _SkipsKnownParts:
    """A source with the tutorial's cursor pattern: each part is yielded, then checkpointed
    with its number; a part at or below the cursor's is skipped without being read."""

    parts = [[CREATOR, BOOK, post("p1", "Uno", media=(MediaIn(key="k1"),))],
             [post("p2", "Dos", media=(MediaIn(key="k2"),))],
             [post("p3", "Tres", media=(MediaIn(key="k3"),))]]

    def fetch(self, cursor):
        done = (cursor or {}).get("part", 0)
        for number, items in enumerate(self.parts, 1):
            if number > done:
                yield from items
                yield Checkpoint(cursor={"part": number})


def _cursor(archive) -> object:
    with archive.engine.connect() as conn:
        return conn.execute(text("SELECT cursor FROM sync_cursors")).scalar_one()


@pytest.mark.parametrize("workers", [1, 4])
def test_a_refused_file_is_fetched_again_even_when_the_cursor_skips_its_post(
        archive, memory_source, monkeypatch, workers):
    """The cursor of the checkpoint after a refused file is not stored (nor any later one of
    that target): the next sync gets the cursor from before it, so the source yields the post
    again and its file is fetched, though the source skips what its cursor says is done."""
    source = _SkipsKnownParts()
    monkeypatch.setattr(memory_source, "fetch",
                        lambda self, target, cursor: source.fetch(cursor))
    memory_source.media_concurrency = workers
    gone = {"k2"}

    class Blobs(dict[str, bytes]):
        def __getitem__(self, key: str) -> bytes:
            if key in gone:
                raise ItemRejected(f"https://cdn.example/{key}", "HTTP 503")
            return super().__getitem__(key)

    memory_source.blobs = Blobs(k1=b"one", k2=b"two", k3=b"three")

    first = archive.sync("memory", "t")
    assert first.ok and first.posts_written == 3 and first.media_stored == 2
    assert _cursor(archive) == {"part": 1}, "the cursor must not pass the refused file"

    gone.clear()
    second = archive.sync("memory", "t")
    assert second.ok and second.posts_written == 1 and second.media_stored == 1
    assert [link[1] for link in _stored_links(archive)] == ["k1", "k2", "k3"]
    assert _cursor(archive) == {"part": 3}

    third = archive.sync("memory", "t")
    assert third.writes == 0 and third.skipped_unchanged == 1


def test_a_file_gone_for_good_is_not_retried_and_the_cursor_moves_on(archive, memory_source,
                                                                     monkeypatch):
    source = _SkipsKnownParts()
    monkeypatch.setattr(memory_source, "fetch",
                        lambda self, target, cursor: source.fetch(cursor))

    class Blobs(dict[str, bytes]):
        def __getitem__(self, key: str) -> bytes:
            if key == "k2":
                raise ItemRejected("https://cdn.example/k2", "HTTP 410 Gone", retry=False)
            return super().__getitem__(key)

    memory_source.blobs = Blobs(k1=b"one", k3=b"three")

    first = archive.sync("memory", "t")
    assert [n.message for n in first.notices] == ["HTTP 410 Gone (not retried)"]
    assert _cursor(archive) == {"part": 3}
    second = archive.sync("memory", "t")
    assert second.writes == 0 and memory_source.opened.count("k2") == 1


def _stored_links(archive) -> list[tuple[str, str, int, str]]:
    """(post, key, position, sha256) of every link, in post and position order."""
    with archive.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT p.external_id, pm.key, pm.position, m.sha256 FROM post_media pm "
            "JOIN posts p ON p.id = pm.post_id JOIN media_files m ON m.id = pm.media_id "
            "ORDER BY p.external_id, pm.position"))]


def test_files_are_fetched_on_several_threads_when_the_source_allows_it(archive, memory_source):
    import threading
    import time

    busy = {"now": 0, "most": 0}
    threads: set[str] = set()
    lock = threading.Lock()

    class Slow(dict[str, bytes]):
        def __getitem__(self, key: str) -> bytes:
            with lock:
                busy["now"] += 1
                busy["most"] = max(busy["most"], busy["now"])
                threads.add(threading.current_thread().name)
            time.sleep(0.05)
            with lock:
                busy["now"] -= 1
            return super().__getitem__(key)

    memory_source.media_concurrency = 4
    memory_source.blobs = Slow({f"k{n}": f"file number {n}".encode() for n in range(12)})
    memory_source.content["t"] = [CREATOR, *[
        post(f"p{n:02}", f"Post {n}", media=(MediaIn(key=f"k{2 * n}", position=0),
                                             MediaIn(key=f"k{2 * n + 1}", position=1)))
        for n in range(6)], Checkpoint()]

    report = archive.sync("memory", "t")

    assert report.ok and report.media_stored == 12
    assert busy["most"] > 1 and threading.current_thread().name not in threads
    links = _stored_links(archive)
    assert [(p, k, pos) for p, k, pos, _sha in links] == [
        (f"p{n:02}", f"k{2 * n + i}", i) for n in range(6) for i in (0, 1)]
    for _post, key, _position, sha256 in links:  # each link names its own bytes
        assert archive.media.path_for(sha256).read_bytes() == memory_source.blobs[key]


def test_files_fetched_ahead_for_a_batch_that_failed_are_recorded_by_the_next_sync(
        archive, memory_source, count):
    """The batch's rows roll back (a 429 on one file stops the target: every other file would
    get the same); its files already in the store are complete, and the next sync records them
    (and announces them as new) instead of losing track of them."""

    class Broken(dict[str, bytes]):
        broken = True

        def __getitem__(self, key: str) -> bytes:
            if key == "k5" and Broken.broken:
                raise RateLimited("the site is rate limiting us (HTTP 429)", retry_after=60)
            return super().__getitem__(key)

    memory_source.media_concurrency = 3
    memory_source.blobs = Broken({f"k{n}": f"bytes of {n}".encode() for n in range(8)})
    memory_source.content["t"] = [
        CREATOR, *[post(f"p{n}", f"Post {n}", media=(MediaIn(key=f"k{n}"),)) for n in range(8)],
        Checkpoint()]

    first = archive.sync("memory", "t")
    assert not first.ok and "HTTP 429" in first.errors[0].message
    assert count(archive, "posts") == 0 and count(archive, "media_files") == 0

    Broken.broken = False
    second = archive.sync("memory", "t")
    assert second.ok and second.media_stored == 8 and second.media_reused == 0
    assert count(archive, "media_files") == 8 and len(_stored_links(archive)) == 8


def test_the_next_parts_files_are_fetched_while_this_part_is_written(archive, memory_source):
    """With several fetch threads, the files of the part after the next checkpoint start
    before this part is committed: here this part's file waits until the next one's starts
    (without the look ahead it would wait in vain: the next part comes after the commit)."""
    import threading

    next_part_started = threading.Event()
    waited: list[bool] = []

    class Waiting(dict[str, bytes]):
        def __getitem__(self, key: str) -> bytes:
            if key == "k2":
                next_part_started.set()
            if key == "k0":
                waited.append(next_part_started.wait(5))
            return super().__getitem__(key)

    memory_source.media_concurrency = 2
    memory_source.blobs = Waiting({f"k{n}": f"bytes {n}".encode() for n in range(3)})
    memory_source.content["t"] = [
        CREATOR, post("p0", "Cero", media=(MediaIn(key="k0"),)),
        post("p1", "Uno", media=(MediaIn(key="k1"),)), Checkpoint(cursor={"part": 1}),
        post("p2", "Dos", media=(MediaIn(key="k2"),)), Checkpoint(cursor={"part": 2})]

    report = archive.sync("memory", "t")

    assert report.ok and report.media_stored == 3 and waited == [True]


def test_a_source_failing_in_the_part_looked_at_ahead_keeps_the_part_before(
        archive, memory_source, count):
    memory_source.media_concurrency = 3
    memory_source.blobs = {f"k{n}": f"bytes {n}".encode() for n in range(3)}
    memory_source.content["t"] = [
        CREATOR, post("p0", "Cero", media=(MediaIn(key="k0"),)),
        post("p1", "Uno", media=(MediaIn(key="k1"),)), Checkpoint(cursor={"part": 1}),
        post("p2", "Dos", media=(MediaIn(key="k2"),)), SourceError("page 2: HTTP 502")]

    report = archive.sync("memory", "t")

    assert [error.message for error in report.errors] == ["page 2: HTTP 502"]
    assert count(archive, "posts") == 2 and count(archive, "media_files") == 2
    with archive.engine.connect() as conn:
        cursor = conn.execute(text("SELECT cursor FROM sync_cursors")).scalar_one()
    assert cursor == {"part": 1}

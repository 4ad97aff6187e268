"""A book is known by its bytes: copies and moves are one book, edits update it in place."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from alejandria import Archive
from alejandria.models import (
    Checkpoint,
    CollectionIn,
    JsonDict,
    Notice,
    PostIn,
    Prune,
    SyncItem,
    SyncTarget,
)
from alejandria.testing import reads
from alejandria_source_pdf.source import PdfSource

if TYPE_CHECKING:
    from conftest import SamplePdfs

CONTENT_ID = re.compile(r"sha256:[0-9a-f]{64}")


def fetch(source: PdfSource, path: Path, cursor: JsonDict | None = None) -> list[SyncItem]:
    (target,) = source.resolve([str(path)])
    return list(source.fetch(target, cursor))


def collection_of(items: list[SyncItem]) -> CollectionIn:
    (collection,) = [item for item in items if isinstance(item, CollectionIn)]
    return collection


def cursor_of(items: list[SyncItem]) -> JsonDict:
    (checkpoint,) = [item for item in items if isinstance(item, Checkpoint)]
    return checkpoint.cursor


def post_ids(items: list[SyncItem]) -> list[str]:
    return [item.external_id for item in items if isinstance(item, PostIn)]


def copy_to(source: Path, folder: Path, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(source, folder / (name or source.name)))


# -- what the source yields ----------------------------------------------------------------


def test_a_new_file_is_named_by_its_bytes(source: PdfSource, pdfs: SamplePdfs) -> None:
    items = fetch(source, pdfs.book)

    collection = collection_of(items)
    sha256 = collection.metadata["sha256"]
    assert collection.external_id == f"sha256:{sha256}"
    assert collection.metadata["path"] == str(pdfs.book.resolve())
    assert post_ids(items) == [f"sha256:{sha256}#p{page}" for page in (1, 2, 4, 7)]
    assert cursor_of(items)["book"] == collection.external_id


def test_copies_in_two_folders_are_one_book_across_syncs(
    make_source: Callable[..., PdfSource], pdfs: SamplePdfs, tmp_path: Path
) -> None:
    first = copy_to(pdfs.book, tmp_path / "a")
    second = copy_to(pdfs.book, tmp_path / "b", "renamed.pdf")

    one, two = fetch(make_source(), first), fetch(make_source(), second)

    assert collection_of(one).external_id == collection_of(two).external_id
    assert post_ids(one) == post_ids(two)
    assert cursor_of(one)["book"] == cursor_of(two)["book"]
    assert collection_of(two).metadata["path"] == str(second.resolve())  # where it was read


def test_a_copy_met_earlier_in_the_same_sync_is_not_read_again(
    source: PdfSource, pdfs: SamplePdfs, tmp_path: Path
) -> None:
    first = copy_to(pdfs.book, tmp_path / "a")
    second = copy_to(pdfs.book, tmp_path / "b")

    read = fetch(source, first)
    again = fetch(source, second)

    assert [type(item).__name__ for item in again] == ["Notice", "Checkpoint"]
    notice = again[0]
    assert isinstance(notice, Notice) and str(first.resolve()) in notice.message
    assert cursor_of(again)["book"] == collection_of(read).external_id
    assert cursor_of(again)["sha256"] == cursor_of(read)["sha256"]


def test_a_changed_file_keeps_the_book_its_path_had(
    source: PdfSource, pdfs: SamplePdfs, tmp_path: Path, write_book: Callable[..., Path]
) -> None:
    path = copy_to(pdfs.book, tmp_path)
    before = fetch(source, path)
    write_book(path, extra="Texto nuevo.")

    after = fetch(source, path, cursor_of(before))

    assert collection_of(after).external_id == collection_of(before).external_id
    assert collection_of(after).metadata["sha256"] != collection_of(before).metadata["sha256"]
    assert post_ids(after) == post_ids(before)
    assert cursor_of(after)["book"] == cursor_of(before)["book"]


def test_a_touched_file_with_the_same_bytes_only_moves_the_checkpoint(
    source: PdfSource, pdfs: SamplePdfs, tmp_path: Path
) -> None:
    path = copy_to(pdfs.book, tmp_path)
    first = cursor_of(fetch(source, path))
    os.utime(path, ns=(1, 1))

    items = fetch(source, path, first)

    assert [type(item) for item in items] == [Checkpoint]
    assert cursor_of(items) == {**first, "mtime_ns": 1}


def legacy_cursor(path: Path, sha256: str) -> JsonDict:
    """A checkpoint written before books were named by their bytes: no ``book``."""
    stat = path.stat()
    return {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def test_a_book_archived_by_path_keeps_its_name(
    source: PdfSource, pdfs: SamplePdfs, tmp_path: Path, write_book: Callable[..., Path]
) -> None:
    path = copy_to(pdfs.book, tmp_path)
    legacy = "file:" + str(path.resolve())
    sha256 = cursor_of(fetch(source, path))["sha256"]

    # unchanged, but checkpointed before the book's file was kept: read once more, to keep
    # the file, under the book's old name; then skipped as any unchanged book
    again = fetch(source, path, legacy_cursor(path, sha256))
    assert collection_of(again).external_id == legacy
    assert all(post.startswith(legacy + "#p") for post in post_ids(again))
    assert cursor_of(again)["book"] == legacy
    assert fetch(source, path, cursor_of(again)) == []
    os.utime(path, ns=(1, 1))
    touched = fetch(source, path, {**cursor_of(again), "mtime_ns": 2})
    assert [type(item) for item in touched] == [Checkpoint]
    assert cursor_of(touched)["book"] == legacy
    write_book(path, extra="Texto nuevo.")
    changed = fetch(source, path, {**legacy_cursor(path, sha256), "mtime_ns": 2})
    assert collection_of(changed).external_id == legacy
    assert all(post.startswith(legacy + "#p") for post in post_ids(changed))
    prune = [item for item in changed if isinstance(item, Prune)]
    assert prune[0].collection_external_id == legacy
    assert cursor_of(changed)["book"] == legacy


def test_a_copy_of_a_book_archived_by_path_joins_it_in_the_same_sync(
    source: PdfSource, pdfs: SamplePdfs, tmp_path: Path
) -> None:
    original = copy_to(pdfs.book, tmp_path / "a")
    copy = copy_to(pdfs.book, tmp_path / "b")
    sha256 = cursor_of(fetch(source, original))["sha256"]
    source = PdfSource(source.context)  # a new sync

    assert collection_of(fetch(source, original, legacy_cursor(original, sha256))
                         ).external_id == "file:" + str(original.resolve())
    items = fetch(source, copy)

    assert [type(item).__name__ for item in items] == ["Notice", "Checkpoint"]
    assert cursor_of(items)["book"] == "file:" + str(original.resolve())


# -- in an archive -------------------------------------------------------------------------


def test_the_same_pdf_in_two_folders_is_one_book_and_one_hit(
    archive: Archive, pdfs: SamplePdfs, tmp_path: Path
) -> None:
    copy_to(pdfs.book, tmp_path / "a")
    copy_to(pdfs.book, tmp_path / "b", "manual (1).pdf")

    first = archive.sync("pdf", tmp_path / "a")
    second = archive.sync("pdf", tmp_path / "b")

    assert first.ok and second.ok, (first.errors, second.errors)
    assert second.posts_written == 0 and second.posts_unchanged == first.posts_written == 4
    (collection,) = reads.collections(archive)
    assert len(collection.posts) == 4 and len(reads.posts(archive)) == 4
    hits = archive.search("palabra partida", mode="fulltext")
    assert [hit.title for hit in hits] == ["Capítulo 2: La carta natal"]


def test_copies_synced_together_are_read_once(
    archive: Archive, pdfs: SamplePdfs, tmp_path: Path
) -> None:
    copy_to(pdfs.book, tmp_path / "a")
    copy_to(pdfs.book, tmp_path / "b")

    report = archive.sync("pdf", tmp_path)

    assert report.ok, report.errors
    assert report.posts_written == 4 and report.skipped_unchanged == 1
    assert [notice.subject for notice in report.notices] == [os.path.join("b", "manual.pdf")]
    assert len(reads.collections(archive)) == 1 and len(reads.posts(archive)) == 4
    assert {cursor.cursor["book"] for cursor in reads.sync_cursors(archive)} == {
        reads.collections(archive)[0].external_id}
    assert archive.sync("pdf", tmp_path).skipped_unchanged == 2


def test_a_moved_file_keeps_its_book_and_post_rows(
    archive: Archive, pdfs: SamplePdfs, tmp_path: Path
) -> None:
    old = copy_to(pdfs.book, tmp_path / "inbox")
    archive.sync("pdf", old)
    before = {post.external_id: post.id for post in reads.posts(archive)}
    new = tmp_path / "shelf" / "Manual.pdf"
    new.parent.mkdir()
    old.rename(new)

    report = archive.sync("pdf", new)

    assert report.ok, report.errors
    assert report.posts_written == report.posts_deleted == 0
    assert {post.external_id: post.id for post in reads.posts(archive)} == before
    (collection,) = reads.collections(archive)
    assert collection.metadata["path"] == str(new.resolve())


def legacy_fetch(fetch_now: Callable[[PdfSource, SyncTarget, JsonDict | None],
                                      Iterator[SyncItem]]) -> Callable[..., Iterator[SyncItem]]:
    """``PdfSource.fetch`` as it was before books were named by their bytes: every id
    made of ``file:`` and the path, and checkpoints without ``book``."""

    def by_path(value: str, path: str) -> str:
        return CONTENT_ID.sub(lambda _match: "file:" + path, value)

    def fetch_by_path(self: PdfSource, target: SyncTarget,
                      cursor: JsonDict | None) -> Iterator[SyncItem]:
        path = target.locator
        for item in fetch_now(self, target, cursor):
            if isinstance(item, CollectionIn):
                item = item.model_copy(update={"external_id": by_path(item.external_id, path)})
            elif isinstance(item, PostIn):
                item = item.model_copy(update={
                    "external_id": by_path(item.external_id, path),
                    "collections": tuple(
                        ref.model_copy(update={"external_id": by_path(ref.external_id, path)})
                        for ref in item.collections)})
            elif isinstance(item, Prune):
                item = Prune(collection_external_id=by_path(item.collection_external_id, path),
                             keep=tuple(by_path(key, path) for key in item.keep))
            elif isinstance(item, Checkpoint):
                item = Checkpoint(cursor={key: value for key, value in item.cursor.items()
                                          if key != "book"})
            yield item

    return fetch_by_path


def test_an_archive_made_by_path_is_not_duplicated_by_a_resync(
    archive: Archive, pdfs: SamplePdfs, tmp_path: Path, write_book: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_to(pdfs.book, tmp_path / "a")
    monkeypatch.setattr(PdfSource, "fetch", legacy_fetch(PdfSource.fetch))
    archive.sync("pdf", path)
    monkeypatch.undo()
    legacy = "file:" + str(path.resolve())
    before = {post.external_id: post.id for post in reads.posts(archive)}
    assert all(key.startswith(legacy) for key in before)

    assert archive.sync("pdf", path).skipped_unchanged == 1
    os.utime(path, ns=(1, 1))
    assert archive.sync("pdf", path).posts_written == 0
    copy_to(pdfs.book, tmp_path / "b")  # after the original: met in the same sync
    assert archive.sync("pdf", tmp_path).posts_written == 0
    write_book(path, extra="Texto nuevo.")
    changed = archive.sync("pdf", path)

    assert changed.ok and changed.posts_written > 0 and changed.posts_deleted == 0
    assert [c.external_id for c in reads.collections(archive)] == [legacy]
    assert {post.external_id: post.id for post in reads.posts(archive)} == before

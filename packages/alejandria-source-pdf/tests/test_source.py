"""PdfSource end to end on generated PDFs: targets, books, chapters, images, errors, cursors."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from alejandria.errors import ConfigurationError, ItemRejected
from alejandria.models import (
    ORIGINAL_ROLE,
    Checkpoint,
    CollectionIn,
    CreatorIn,
    Expect,
    MediaIn,
    MediaKind,
    PostIn,
    Prune,
    SyncItem,
)
from alejandria_source_pdf.source import PdfSource

if TYPE_CHECKING:
    from conftest import SamplePdfs

Fetch = Callable[..., list[SyncItem]]


def posts_of(items: list[SyncItem]) -> list[PostIn]:
    return [item for item in items if isinstance(item, PostIn)]


def only(items: list[SyncItem], kind: type) -> object:
    (found,) = [item for item in items if isinstance(item, kind)]
    return found


def images_of(post: PostIn) -> list[MediaIn]:
    """The post's embedded images, without the book's own file (``book_file_of``)."""
    return [media for media in post.media if media.role != ORIGINAL_ROLE]


def book_file_of(post: PostIn) -> MediaIn:
    (book,) = [media for media in post.media if media.role == ORIGINAL_ROLE]
    return book


# -- resolve -------------------------------------------------------------------------------


def test_resolve_folder_recursively_sorted_with_relative_labels(
    tmp_path: Path, source: PdfSource, pdfs: SamplePdfs
) -> None:
    shelf = tmp_path / "shelf"
    (shelf / "b").mkdir(parents=True)
    shutil.copy(pdfs.book, shelf / "b" / "Zeta.PDF")
    shutil.copy(pdfs.book, shelf / "alpha.pdf")
    (shelf / "readme.txt").write_text("not a book")
    (shelf / "b" / "cover.png").write_bytes(b"png")

    targets = list(source.resolve([str(shelf)]))

    assert [t.label for t in targets] == ["alpha.pdf", os.path.join("b", "Zeta.PDF")]
    assert targets[0].locator == str((shelf / "alpha.pdf").resolve())
    assert targets[0].scope == "file:" + targets[0].locator


def test_resolve_explicit_file_missing_path_and_duplicates(
    tmp_path: Path, source: PdfSource, pdfs: SamplePdfs
) -> None:
    notes = tmp_path / "notes.bin"
    shutil.copy(pdfs.book, notes)
    missing = tmp_path / "missing.pdf"

    targets = list(source.resolve([str(notes), str(missing), str(notes)]))

    assert [t.label for t in targets] == [str(notes), str(missing)]
    assert targets[1].scope == "file:" + str(missing.resolve())


def test_resolve_expands_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: PdfSource, pdfs: SamplePdfs
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copy(pdfs.book, tmp_path / "book.pdf")
    (target,) = source.resolve(["~/book.pdf"])
    assert target.locator == str((tmp_path / "book.pdf").resolve())
    assert target.label == "~/book.pdf"


# -- a book with an outline ----------------------------------------------------------------


def test_book_with_outline_yields_items_in_order(fetch_all: Fetch, pdfs: SamplePdfs) -> None:
    items = fetch_all(pdfs.book)

    kinds = [type(item).__name__ for item in items]
    assert kinds == (["CreatorIn", "CollectionIn", "Expect"] + ["PostIn"] * 4
                     + ["Prune", "Checkpoint"])
    assert only(items, Expect) == Expect(posts=4)  # the sync's progress: 0/4 posts, ...
    posts = posts_of(items)
    prune = only(items, Prune)
    assert isinstance(prune, Prune)
    assert prune.keep == tuple(post.external_id for post in posts)


def test_book_creator_and_collection(fetch_all: Fetch, pdfs: SamplePdfs) -> None:
    items = fetch_all(pdfs.book)
    creator, collection = items[0], items[1]
    assert isinstance(creator, CreatorIn)
    assert isinstance(collection, CollectionIn)

    assert creator.name == "Lucía Fernández"
    assert creator.external_id == "lucía fernández"
    path = str(pdfs.book.resolve())
    assert collection.external_id == "sha256:" + collection.metadata["sha256"]  # by content
    assert collection.creator_external_id == creator.external_id
    assert collection.title == "Manual de prueba"
    assert collection.metadata["path"] == path
    assert collection.metadata["page_count"] == 7
    assert collection.metadata["has_text"] is True
    assert len(collection.metadata["sha256"]) == 64


def test_chapters_follow_the_outline(
    fetch_all: Fetch, pdfs: SamplePdfs, pdf_created: dt.datetime
) -> None:
    items = fetch_all(pdfs.book)
    posts = posts_of(items)
    collection = only(items, CollectionIn)
    assert isinstance(collection, CollectionIn)
    collection_id = collection.external_id  # the book's bytes name it and its chapters

    assert [p.title for p in posts] == [
        "Front matter",
        "Capítulo 1: Introducción",
        "Capítulo 2: La carta natal",
        "Capítulo 3: Tránsitos",
    ]
    assert [(p.metadata["first_page"], p.metadata["last_page"]) for p in posts] == [
        (1, 1), (2, 3), (4, 6), (7, 7),
    ]
    assert [p.external_id for p in posts] == [
        f"{collection_id}#p1", f"{collection_id}#p2", f"{collection_id}#p4", f"{collection_id}#p7",
    ]
    assert [p.collections[0].position for p in posts] == [0, 1, 2, 3]
    assert all(p.collections[0].external_id == collection_id for p in posts)
    assert all(p.metadata["book"] == "Manual de prueba" for p in posts)
    assert all(p.published_at == pdf_created for p in posts)
    assert all(p.creator_external_id == "lucía fernández" for p in posts)


def test_chapter_text_and_page_chunks(fetch_all: Fetch, pdfs: SamplePdfs) -> None:
    chapter = posts_of(fetch_all(pdfs.book))[2]

    assert [chunk.page for chunk in chapter.chunks] == [4, 5, 6]
    assert chapter.has_text
    assert "Capítulo 2: La carta natal, página 1." in chapter.text
    assert "La carta natal es un mapa del cielo" in chapter.chunks[1].text
    assert chapter.text == "\n\n".join(chunk.text for chunk in chapter.chunks)
    # "ejem-" / "plo" on two lines is one word again
    assert "Un ejemplo de palabra partida." in chapter.text
    assert "\r" not in chapter.text


# -- no outline, scanned, images -----------------------------------------------------------


def test_no_outline_makes_page_windows(fetch_all: Fetch, pdfs: SamplePdfs) -> None:
    items = fetch_all(pdfs.no_outline)
    posts = posts_of(items)
    collection = only(items, CollectionIn)
    assert isinstance(collection, CollectionIn)

    assert collection.title == "field notes 2024"  # "Untitled" is no title
    assert [p.title for p in posts] == ["Pages 1–10", "Pages 11–20", "Pages 21–25"]
    assert [len(p.chunks) for p in posts] == [10, 10, 5]
    assert [c.page for c in posts[2].chunks] == [21, 22, 23, 24, 25]
    assert posts[2].chunks[0].text == "Field note number 21. Sparrows at the station."


def test_pages_per_post_option(
    make_source: Callable[..., PdfSource], pdfs: SamplePdfs
) -> None:
    source = make_source(pages_per_post=30)
    (target,) = source.resolve([str(pdfs.no_outline)])
    posts = posts_of(list(source.fetch(target, None)))
    assert [p.title for p in posts] == ["field notes 2024"]
    assert len(posts[0].chunks) == 25


@pytest.mark.parametrize("value", [0, -3, "many", None, True])
def test_bad_pages_per_post_is_a_configuration_error(
    make_source: Callable[..., PdfSource], value: object
) -> None:
    with pytest.raises(ConfigurationError, match="pages_per_post"):
        make_source(pages_per_post=value)


def test_scanned_pdf_is_archived_without_text(fetch_all: Fetch, pdfs: SamplePdfs) -> None:
    items = fetch_all(pdfs.scanned)
    collection = only(items, CollectionIn)
    assert isinstance(collection, CollectionIn)
    (post,) = posts_of(items)

    assert collection.metadata["has_text"] is False
    assert post.title == "Escaneado"
    assert post.has_text is False
    assert post.text == ""
    assert post.chunks == ()
    assert [m.metadata["page"] for m in images_of(post)] == [1, 2, 3]
    assert len({m.key for m in images_of(post)}) == 3
    assert book_file_of(post).position == 3  # the book's file after its images


def test_embedded_images_become_media(fetch_all: Fetch, pdfs: SamplePdfs) -> None:
    (post,) = posts_of(fetch_all(pdfs.images))

    # the figure on pages 1 and 2 once, the 20 px icon skipped, the 64 px figure kept
    assert [(m.filename, m.position, m.metadata) for m in images_of(post)] == [
        ("page1-img1.png", 0, {"page": 1}),
        ("page3-img1.png", 1, {"page": 3}),
        ("page4-img1.jpg", 2, {"page": 4}),
    ]
    for media in images_of(post):
        assert media.data is not None
        assert media.key.startswith("sha256:")
        assert media.kind is MediaKind.IMAGE
        assert media.role == "embedded"
    png, _, jpeg = images_of(post)
    assert png.mime_type == "image/png"
    assert png.data is not None and png.data.startswith(b"\x89PNG")
    # a JPEG stream is stored as it is, not re-encoded
    assert jpeg.mime_type == "image/jpeg"
    assert jpeg.data is not None and jpeg.data.startswith(b"\xff\xd8\xff")


def test_a_failing_image_is_skipped_not_the_book(
    fetch_all: Fetch, pdfs: SamplePdfs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alejandria_source_pdf import images

    def broken(pil_image: object) -> None:
        raise OSError("encoder exploded")

    monkeypatch.setattr(images, "_encode_png", broken)
    (post,) = posts_of(fetch_all(pdfs.images))
    assert [m.filename for m in images_of(post)] == ["page4-img1.jpg"]
    assert [c.page for c in post.chunks] == [1, 2, 3, 4]


def test_image_bytes_are_the_image(fetch_all: Fetch, pdfs: SamplePdfs) -> None:
    import hashlib
    import io

    from PIL import Image

    (post,) = posts_of(fetch_all(pdfs.images))
    media = post.media[0]
    assert media.data is not None
    assert media.key == "sha256:" + hashlib.sha256(media.data).hexdigest()
    with Image.open(io.BytesIO(media.data)) as image:
        assert image.size == (100, 80)


# -- rejected files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty", "empty file (0 bytes)"),
        ("png_named_pdf", "not a PDF file"),
        ("text_named_pdf", "not a PDF file"),
        ("encrypted", "encrypted PDF: it needs a password; save an unprotected copy to archive it"),
    ],
)
def test_rejected_files_say_why(
    fetch_all: Fetch, pdfs: SamplePdfs, name: str, reason: str
) -> None:
    path: Path = getattr(pdfs, name)
    with pytest.raises(ItemRejected) as caught:
        fetch_all(path)
    assert caught.value.reason == reason
    assert caught.value.subject == str(path.resolve())
    assert path.name in str(caught.value)


@pytest.mark.parametrize("name", ["truncated", "garbage"])
def test_corrupt_pdfs_are_rejected(fetch_all: Fetch, pdfs: SamplePdfs, name: str) -> None:
    path: Path = getattr(pdfs, name)
    with pytest.raises(ItemRejected) as caught:
        fetch_all(path)
    assert caught.value.reason.startswith("corrupt or unreadable PDF: ")
    assert caught.value.subject == str(path.resolve())


def test_missing_file_is_rejected(tmp_path: Path, fetch_all: Fetch) -> None:
    with pytest.raises(ItemRejected) as caught:
        fetch_all(tmp_path / "gone.pdf")
    assert caught.value.reason == "no such file"
    assert "gone.pdf" in caught.value.subject


def test_rejected_file_yields_nothing_first(source: PdfSource, pdfs: SamplePdfs) -> None:
    (target,) = source.resolve([str(pdfs.encrypted)])
    stream = source.fetch(target, None)
    with pytest.raises(ItemRejected):
        next(stream)


# -- unchanged files -----------------------------------------------------------------------


def test_cursor_skips_unchanged_and_touched_files(
    tmp_path: Path, fetch_all: Fetch, pdfs: SamplePdfs, write_book: Callable[..., Path]
) -> None:
    path = tmp_path / "book.pdf"
    shutil.copy(pdfs.book, path)
    first = fetch_all(path)
    checkpoint = first[-1]
    assert isinstance(checkpoint, Checkpoint)
    stat = path.stat()
    assert checkpoint.cursor == {
        "sha256": checkpoint.cursor["sha256"], "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
        "book": "sha256:" + checkpoint.cursor["sha256"], "file_kept": True,
    }

    # same size and mtime: not even read
    assert fetch_all(path, checkpoint.cursor) == []

    # touched, same bytes: only the checkpoint moves
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    touched = fetch_all(path, checkpoint.cursor)
    assert len(touched) == 1
    assert isinstance(touched[0], Checkpoint)
    assert touched[0].cursor["sha256"] == checkpoint.cursor["sha256"]
    assert touched[0].cursor["mtime_ns"] == stat.st_mtime_ns + 5_000_000_000

    # new bytes: the whole book again, with the same chapter ids
    write_book(path, extra="Texto nuevo.")
    changed = fetch_all(path, touched[0].cursor)
    assert [p.external_id for p in posts_of(changed)] == [p.external_id for p in posts_of(first)]
    assert "Texto nuevo." in posts_of(changed)[1].text
    new_checkpoint = changed[-1]
    assert isinstance(new_checkpoint, Checkpoint)
    assert new_checkpoint.cursor["sha256"] != checkpoint.cursor["sha256"]


def test_text_only_files_skip_the_image_search_but_files_with_images_do_not(pdfs):
    from alejandria_source_pdf import source as source_module

    assert source_module._hash_pdf(pdfs.book, "book")[1] is False
    assert source_module._hash_pdf(pdfs.images, "images")[1] is True
    assert source_module._hash_pdf(pdfs.scanned, "scanned")[1] is True


# -- the book's own file -------------------------------------------------------------------


def test_every_chapter_holds_the_book_file_streamed_not_in_memory(
    source: PdfSource, fetch_all: Fetch, pdfs: SamplePdfs
) -> None:
    import hashlib

    items = fetch_all(pdfs.book)
    posts = posts_of(items)
    sha256 = only(items, Checkpoint).cursor["sha256"]  # type: ignore[attr-defined]

    books = [book_file_of(post) for post in posts]
    assert len(books) == len(posts) == 4 and len({book.key for book in books}) == 1
    book = books[0]
    assert book.key == "sha256:" + sha256 == "sha256:" + hashlib.sha256(
        pdfs.book.read_bytes()).hexdigest()
    assert (book.filename, book.mime_type, book.kind, book.role, book.data) == (
        "manual.pdf", "application/pdf", MediaKind.DOCUMENT, ORIGINAL_ROLE, None)
    assert book.url == pdfs.book.resolve().as_uri()
    with source.open_media(book) as stream:
        assert stream.read() == pdfs.book.read_bytes()


def test_a_book_file_that_changed_since_it_was_read_is_refused(
    source: PdfSource, fetch_all: Fetch, pdfs: SamplePdfs, tmp_path: Path,
    write_book: Callable[..., Path]
) -> None:
    path = tmp_path / "book.pdf"
    shutil.copy(pdfs.book, path)
    book = book_file_of(posts_of(fetch_all(path))[0])
    write_book(path, extra="Otra edición.")

    def read_to_the_end() -> None:
        with source.open_media(book) as stream:
            while stream.read(1 << 16):
                pass

    with pytest.raises(ItemRejected, match="changed while it was archived") as caught:
        read_to_the_end()
    assert caught.value.retry  # the next sync reads the book as it is then
    path.unlink()
    with pytest.raises(ItemRejected, match="gone"):
        source.open_media(book)


def test_a_checkpoint_from_before_the_file_was_kept_reads_the_book_once_more(
    make_source: Callable[..., PdfSource], fetch_all: Fetch, pdfs: SamplePdfs, tmp_path: Path
) -> None:
    path = tmp_path / "book.pdf"
    shutil.copy(pdfs.book, path)
    checkpoint = only(fetch_all(path), Checkpoint).cursor  # type: ignore[attr-defined]
    older = {key: value for key, value in checkpoint.items() if key != "file_kept"}

    source = make_source()  # the next sync
    (target,) = source.resolve([str(path)])
    again = list(source.fetch(target, older))

    assert [book_file_of(post).key for post in posts_of(again)] == [
        "sha256:" + checkpoint["sha256"]] * 4
    assert only(again, Checkpoint).cursor == checkpoint  # type: ignore[attr-defined]
    assert fetch_all(path, checkpoint) == []

"""The media store's guards: the largest file it stores, and the free space it keeps on its
disk (checked before the first file, then after every 16 MB written or every second, and again
before the next file after a failed check); both leave no partial file."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from alejandria.api import Archive
from alejandria.errors import StorageFull, TooLarge
from alejandria.storage import media_store
from alejandria.storage.media_store import FREE_CHECK_BYTES, FREE_CHECK_S, MB, MediaStore


def files_in(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_a_file_over_the_store_limit_is_too_large(tmp_path: Path) -> None:
    store = MediaStore(tmp_path, max_file_bytes=2 * MB)

    assert store.put_bytes(b"x" * (2 * MB))[1] == 2 * MB  # the limit itself is fine
    with pytest.raises(TooLarge) as caught:
        store.put_stream(io.BytesIO(b"y" * (2 * MB + 1)))

    assert str(caught.value) == ("the file is larger than the limit of 2 MB: raise "
                                 "ALEJANDRIA_MAX_DOWNLOAD_MB to store it")
    assert len(files_in(tmp_path)) == 1  # the first file, no partial second one


def test_too_little_free_space_stops_before_writing(tmp_path: Path) -> None:
    asked: list[Path] = []

    def free(path: Path) -> int:
        asked.append(path)
        return 120 * MB

    store = MediaStore(tmp_path, min_free_bytes=500 * MB, free_space=free)

    with pytest.raises(StorageFull) as caught:
        store.put_bytes(b"data")

    assert str(caught.value) == (f"only 120 MB free on the disk of {tmp_path}, less than the "
                                 "500 MB kept free (ALEJANDRIA_MIN_FREE_DISK_MB): free some "
                                 "space, or lower that setting")
    assert files_in(tmp_path) == [] and asked


def test_free_space_is_checked_again_while_a_large_file_is_written(tmp_path: Path) -> None:
    written: list[int] = []

    def free(_path: Path) -> int:  # the disk fills as the file is written
        return 600 * MB - sum(written)

    def chunks() -> Callable[[], bytes]:
        def next_chunk() -> bytes:
            written.append(MB)
            return b"z" * MB
        return next_chunk

    store = MediaStore(tmp_path, min_free_bytes=550 * MB, free_space=free)
    stream = iter(chunks(), b"")  # endless 1 MB chunks

    with pytest.raises(StorageFull, match="only 536 MB free"):
        store.put_chunks(stream)

    assert sum(written) == 4 * FREE_CHECK_BYTES  # stopped at the check after 64 MB
    assert files_in(tmp_path) == []


def test_small_files_share_a_check_until_16_mb_or_a_second_has_passed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(media_store, "_clock", lambda: clock[0])
    asked: list[int] = []
    free_now = [600 * MB]

    def free(_path: Path) -> int:
        asked.append(free_now[0])
        return free_now[0]

    store = MediaStore(tmp_path, min_free_bytes=550 * MB, free_space=free)
    for n in range(100):  # 100 x 100 KB: one check, not one per file
        store.put_bytes(n.to_bytes(4, "big") * 25_000, sync=False)
    assert len(asked) == 1

    free_now[0] = 500 * MB  # another program filled the disk: seen within a second
    store.put_bytes(b"before the second is up", sync=False)
    clock[0] += FREE_CHECK_S
    with pytest.raises(StorageFull, match="only 500 MB free"):
        store.put_bytes(b"after it", sync=False)
    with pytest.raises(StorageFull):  # a failed check is made again before the next file
        store.put_bytes(b"and the next", sync=False)
    free_now[0] = 600 * MB
    store.put_bytes(b"space again", sync=False)
    assert len(asked) == 4
    assert len(files_in(tmp_path)) == 102


def test_no_limits_unless_given(tmp_path: Path) -> None:
    store = MediaStore(tmp_path, free_space=lambda _path: 0)

    assert store.put_bytes(b"x" * (3 * MB))[1] == 3 * MB


def test_the_archive_builds_its_store_with_the_settings(open_archive: Callable[..., Archive]
                                                        ) -> None:
    archive = open_archive(max_download_mb=3, min_free_disk_mb=7)

    assert (archive.media.max_file_bytes, archive.media.min_free_bytes) == (3 * MB, 7 * MB)

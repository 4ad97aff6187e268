"""The content-addressed store: hash while streaming, atomic rename, once per content."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest

from alejandria.errors import MediaError
from alejandria.storage.media_store import MediaStore


def test_bytes_are_stored_once_under_their_hash(tmp_path):
    store = MediaStore(tmp_path)
    data = b"same bytes" * 100_000

    first = store.put_stream(io.BytesIO(data))
    second = store.put_bytes(data)

    digest = hashlib.sha256(data).hexdigest()
    assert first == (digest, len(data), True)
    assert second == (digest, len(data), False)
    path = store.path_for(digest)
    assert path == tmp_path / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == data
    assert list((tmp_path / "tmp").iterdir()) == []


class _ReadOnlyStream(io.RawIOBase):
    """A plugin's stream that implements only ``read``, in short pieces."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 1000) if size >= 0 else 1000)


class _ShortReads(io.RawIOBase):
    """A stream whose ``readinto`` fills a few bytes at a time (as a socket may)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        piece = self._data.read(min(len(buffer), 7777))
        buffer[:len(piece)] = piece
        return len(piece)


@pytest.mark.parametrize("stream_type", [io.BytesIO, _ReadOnlyStream, _ShortReads])
def test_any_readable_stream_is_stored_whole(tmp_path, stream_type):
    store = MediaStore(tmp_path)
    data = bytes(range(256)) * 10_000  # 2.5 MB: more than one read buffer

    sha256, size, created = store.put_stream(stream_type(data))

    assert (sha256, size, created) == (hashlib.sha256(data).hexdigest(), len(data), True)
    assert store.path_for(sha256).read_bytes() == data


def test_interrupted_stream_leaves_no_visible_or_partial_file(tmp_path):
    store = MediaStore(tmp_path)

    def chunks():
        yield b"first half"
        raise ConnectionError("peer reset")

    with pytest.raises(ConnectionError):
        store.put_chunks(chunks())

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == []


def test_size_limit_is_enforced_while_streaming(tmp_path):
    store = MediaStore(tmp_path)

    with pytest.raises(MediaError, match="larger than the limit of 10 bytes"):
        store.put_stream(io.BytesIO(b"x" * 11), max_bytes=10)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_verify_detects_corruption_and_loss(tmp_path):
    store = MediaStore(tmp_path)
    digest, _, _ = store.put_bytes(b"precious")
    assert store.verify(digest)

    store.path_for(digest).write_bytes(b"precioUs")
    assert not store.verify(digest)

    store.path_for(digest).unlink()
    assert not store.verify(digest)


@pytest.mark.parametrize("syncfs", [True, False], ids=["syncfs", "fsync-each"])
def test_deferred_durability_and_a_short_file_left_by_a_crash(tmp_path, monkeypatch, syncfs):
    """``sync=False`` stores now and makes durable at ``sync_pending``. A crash before that
    may leave the final name with fewer bytes; storing the same bytes again repairs it."""
    from alejandria.storage import media_store

    if not syncfs:
        monkeypatch.setattr(media_store, "_syncfs", None)
    store = MediaStore(tmp_path)
    data = b"abc" * 1000
    sha256, size, created = store.put_bytes(data, sync=False)
    assert created and store.path_for(sha256).read_bytes() == data
    store.sync_pending()
    store.sync_pending()  # nothing pending: nothing to do
    assert store.verify(sha256)

    store.path_for(sha256).write_bytes(b"")  # what a crash before the flush can leave
    assert store.put_bytes(data, sync=False) == (sha256, size, True)
    assert store.put_bytes(data) == (sha256, size, False)  # complete now: kept
    store.sync_pending()
    assert store.verify(sha256)

"""The content-addressed store: hash while streaming, atomic rename, once per content."""

from __future__ import annotations

import hashlib
import io

import pytest

from alejandria.errors import MediaError
from alejandria.media_store import MediaStore


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

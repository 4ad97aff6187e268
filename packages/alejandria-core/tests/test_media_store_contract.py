"""The media store's contract, for every backend core ships: ``file`` and ``s3``.

The S3 store talks to a real S3-protocol server (moto's server mode, ``alejandria_s3``), never
to a mock of our own store. A third-party backend can copy these tests.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from alejandria.builtins import build_plugin_manager
from alejandria.context import open_media_store
from alejandria.errors import MediaError, TooLarge
from alejandria.plugin_types import BlobStore
from alejandria.settings import Settings
from alejandria.testing import S3Bucket

MB = 2**20
BACKENDS = ["file", "s3"]


@pytest.fixture
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., BlobStore]:
    """``make_store(backend, **settings)``: a store of that backend in this test's data dir."""

    def make(backend: str, **overrides: Any) -> BlobStore:
        values: dict[str, Any] = {"data_dir": tmp_path / "data", "database_url": None}
        if backend == "s3":
            bucket: S3Bucket = request.getfixturevalue("alejandria_s3")
            values.update(bucket.settings)
        values.update(overrides)
        settings = Settings(**values)
        return open_media_store(settings, build_plugin_manager(load_entrypoints=False))

    return make


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, make_store: Callable[..., BlobStore]) -> BlobStore:
    return make_store(request.param)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_blob_is_stored_once_under_its_hash_and_read_back(store: BlobStore) -> None:
    data = os.urandom(300_000)
    assert store.put_stream(io.BytesIO(data)) == (sha(data), len(data), True)
    assert store.put_bytes(data) == (sha(data), len(data), False)
    assert store.exists(sha(data)) and store.size(sha(data)) == len(data)
    assert b"".join(store.read(sha(data))) == data
    assert b"".join(store.read(sha(data), 1000, 5000)) == data[1000:6000]
    assert b"".join(store.read(sha(data), len(data) - 10)) == data[-10:]
    assert store.verify(sha(data))
    assert [blob.name for blob in store.iter_blobs()] == [sha(data)]
    store.sync_pending()


def test_a_missing_blob(store: BlobStore) -> None:
    missing = sha(b"never stored")
    assert not store.exists(missing) and store.size(missing) is None
    assert not store.verify(missing)
    with pytest.raises(FileNotFoundError):
        store.read(missing)
    with pytest.raises(FileNotFoundError), store.local_path(missing):
        pass


def test_a_file_over_the_limit_is_refused_and_leaves_nothing(
        make_store: Callable[..., BlobStore], backend: str) -> None:
    store = make_store(backend, max_download_mb=1)
    with pytest.raises(TooLarge, match="ALEJANDRIA_MAX_DOWNLOAD_MB"):
        store.put_chunks(iter([b"x" * MB, b"y"]))
    with pytest.raises(TooLarge):
        store.put_chunks([b"z" * 100], max_bytes=10)
    assert list(store.iter_blobs()) == [] and store.incomplete_uploads() == []


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_large_file_goes_up_in_parts(make_store: Callable[..., BlobStore],
                                       backend: str) -> None:
    store = make_store(backend, s3_part_mb=5, s3_upload_concurrency=2)
    data = os.urandom(11 * MB + 7)
    digest, size, created = store.put_chunks(data[i:i + MB] for i in range(0, len(data), MB))
    assert (digest, size, created) == (sha(data), len(data), True)
    assert b"".join(store.read(digest, 5 * MB - 3, 10)) == data[5 * MB - 3:5 * MB + 7]
    assert store.verify(digest) and store.incomplete_uploads() == []
    # bytes already in memory go up in parts too, and a stored copy is not sent again
    other = os.urandom(10 * MB + 3)
    assert store.put_bytes(other) == (sha(other), len(other), True)
    assert store.put_bytes(other) == (sha(other), len(other), False)
    assert store.put_chunks([data]) == (digest, len(data), False)
    assert b"".join(store.read(sha(other), 10 * MB - 2)) == other[-5:]
    assert store.verify(sha(other)) and store.incomplete_uploads() == []


def test_writers_of_the_same_content_at_once_all_succeed(store: BlobStore) -> None:
    data = os.urandom(200_000)
    with ThreadPoolExecutor(max_workers=6) as pool:  # a writer's error is raised here
        results = list(pool.map(lambda _n: store.put_bytes(data), range(6)))
    assert {result[:2] for result in results} == {(sha(data), len(data))}
    assert any(created for *_, created in results)
    assert store.verify(sha(data)) and len(list(store.iter_blobs())) == 1


def test_tools_get_a_local_file(store: BlobStore) -> None:
    data = os.urandom(50_000)
    digest, *_ = store.put_bytes(data)
    with store.local_path(digest) as path:
        assert path.read_bytes() == data
    assert (store.local_file(digest) is None) == store.remote


def test_the_local_cache_of_a_remote_store_keeps_to_its_budget(
        make_store: Callable[..., BlobStore], tmp_path: Path) -> None:
    store = make_store("s3", media_cache_mb=1)
    blobs = [store.put_bytes(os.urandom(400_000))[0] for _ in range(4)]
    for digest in blobs:
        with store.local_path(digest) as path:
            assert sha(path.read_bytes()) == digest
    cache = tmp_path / "data" / "cache"
    held = sum(path.stat().st_size for path in cache.rglob("*") if path.is_file())
    assert 0 < held <= MB


def test_derived_files(store: BlobStore, tmp_path: Path) -> None:
    digest = sha(b"photo")
    made = tmp_path / "150.webp"
    made.write_bytes(b"RIFF thumbnail")
    key = f"thumbnails/{digest[:2]}/{digest[2:4]}/{digest}/150.webp"
    store.put_derived(key, made)
    assert store.derived_path(key).read_bytes() == b"RIFF thumbnail"
    store.delete_derived(digest)
    with pytest.raises(FileNotFoundError):
        store.derived_path(key) if not store.remote else _fresh_read(store, key)
    for bad in ("../outside", "/etc/passwd", "a//b", "thumbnails/../../x"):
        with pytest.raises(MediaError, match="not a derived file key"):
            store.put_derived(bad, made)


def _fresh_read(store: BlobStore, key: str) -> Path:
    """Read past the local cache: the object itself must be gone from the store."""
    cache = getattr(store, "cache")  # noqa: B009 - the S3 store's cache
    for path in cache.root.rglob("*"):
        if path.is_file():
            path.unlink()
    return store.derived_path(key)


def test_deleting_a_blob(store: BlobStore) -> None:
    digest, *_ = store.put_bytes(b"to be removed")
    store.delete(digest)
    assert not store.exists(digest) and list(store.iter_blobs()) == []
    store.delete(digest)  # gone already: no error


def test_presigned_urls_only_from_a_remote_store(store: BlobStore) -> None:
    digest, *_ = store.put_bytes(b"\x89PNG not really")
    url = store.presigned_url(digest, 60, content_type="image/png",
                              disposition='inline; filename="a.png"')
    if not store.remote:
        assert url is None and store.origin() is None
        return
    assert url is not None and url.startswith(str(store.origin()))
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == b"\x89PNG not really"
        assert answer.headers["Content-Type"] == "image/png"
        assert answer.headers["Content-Disposition"] == 'inline; filename="a.png"'


def test_check_says_where_the_store_is(store: BlobStore) -> None:
    described = store.check()
    assert ("S3" in described) if store.remote else described.startswith("a folder")
    assert "secret" not in described


def test_a_missing_bucket_is_named(make_store: Callable[..., BlobStore],
                                   alejandria_s3: S3Bucket) -> None:
    store = make_store("s3", media_url="s3://no-such-bucket-here/archive")
    with pytest.raises(MediaError, match="bucket 'no-such-bucket-here' does not exist"):
        store.check()


def test_an_unreachable_endpoint_is_named(make_store: Callable[..., BlobStore]) -> None:
    from alejandria.testing.redis_server import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    store = make_store("s3", s3_endpoint_url=endpoint, media_url="s3://some-bucket/x",
                       s3_access_key_id="AKIAEXAMPLE", s3_secret_access_key="very-secret")
    getattr(store, "client").meta.config.retries["max_attempts"] = 1  # noqa: B009
    with pytest.raises(MediaError, match="cannot reach the S3 endpoint") as caught:
        store.check()
    assert endpoint in str(caught.value) and "very-secret" not in str(caught.value)
    assert "very-secret" not in repr(store)


def test_unfinished_uploads_are_listed_and_removed(store: BlobStore) -> None:
    if store.remote:
        client = getattr(store, "client")  # noqa: B009
        client.create_multipart_upload(Bucket=getattr(store, "bucket"),  # noqa: B009
                                       Key=f"archive/media/ab/cd/{'ab' * 32}")
    else:
        tmp = Path(getattr(store, "root")) / "tmp"  # noqa: B009
        tmp.mkdir(parents=True)
        (tmp / "incoming-x").write_bytes(b"partial")
    [upload] = store.incomplete_uploads()
    assert upload.modified <= time.time() + 5
    store.remove_incomplete(upload)
    assert store.incomplete_uploads() == []

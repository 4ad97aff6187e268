"""An archive whose media store is S3 (a real S3-protocol server, ``alejandria_s3``): a sync
stores blobs there, processors read them through the local cache and put thumbnails back,
the library serves both, verify, gc and dedup work through the store, and a worker killed
mid-upload leaves nothing visible."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from alejandria.models import Checkpoint, CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.testing import S3Bucket


def _png(width: int = 40, height: int = 30) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def s3_archive(open_archive, alejandria_s3: S3Bucket, memory_source):
    archive = open_archive(**alejandria_s3.settings, process_media=True)
    memory_source.blobs = {"img": _png(), "doc": b"plain words " * 1000}
    memory_source.content["t"] = [
        CreatorIn(external_id="c", name="C"),
        PostIn(external_id="p", creator_external_id="c", title="Con adjuntos",
               media=(MediaIn(key="img", filename="a.png", kind=MediaKind.IMAGE),
                      MediaIn(key="doc", filename="b.txt", kind=MediaKind.DOCUMENT))),
        Checkpoint(),
    ]
    archive.sync("memory", "t")
    return archive


def _media_ids(archive) -> dict[str, int]:
    with archive.engine.connect() as conn:
        return {row.filename: row.media_id for row in conn.execute(text(
            "SELECT filename, media_id FROM post_media"))}


def test_a_sync_stores_blobs_and_thumbnails_in_the_bucket(s3_archive, alejandria_s3,
                                                         tmp_path):
    keys = alejandria_s3.object_keys()
    blobs = [key for key in keys if key.startswith("archive/media/")]
    thumbnails = [key for key in keys if key.startswith("archive/derived/thumbnails/")]
    assert len(blobs) == 2
    assert sorted(key.rsplit("/", 1)[1] for key in thumbnails) == [
        "150.webp", "300.webp", "600.webp"]
    data_dir = s3_archive.settings.data_dir
    assert not (data_dir / "media").exists()  # nothing of the store on this host's disk
    assert not any((data_dir / "derived").rglob("*.webp"))

    ids = _media_ids(s3_archive)
    stored = s3_archive.library.media_file(ids["a.png"])
    assert stored.path is None and b"".join(stored.read()) == _png()
    assert b"".join(stored.read(1, 3)) == _png()[1:4]
    thumbnail = s3_archive.library.thumbnail(ids["a.png"], 150)
    assert thumbnail.read_bytes().startswith(b"RIFF")
    assert s3_archive.verify_media().ok


def test_verify_gc_and_dedup_work_through_the_store(s3_archive, alejandria_s3):
    client = alejandria_s3.server.client()
    [doc_key] = [key for key in alejandria_s3.object_keys() if key.startswith("archive/media/")
                 and key.endswith(_sha_of(s3_archive, "b.txt"))]
    client.put_object(Bucket=alejandria_s3.bucket, Key=doc_key, Body=b"rotten")
    report = s3_archive.verify_media()
    assert report.corrupt == [doc_key.rsplit("/", 1)[1]]

    assert s3_archive.dedup_media(dry_run=True).mismatched  # reported, never "repaired"

    with s3_archive.engine.begin() as conn:
        conn.execute(text("DELETE FROM post_media"))
    gc = s3_archive.collect_garbage(grace=timedelta(0))
    assert len(gc.rows_removed) == 2
    assert alejandria_s3.object_keys() == []  # blobs and their thumbnails


def _sha_of(archive, filename: str) -> str:
    with archive.engine.connect() as conn:
        return str(conn.execute(text(
            "SELECT m.sha256 FROM media_files m JOIN post_media p ON p.media_id = m.id "
            "WHERE p.filename = :f"), {"f": filename}).scalar_one())


UPLOADER = textwrap.dedent("""
    import os, sys
    from alejandria.builtins import build_plugin_manager
    from alejandria.context import open_media_store
    from alejandria.settings import Settings

    store = open_media_store(Settings(), build_plugin_manager(load_entrypoints=False))
    store.put_chunks(os.urandom(2**20) for _ in range(int(sys.argv[1])))
    print("finished", flush=True)
""")


def test_a_worker_killed_mid_upload_leaves_no_object_and_gc_aborts_its_upload(
        alejandria_s3: S3Bucket, open_archive, tmp_path: Path):
    env = {**os.environ, **alejandria_s3.env, "ALEJANDRIA_DATA_DIR": str(tmp_path / "w"),
           "ALEJANDRIA_S3_PART_MB": "5", "ALEJANDRIA_S3_UPLOAD_CONCURRENCY": "1"}
    client = alejandria_s3.server.client()
    worker = subprocess.Popen([sys.executable, "-c", UPLOADER, "200"], env=env,
                              stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not client.list_multipart_uploads(Bucket=alejandria_s3.bucket).get("Uploads"):
            assert worker.poll() is None, "the upload finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
        if worker.stdout:
            worker.stdout.close()
    assert alejandria_s3.object_keys() == []  # nothing visible, not even a part

    archive = open_archive(**alejandria_s3.settings)
    [upload] = archive.media.incomplete_uploads()
    # (moto dates every multipart upload 2010-11-10, so the grace period is not tested here)
    report = archive.collect_garbage(grace=timedelta(0))
    assert report.temp_files_removed == 1 and upload.name.startswith("archive/media/")
    assert client.list_multipart_uploads(Bucket=alejandria_s3.bucket).get("Uploads", []) == []

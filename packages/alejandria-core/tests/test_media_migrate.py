"""``media migrate --to s3://...``: every blob copied and verified, an interrupted run resumed,
a corrupt source file never copied, and the archive reading from S3 after the switch."""

from __future__ import annotations

import pytest

from alejandria.models import Checkpoint, CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.testing import S3Bucket


class Interrupted(Exception):
    pass


def test_migrate_to_s3_resumes_and_verifies(memory_source, open_archive,
                                            alejandria_s3: S3Bucket):
    # the S3 credentials are set, the media store is still the local folder
    credentials = {k: v for k, v in alejandria_s3.settings.items() if k != "media_url"}
    archive = open_archive(**credentials)
    blobs = {f"k{n}": f"file number {n} ".encode() * (n + 1) * 1000 for n in range(4)}
    memory_source.blobs = blobs
    memory_source.content["t"] = [
        CreatorIn(external_id="c", name="C"),
        PostIn(external_id="p", creator_external_id="c", title="Four files",
               media=tuple(MediaIn(key=key, filename=f"{key}.txt", kind=MediaKind.DOCUMENT)
                           for key in blobs)),
        Checkpoint(),
    ]
    archive.sync("memory", "t")
    target = alejandria_s3.media_url

    def stop_after_two(done: int, _total: int) -> None:
        if done == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        archive.migrate_media(target, workers=1, progress=stop_after_two)
    assert len(alejandria_s3.object_keys()) == 2

    # a file whose bytes changed on the old store is reported and not copied
    corrupt = sorted(archive.media.iter_blobs(), key=lambda blob: blob.name)
    copied = {key.rsplit("/", 1)[1] for key in alejandria_s3.object_keys()}
    victim = next(blob.name for blob in corrupt if blob.name not in copied)
    path = archive.media.local_file(victim)
    path.write_bytes(path.read_bytes().upper())

    report = archive.migrate_media(target, workers=2)
    assert (report.present, report.copied, report.corrupt) == (2, 1, [victim])
    assert not report.ok and len(alejandria_s3.object_keys()) == 3

    # readers switch: the same archive on S3 serves every good file
    on_s3 = open_archive(**alejandria_s3.settings)
    verify = on_s3.verify_media()
    assert verify.missing == [victim] and verify.checked == 4
    again = on_s3.migrate_media(target, source=str(archive.settings.media_dir))
    assert again.present == 3 and again.corrupt == [victim]

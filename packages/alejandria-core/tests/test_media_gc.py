"""Unreferenced files are collected after the grace period, never before, never referenced."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from sqlalchemy import text

from alejandria.models import (
    Checkpoint,
    CollectionIn,
    CollectionRef,
    CreatorIn,
    MediaIn,
    PostIn,
    Prune,
)


def test_gc_removes_only_old_unreferenced_files(archive, memory_source, count):
    creator = CreatorIn(external_id="c", name="C")
    book = CollectionIn(external_id="b", creator_external_id="c", title="B")
    memory_source.blobs = {"keep": b"kept bytes", "drop": b"dropped bytes"}

    def post(eid: str, key: str) -> PostIn:
        return PostIn(external_id=eid, creator_external_id="c", title=eid,
                      collections=(CollectionRef(external_id="b"),),
                      media=(MediaIn(key=key, filename=f"{key}.bin"),))

    memory_source.content["t"] = [creator, book, post("p1", "keep"), post("p2", "drop"),
                                  Checkpoint()]
    archive.sync("memory", "t")
    memory_source.content["t"] = [creator, book, post("p1", "keep"),
                                  Prune(collection_external_id="b", keep=("p1",)), Checkpoint()]
    archive.sync("memory", "t")
    orphan = archive.media.root / "ab" / "cd" / ("ab" + "cd" + "0" * 60)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left by a crashed sync")
    stale_tmp = archive.media.root / "tmp" / "incoming-x"
    stale_tmp.write_bytes(b"half")
    old = time.time() - 8 * 86400
    os.utime(orphan, (old, old))
    os.utime(stale_tmp, (old, old))

    early = archive.collect_garbage()
    assert early.rows_removed == []  # the dropped file is unreferenced, but only just
    assert early.orphan_files_removed == [orphan.name] and early.temp_files_removed == 1

    with archive.engine.begin() as conn:
        conn.execute(text("UPDATE media_files SET first_seen_at = now() - interval '8 days'"))
    dry = archive.collect_garbage(dry_run=True)
    assert len(dry.rows_removed) == 1 and count(archive, "media_files") == 2

    report = archive.collect_garbage(grace=timedelta(days=7))

    assert len(report.rows_removed) == 1
    assert count(archive, "media_files") == 1
    remaining = [p.read_bytes() for p in archive.media.root.glob("??/??/*")]
    assert remaining == [b"kept bytes"]

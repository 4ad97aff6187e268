"""Backups copy only new blobs, keep what the retention policy says, and verify finds damage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alejandria.backup import BackupError
from alejandria.backup.create import create_backup
from alejandria.backup.location import Location
from alejandria.backup.manifest import DUMP_NAME, Manifest, write_manifest
from alejandria.backup.pgtools import server_major, tools_for
from alejandria.backup.retention import Policy, choose, prune
from alejandria.backup.verify import verify_backup
from alejandria.models import Checkpoint, MediaIn, PostIn

from .backup_helpers import alejandria_settings_overrides, fill, sha  # noqa: F401 (fixture)

DAY = timedelta(days=1)


def test_second_backup_copies_nothing_and_a_new_file_copies_one(archive, memory_source,
                                                                 tmp_path):
    fill(archive, memory_source)
    to = tmp_path / "backups"
    first = create_backup(archive.context, to=to, now=datetime(2026, 5, 1, tzinfo=UTC))
    second = create_backup(archive.context, to=to, now=datetime(2026, 5, 2, tzinfo=UTC))
    assert (first.blobs.copied, second.blobs.copied, second.blobs.present) == (4, 0, 4)

    memory_source.blobs["new"] = b"a brand new picture"
    memory_source.content["t"] = [PostIn(external_id="p4", creator_external_id="ana",
                                         title="Nueva", media=(MediaIn(key="new"),)),
                                  Checkpoint()]
    assert archive.sync("memory", "t").ok
    third = create_backup(archive.context, to=to, now=datetime(2026, 5, 3, tzinfo=UTC))

    assert (third.blobs.copied, third.blobs.copied_bytes) == (1, len(b"a brand new picture"))
    assert sha(b"a brand new picture") in third.manifest.media
    assert [folder.name for folder, _ in Location(to).snapshots()] == [
        "20260501T000000Z", "20260502T000000Z", "20260503T000000Z"]


def test_a_file_missing_from_the_store_is_reported_not_fatal(archive, memory_source, tmp_path):
    filled = fill(archive, memory_source)
    lost = sha(filled.blobs["song"])
    archive.media.path_for(lost).unlink()
    corrupt = sha(filled.blobs["book"])
    archive.media.path_for(corrupt).write_bytes(b"x" * len(filled.blobs["book"]))

    made = create_backup(archive.context, to=tmp_path / "backups")

    assert not made.ok
    assert made.manifest.missing == [lost] and made.manifest.corrupt == [corrupt]
    assert lost not in made.manifest.media and corrupt not in made.manifest.media
    assert not Location(tmp_path / "backups").blob_path(corrupt).exists()


def _snapshot(location: Location, when: datetime, blobs: dict[str, bytes]) -> str:
    folder = location.new_snapshot_dir(when)
    (folder / DUMP_NAME).write_bytes(b"dump")
    for digest, data in blobs.items():
        path = location.blob_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    write_manifest(folder, Manifest(
        name=folder.name, created_at=when, alejandria_version="test", server_version="16",
        dump_sha256="0" * 64, dump_size=4, counts={},
        media={digest: len(data) for digest, data in blobs.items()}))
    return folder.name


def test_retention_keeps_daily_weekly_monthly_and_prunes_unneeded_blobs(tmp_path):
    location = Location(tmp_path / "backups")
    location.create()
    start = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    old_only = {sha(b"only in the oldest"): b"only in the oldest"}
    shared = {sha(b"in every backup"): b"in every backup"}
    names = [_snapshot(location, start, {**shared, **old_only})]
    names += [_snapshot(location, start + day * DAY, shared) for day in range(1, 120)]
    names.append(_snapshot(location, start + 119 * DAY + timedelta(hours=5), shared))
    (location.snapshots_dir / "20260601T000000Z").mkdir()  # an interrupted backup
    stray = location.blob_path(sha(b"left by it"))
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left by it")

    report = prune(location, Policy(daily=7, weekly=4, monthly=6))

    kept = [folder.name for folder, _ in location.snapshots()]
    assert kept == report.kept
    # 7 days (Apr 24-30, the 30th's later snapshot), the weeks' newest (Apr 19, Apr 12; the
    # two newest weeks' are kept already), the months' newest (Jan 31, Feb 28, Mar 31)
    assert [name[:8] for name in kept] == [
        "20260131", "20260228", "20260331", "20260412", "20260419",
        *(f"202604{day}" for day in range(24, 31))]
    assert kept[-1] == names[-1] and names[-2] not in kept
    assert report.incomplete_removed == ["20260601T000000Z"]
    assert not (location.snapshots_dir / "20260601T000000Z").exists()
    assert not stray.exists()  # an interrupted backup's blob
    assert not location.blob_path(next(iter(old_only))).exists()  # only the pruned oldest's
    assert location.blob_path(next(iter(shared))).exists()
    assert report.blobs_removed == 2

    tighter = prune(location, Policy(daily=1, weekly=0, monthly=0))
    assert tighter.kept == [names[-1]] and tighter.blobs_removed == 0
    assert location.blob_path(next(iter(shared))).exists()


def test_choose_counts_periods_not_snapshots():
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    snapshots = [(f"s{i}", monday + i * timedelta(hours=12)) for i in range(28)]  # 14 days
    kept = choose(snapshots, Policy(daily=3, weekly=2, monthly=0))
    # newest of each of the last 3 days, and the newest of the previous ISO week
    assert kept == {"s27", "s25", "s23", "s13"}
    assert choose(snapshots, Policy(0, 0, 0)) == {"s27"}


def test_verify_passes_then_finds_a_corrupt_blob_and_a_damaged_dump(archive, memory_source,
                                                                    tmp_path):
    filled = fill(archive, memory_source)
    made = create_backup(archive.context, to=tmp_path / "backups")
    good = verify_backup(archive.engine, archive.settings, tmp_path / "backups")
    assert good.ok and good.database_restored and good.blobs_checked == 4

    blob = Location(tmp_path / "backups").blob_path(sha(filled.blobs["song"]))
    blob.write_bytes(b"\0" * blob.stat().st_size)  # same size, other bytes
    dump = made.snapshot / DUMP_NAME
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))

    bad = verify_backup(archive.engine, archive.settings, made.snapshot)

    assert not bad.ok and not bad.database_restored
    assert any(f"media file {sha(filled.blobs['song'])} is corrupt" in p for p in bad.problems)
    assert any("database dump" in p and "SHA-256 differs" in p for p in bad.problems)

    dump.write_bytes(bytes(data[:100]))
    truncated = verify_backup(archive.engine, archive.settings, made.snapshot)
    assert any("truncated?" in p for p in truncated.problems)


def test_verify_names_what_is_not_a_backup(archive, tmp_path):
    with pytest.raises(BackupError, match="does not exist"):
        verify_backup(archive.engine, archive.settings, tmp_path / "nowhere")
    (tmp_path / "empty" / "snapshots").mkdir(parents=True)
    with pytest.raises(BackupError, match="no complete backup yet"):
        verify_backup(archive.engine, archive.settings, tmp_path / "empty")


def test_pg_dump_matches_the_server(archive):
    major, _version = server_major(archive.engine)
    tools = tools_for(major)
    assert tools.major == major and tools.pg_dump.is_file() and tools.pg_restore.is_file()
    with pytest.raises(BackupError, match=r"no pg_dump of PostgreSQL 99.*postgresql-client-99"
                                          r".*ALEJANDRIA_PG_BIN_DIR"):
        tools_for(99)

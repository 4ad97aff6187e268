"""Proving a snapshot restores: its dump into a scratch database, every blob by its hash."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from alejandria.backup import BackupError
from alejandria.backup.blobs import BATCH, check_blob, hash_file
from alejandria.backup.database import restore_database, scratch_database, table_counts
from alejandria.backup.location import location_of, resolve_snapshot
from alejandria.backup.manifest import DUMP_NAME, Manifest, read_manifest
from alejandria.backup.pgtools import server_major, target_for, tools_for
from alejandria.settings import Settings

#: ``progress(phase, done, total)``: phases "dump", "database", "blobs".
Progress = Callable[[str, int, int], None]


def _quiet(_phase: str, _done: int, _total: int) -> None:
    return None


@dataclass
class VerifyReport:
    snapshot: Path
    manifest: Manifest
    database_restored: bool = False
    blobs_checked: int = 0
    bytes_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {"snapshot": str(self.snapshot), "name": self.manifest.name, "ok": self.ok,
                "database_restored": self.database_restored,
                "blobs_checked": self.blobs_checked, "bytes_checked": self.bytes_checked,
                "problems": self.problems}


def verify_backup(engine: Engine, settings: Settings, backup: Path, *,
                  embedded: bool = False, progress: Progress = _quiet,
                  workers: int = 4) -> VerifyReport:
    """Check the snapshot ``backup`` (a snapshot folder, or a location: its newest): the dump
    is intact and restores into a scratch database on ``engine``'s server with the row counts
    the manifest recorded, and every blob it needs hashes to its name."""
    snapshot = resolve_snapshot(backup)
    manifest = read_manifest(snapshot)
    report = VerifyReport(snapshot, manifest)
    dump = snapshot / DUMP_NAME
    progress("dump", 0, 1)
    dump_problem = _check_dump(dump, manifest)
    progress("dump", 1, 1)
    if dump_problem:
        report.problems.append(dump_problem)
    else:
        progress("database", 0, 1)
        _check_restore(engine, settings, dump, manifest, report, embedded)
        progress("database", 1, 1)
    _check_blobs(snapshot, manifest, report, progress, workers)
    return report


def _check_dump(dump: Path, manifest: Manifest) -> str | None:
    try:
        size = dump.stat().st_size
    except FileNotFoundError:
        return f"the database dump {dump} is missing: this backup cannot be restored"
    if size != manifest.dump_size:
        return (f"the database dump {dump} is damaged: {size:,} bytes instead of the "
                f"{manifest.dump_size:,} it was written with (truncated?); use another backup")
    if hash_file(dump) != manifest.dump_sha256:
        return (f"the database dump {dump} is damaged: its SHA-256 differs from the one "
                "recorded when it was written; use another backup")
    return None


def _check_restore(engine: Engine, settings: Settings, dump: Path, manifest: Manifest,
                   report: VerifyReport, embedded: bool) -> None:
    major, _version = server_major(engine)
    tools = tools_for(major, bin_dir=settings.pg_bin_dir, embedded=embedded)
    with scratch_database(engine) as scratch:
        try:
            restore_database(tools, target_for(scratch, "a scratch database"), dump)
        except BackupError as exc:
            report.problems.append(f"the database dump does not restore: {exc}")
            return
        report.database_restored = True
        with scratch.connect() as conn:
            counts = table_counts(conn)
    for table, expected in sorted(manifest.counts.items()):
        got = counts.get(table)
        if got != expected:
            report.problems.append(f"table {table}: {got if got is not None else 'missing'} "
                                   f"row(s) restored, the backup recorded {expected}")


def _check_blobs(snapshot: Path, manifest: Manifest, report: VerifyReport, progress: Progress,
                 workers: int) -> None:
    location = location_of(snapshot)
    blobs = sorted(manifest.blobs().items())
    derived_of = {item.sha256: path for path, item in manifest.derived.items()}

    def check(item: tuple[str, int]) -> tuple[str, int, str | None]:
        sha, size = item
        return sha, size, check_blob(location.blob_path(sha), sha, size)

    def checked() -> Iterator[tuple[str, int, str | None]]:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for start in range(0, len(blobs), BATCH):  # ``map`` submits all it is given
                yield from pool.map(check, blobs[start:start + BATCH])

    for done, (sha, size, problem) in enumerate(checked(), 1):
        report.blobs_checked += 1
        report.bytes_checked += size
        if problem:
            what = (f"media file {sha}" if sha in manifest.media
                    else f"derived file {derived_of.get(sha, sha)}")
            report.problems.append(f"{what} {problem} in {location.blobs}")
        if done % 64 == 0 or done == len(blobs):
            progress("blobs", done, len(blobs))


__all__ = ["VerifyReport", "verify_backup"]

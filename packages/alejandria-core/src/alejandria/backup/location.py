"""A backup location on disk: its folders, its snapshots, and the lock one backup holds."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alejandria.backup import BackupError
from alejandria.backup.manifest import MANIFEST_NAME, Manifest, read_manifest

SNAPSHOT_NAME_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Location:
    """The folder holding snapshots and the blob pool they share."""

    root: Path

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def blob_path(self, sha256: str) -> Path:
        return self.blobs / sha256[:2] / sha256[2:4] / sha256

    def create(self) -> None:
        for folder in (self.blobs, self.snapshots_dir, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)

    def new_snapshot_dir(self, now: datetime) -> Path:
        """A fresh folder named by ``now`` (UTC), with a suffix when one exists already."""
        base = now.astimezone(UTC).strftime(SNAPSHOT_NAME_FORMAT)
        for attempt in range(1, 1000):
            folder = self.snapshots_dir / (base if attempt == 1 else f"{base}-{attempt}")
            try:
                folder.mkdir(parents=True)
            except FileExistsError:
                continue
            return folder
        raise BackupError(f"too many backups named {base} in {self.snapshots_dir}")

    def snapshots(self) -> list[tuple[Path, Manifest]]:
        """Every complete snapshot, oldest first (interrupted ones, without a manifest, are
        left out)."""
        found: list[tuple[Path, Manifest]] = []
        if not self.snapshots_dir.is_dir():
            return found
        for folder in sorted(self.snapshots_dir.iterdir()):
            if folder.is_dir() and (folder / MANIFEST_NAME).is_file():
                found.append((folder, read_manifest(folder)))
        found.sort(key=lambda item: (item[1].created_at, item[0].name))
        return found

    def incomplete(self) -> list[Path]:
        """Snapshot folders without a manifest: backups that did not finish."""
        if not self.snapshots_dir.is_dir():
            return []
        return sorted(folder for folder in self.snapshots_dir.iterdir()
                      if folder.is_dir() and not (folder / MANIFEST_NAME).is_file())

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the location's lock: one backup or prune at a time."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BackupError(f"another backup is running in {self.root}; wait for it to "
                                  "finish") from None
            yield
        finally:
            os.close(fd)


def resolve_snapshot(path: Path) -> Path:
    """``path`` as a snapshot folder: the folder itself, or the newest snapshot of a backup
    location; ``BackupError`` naming the path when it is neither."""
    path = path.expanduser()
    if (path / MANIFEST_NAME).is_file():
        return path
    if (path / "snapshots").is_dir():
        snapshots = Location(path).snapshots()
        if not snapshots:
            raise BackupError(f"the backup location {path} has no complete backup yet: run "
                              "'alejandria backup' first")
        return snapshots[-1][0]
    if not path.exists():
        raise BackupError(f"{path} does not exist: name a backup folder "
                          "(<location>/snapshots/<name>) or a backup location")
    raise BackupError(f"{path} is neither a backup (no {MANIFEST_NAME}) nor a backup location "
                      "(no snapshots folder)")


def location_of(snapshot: Path) -> Location:
    """The location a snapshot folder belongs to (its blobs are there)."""
    return Location(snapshot.resolve().parent.parent)


__all__ = ["Location", "location_of", "resolve_snapshot"]

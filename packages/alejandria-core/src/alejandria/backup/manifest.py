"""A snapshot's manifest: what its dump holds and which blobs it needs.

The manifest is written last, atomically and durably, after the dump and every blob it names:
a snapshot folder without one is an interrupted backup (``Location.snapshots`` skips it and
retention removes it).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alejandria.backup import BackupError

FORMAT = 1
MANIFEST_NAME = "manifest.json"
DUMP_NAME = "database.dump"


@dataclass(frozen=True)
class DerivedFile:
    """A derived file (a thumbnail) kept by content; ``size`` and ``mtime_ns`` let the next
    backup reuse its hash without reading it again."""

    sha256: str
    size: int
    mtime_ns: int


@dataclass
class Manifest:
    """What one snapshot is. ``media``: sha256 -> size of every media file the dump's rows
    name that was in the media store; ``derived``: path under the data dir -> ``DerivedFile``;
    ``counts``: rows per table in the dump; ``key_fingerprint``: which secret key encrypted
    the stored credentials (None when there are none)."""

    name: str
    created_at: datetime
    alejandria_version: str
    server_version: str
    dump_sha256: str
    dump_size: int
    counts: dict[str, int]
    media: dict[str, int]
    derived: dict[str, DerivedFile] = field(default_factory=dict)
    key_fingerprint: str | None = None
    #: Media rows whose file was missing or corrupt in the media store (not in the backup).
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    format: int = FORMAT

    def blobs(self) -> dict[str, int]:
        """Every blob this snapshot needs: sha256 -> size."""
        needed = dict(self.media)
        for item in self.derived.values():
            needed[item.sha256] = item.size
        return needed

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.astimezone(UTC).isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        derived = {path: DerivedFile(**item) for path, item in data.get("derived", {}).items()}
        created = datetime.fromisoformat(data["created_at"])
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return cls(name=data["name"], created_at=created,
                   alejandria_version=data.get("alejandria_version", ""),
                   server_version=data.get("server_version", ""),
                   dump_sha256=data["dump_sha256"], dump_size=int(data["dump_size"]),
                   counts={k: int(v) for k, v in data.get("counts", {}).items()},
                   media={k: int(v) for k, v in data.get("media", {}).items()},
                   derived=derived, key_fingerprint=data.get("key_fingerprint"),
                   missing=list(data.get("missing", [])), corrupt=list(data.get("corrupt", [])),
                   format=int(data.get("format", FORMAT)))


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the snapshot in ``folder``; ``BackupError`` saying why it cannot be
    read."""
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a complete backup: it has no {MANIFEST_NAME} (an "
                          "interrupted backup, or not a backup folder)") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"the manifest {path} cannot be read ({exc}): the backup is "
                          "damaged; use another one") from exc
    if not isinstance(data, dict) or int(data.get("format", 0)) > FORMAT:
        raise BackupError(f"{path} was written by a newer Alejandria (format "
                          f"{data.get('format') if isinstance(data, dict) else '?'}): "
                          "upgrade to read it")
    try:
        return Manifest.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupError(f"the manifest {path} is damaged ({exc}): use another backup") \
            from exc


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Write the manifest durably: temp file, fsync, rename, fsync of the folder."""
    path = folder / MANIFEST_NAME
    tmp = folder / f".{MANIFEST_NAME}.tmp"
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(manifest.to_json(), handle, separators=(",", ":"), sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["DUMP_NAME", "FORMAT", "MANIFEST_NAME", "DerivedFile", "Manifest", "read_manifest",
           "write_manifest"]

"""``alejandria media migrate --to URL``: copy an archive's media into another store.

Every file the database names is copied from the current store (or ``--from``) to the
target, hashed on the way by the target's ``put_stream``: a copy that does not hash to its
name is reported corrupt and removed from the target, never kept. A file the target already
holds with the right size is skipped, so an interrupted run is resumed by running it again
(``--verify`` re-reads the target's copies too). Thumbnails and other derived files follow
when the target is remote (a local store keeps them in ``<data_dir>/derived`` anyway).

No downtime for readers: the archive keeps reading and writing the old store while this
runs; then set ``ALEJANDRIA_MEDIA_URL`` to the target, restart, and run the migration once
more with ``--from`` the old store to copy what was stored meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from alejandria.errors import MediaError
from alejandria.plugin_types import BlobStore
from alejandria.storage.schema import media_files

Progress = Callable[[int, int], None]


@dataclass
class MigrateReport:
    source: str
    target: str
    copied: int = 0
    copied_bytes: int = 0
    present: int = 0
    derived_copied: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "source": self.source, "target": self.target,
                "copied": self.copied, "copied_bytes": self.copied_bytes,
                "present": self.present, "derived_copied": self.derived_copied,
                "missing": self.missing, "corrupt": self.corrupt}


def migrate_media(engine: Engine, source: BlobStore, target: BlobStore, *, derived_dir: Path,
                  verify: bool = False, workers: int = 4,
                  progress: Progress | None = None) -> MigrateReport:
    """Copy every blob the database names from ``source`` to ``target`` (see the module)."""
    if source.url == target.url:
        raise MediaError(f"the media store is already {target.url}: name another with --to")
    target.check()
    report = MigrateReport(source.url, target.url)
    with engine.connect() as conn:
        rows = [(str(sha), int(size)) for sha, size in conn.execute(
            select(media_files.c.sha256, media_files.c.size).order_by(media_files.c.id))]
    lock = threading.Lock()
    done = 0

    def one(item: tuple[str, int]) -> None:
        nonlocal done
        sha256, size = item
        outcome = _copy(source, target, sha256, size, verify)
        with lock:
            done += 1
            if outcome == "copied":
                report.copied += 1
                report.copied_bytes += size
            elif outcome == "present":
                report.present += 1
            else:
                getattr(report, outcome).append(sha256)
            if progress:
                progress(done, len(rows))

    if workers <= 1:
        for row in rows:
            one(row)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, rows))
    target.sync_pending()
    if target.remote and derived_dir.is_dir():
        for path in sorted(derived_dir.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                target.put_derived(path.relative_to(derived_dir).as_posix(), path)
                report.derived_copied += 1
    return report


def _copy(source: BlobStore, target: BlobStore, sha256: str, size: int, verify: bool) -> str:
    """``copied``, ``present``, ``missing`` or ``corrupt``."""
    if target.size(sha256) == size and (not verify or target.verify(sha256)):
        return "present"
    try:
        local = source.local_file(sha256)
        if local is not None:
            with local.open("rb") as handle:
                stored, _size, created = target.put_stream(handle, sync=False)
        else:
            stored, _size, created = target.put_chunks(source.read(sha256), sync=False)
    except FileNotFoundError:
        return "missing"
    if stored != sha256:  # the source's bytes changed: keep nothing made of them
        if created:
            target.delete(stored)
        return "corrupt"
    return "copied"


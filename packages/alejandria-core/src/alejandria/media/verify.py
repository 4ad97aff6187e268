"""``alejandria media verify``: re-hash every stored file and report missing or corrupt ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from alejandria.plugin_types import BlobStore
from alejandria.storage.schema import media_files


@dataclass
class VerifyReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "missing": self.missing,
                "corrupt": self.corrupt}


def verify_media(engine: Engine, store: BlobStore,
                 progress: Callable[[int, int], None] | None = None) -> VerifyReport:
    """Re-hash each file the database knows; stamp ``verified_at`` on the good ones."""
    report = VerifyReport()
    with engine.connect() as conn:
        rows = conn.execute(select(media_files.c.id, media_files.c.sha256)
                            .order_by(media_files.c.id)).all()
    good: list[int] = []
    for done, row in enumerate(rows):
        if progress:
            progress(done, len(rows))
        report.checked += 1
        if not store.verify(row.sha256):
            # a second look only for the bad ones: missing or corrupt
            (report.missing if not store.exists(row.sha256) else report.corrupt).append(
                row.sha256)
        else:
            good.append(row.id)
    if good:
        with engine.begin() as conn:
            conn.execute(update(media_files).where(media_files.c.id.in_(good))
                         .values(verified_at=func.now()))
    return report

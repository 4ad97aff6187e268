"""Which snapshots to keep (daily, weekly, monthly), and pruning the rest with their blobs.

The rule is restic's ``--keep-daily/--keep-weekly/--keep-monthly``: going from the newest
snapshot back, the newest one of each of the last N days (weeks, months) that have one is
kept; a snapshot kept by any rule stays, and the newest is always kept. Periods are in UTC.
A blob is removed only when no kept snapshot names it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from alejandria.backup.location import Location
from alejandria.settings import Settings


@dataclass(frozen=True)
class Policy:
    daily: int = 7
    weekly: int = 4
    monthly: int = 6

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(settings.backup_keep_daily, settings.backup_keep_weekly,
                   settings.backup_keep_monthly)

    def describe(self) -> str:
        return f"{self.daily} daily, {self.weekly} weekly, {self.monthly} monthly"


@dataclass
class PruneReport:
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    incomplete_removed: list[str] = field(default_factory=list)
    blobs_removed: int = 0
    bytes_freed: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"kept": self.kept, "removed": self.removed,
                "incomplete_removed": self.incomplete_removed,
                "blobs_removed": self.blobs_removed, "bytes_freed": self.bytes_freed}


_PERIODS: tuple[tuple[str, Callable[[datetime], tuple[int, ...]]], ...] = (
    ("daily", lambda t: (t.year, t.month, t.day)),
    ("weekly", lambda t: t.isocalendar()[:2]),
    ("monthly", lambda t: (t.year, t.month)),
)


def choose(snapshots: Sequence[tuple[str, datetime]], policy: Policy) -> set[str]:
    """The names ``policy`` keeps among ``(name, created_at)``."""
    newest_first = sorted(snapshots, key=lambda item: item[1], reverse=True)
    keep: set[str] = {newest_first[0][0]} if newest_first else set()
    for rule, period_of in _PERIODS:
        limit = getattr(policy, rule)
        seen: set[tuple[int, ...]] = set()
        for name, created in newest_first:
            if len(seen) >= limit:
                break
            period = period_of(created)
            if period not in seen:
                seen.add(period)
                keep.add(name)
    return keep


def prune(location: Location, policy: Policy, *, dry_run: bool = False) -> PruneReport:
    """Remove the snapshots ``policy`` does not keep, interrupted ones, and the blobs no kept
    snapshot needs. The caller holds the location's lock."""
    snapshots = location.snapshots()
    keep = choose([(folder.name, manifest.created_at) for folder, manifest in snapshots],
                  policy)
    report = PruneReport()
    needed: set[str] = set()
    unneeded: set[str] = set()
    for folder, manifest in snapshots:
        if folder.name in keep:
            report.kept.append(folder.name)
            needed.update(manifest.blobs())
        else:
            report.removed.append(folder.name)
            unneeded.update(manifest.blobs())
    incomplete = location.incomplete()
    report.incomplete_removed = [folder.name for folder in incomplete]
    if incomplete:
        # an interrupted backup's blobs are named by no manifest: look at the whole pool
        unneeded.update(_pool(location.blobs))
    for sha256 in sorted(unneeded - needed):
        path = location.blob_path(sha256)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        report.blobs_removed += 1
        report.bytes_freed += size
        if not dry_run:
            path.unlink(missing_ok=True)
    if not dry_run:
        for name in report.removed:
            shutil.rmtree(location.snapshots_dir / name)
        for folder in incomplete:
            shutil.rmtree(folder, ignore_errors=True)
        for stale in location.tmp.glob("*") if location.tmp.is_dir() else ():
            stale.unlink(missing_ok=True)
    return report


def _pool(blobs: Path) -> set[str]:
    if not blobs.is_dir():
        return set()
    return {path.name for path in blobs.glob("??/??/*") if path.is_file()}


__all__ = ["Policy", "PruneReport", "choose", "prune"]

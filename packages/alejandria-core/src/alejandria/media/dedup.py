"""``alejandria media dedup``: re-hash the media store and repair what drifted from one file
per content.

The store keeps each content once (``media_files.sha256`` is unique and files live at
``media/ab/cd/<sha256>``), so a normal archive has nothing to merge: two posts with the same
image through different keys already share one row and one file. What can still drift:

* **Rows that name the same content differently.** The unique constraint compares strings, so
  rows imported from an older layout or written by a plugin with an upper-case (or padded)
  hash can duplicate a row of the canonical lower-case hash. Such rows are merged into one:
  every reference to them (``post_media``, ``media_keys`` aliases, transcripts, chunks, embeds,
  and any plugin table with a foreign key to ``media_files``) is re-pointed at the kept row in
  one transaction, and the kept row's hash is made canonical. Derived data tied to a merged
  row's hash (thumbnails) is dropped, for ``process backfill`` to make again.
* **Files no row points at** (a crash, a hand copy, a file moved inside the store). Its
  content is hashed: a copy of content a row already has is removed, or put back at the row's
  path when the row's own file is missing; anything else is reported and left to
  ``media gc``, which removes unreferenced files after its grace period.
* **A row's file whose bytes no longer match its hash** (corrupt, or replaced) and **a row
  with no file at all**: reported, never overwritten or deleted, since nothing here can tell
  which bytes were right. ``media verify`` reports the same; dedup also says where a good
  copy is, when it found one.

Database changes happen in one transaction and file changes after it commits, so an
interrupted run leaves files that the next run treats as orphans; running it again changes
nothing. ``dry_run`` reports the same plan and changes nothing.

A remote store (S3) is written only under verified hashes, by our own store, so its files
cannot drift the way a folder's can: there dedup merges rows, re-hashes every file through
the store and reports what is corrupt, missing or unknown, and moves no file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, delete, func, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from alejandria.plugin_types import BlobStore
from alejandria.settings import Settings
from alejandria.storage.media_store import MediaStore
from alejandria.storage.passages import FIRST_ORDINAL, attach
from alejandria.storage.schema import (
    chunks,
    media_derivatives,
    media_files,
    media_keys,
    media_passages,
    post_media,
    transcriptions,
)

Progress = Callable[[int, int], None]
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: Foreign keys to media_files(id), as (quoted table, quoted column); found in the catalog so
#: plugin tables are re-pointed too.
_REFERENCES_SQL = text(
    "SELECT c.conrelid::regclass::text AS tbl, quote_ident(a.attname) AS col "
    "FROM pg_constraint c "
    "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
    "WHERE c.contype = 'f' AND c.confrelid = 'media_files'::regclass "
    "ORDER BY 1, 2"
)


@dataclass
class DedupReport:
    dry_run: bool = False
    rows_checked: int = 0
    files_checked: int = 0
    bytes_hashed: int = 0
    #: Rows merged into another row of the same content: {sha256, kept_id, merged_ids,
    #: post_media, media_keys} (references re-pointed).
    merged: list[dict[str, Any]] = field(default_factory=list)
    #: Rows whose hash was made canonical: {id, from, to}.
    renamed: list[dict[str, Any]] = field(default_factory=list)
    #: Missing files put back from a copy found elsewhere in the store: {sha256, from}.
    restored: list[dict[str, Any]] = field(default_factory=list)
    #: Redundant copies removed (orphans and merged rows' files): {path, sha256}.
    removed: list[dict[str, Any]] = field(default_factory=list)
    #: Files no row points at whose content no row has; left to ``media gc``: {path, sha256}.
    unknown_orphans: list[dict[str, Any]] = field(default_factory=list)
    #: Rows whose file's bytes do not match their hash: {id, sha256, actual, good_copy}.
    mismatched: list[dict[str, Any]] = field(default_factory=list)
    #: Rows with no file and no copy anywhere in the store: {id, sha256}.
    missing: list[dict[str, Any]] = field(default_factory=list)
    #: Merges rolled back because a reference could not move: {sha256, error}.
    failed: list[dict[str, Any]] = field(default_factory=list)
    bytes_freed: int = 0

    @property
    def ok(self) -> bool:
        """Nothing left that needs a person: no corrupt or missing file, no failed merge."""
        return not (self.mismatched or self.missing or self.failed)

    @property
    def changed(self) -> bool:
        return bool(self.merged or self.renamed or self.restored or self.removed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "dry_run": self.dry_run, "rows_checked": self.rows_checked,
            "files_checked": self.files_checked, "bytes_hashed": self.bytes_hashed,
            "merged": self.merged, "renamed": self.renamed, "restored": self.restored,
            "removed": self.removed, "unknown_orphans": self.unknown_orphans,
            "mismatched": self.mismatched, "missing": self.missing, "failed": self.failed,
            "bytes_freed": self.bytes_freed,
        }


@dataclass(frozen=True)
class _Row:
    id: int
    sha256: str
    first_seen_at: datetime
    actual: str | None  # the content hash of the file at its path; None when there is none

    @property
    def canonical(self) -> str | None:
        value = self.sha256.strip().lower()
        return value if _HEX64.fullmatch(value) else None


@dataclass
class _Group:
    """Every row and file of one content hash, and what to do about them."""

    sha256: str
    rows: list[_Row]
    orphans: list[Path] = field(default_factory=list)

    @property
    def keeper(self) -> _Row:
        exact = [row for row in self.rows if row.sha256 == self.sha256]
        return exact[0] if exact else min(self.rows, key=lambda row: row.id)

    @property
    def duplicates(self) -> list[_Row]:
        keeper = self.keeper
        return [row for row in self.rows if row.id != keeper.id]


@dataclass(frozen=True)
class _FileOp:
    """Remove ``path`` (a redundant copy), or move it to ``target`` (a missing file).
    ``row_file``: the path is a row's own file, which must stay if its merge fails."""

    path: Path
    sha256: str
    row_file: bool
    target: Path | None = None


def dedup_media(engine: Engine, store: BlobStore, settings: Settings, *,
                dry_run: bool = False, progress: Progress | None = None) -> DedupReport:
    """Re-hash every stored file and repair duplicates (see the module's docstring)."""
    if not isinstance(store, MediaStore):
        return _dedup_remote(engine, store, dry_run=dry_run, progress=progress)
    report = DedupReport(dry_run=dry_run)
    with engine.connect() as conn:
        db_rows = conn.execute(select(media_files.c.id, media_files.c.sha256,
                                      media_files.c.first_seen_at)
                               .order_by(media_files.c.id)).all()
    row_paths = {store.path_for(row.sha256) for row in db_rows}
    orphan_paths = sorted(path for path in store.root.glob("??/??/*")
                          if path.is_file() and path not in row_paths)
    total = len(db_rows) + len(orphan_paths)
    hasher = _Hasher(report, progress, total)

    rows = [_Row(row.id, row.sha256, row.first_seen_at, hasher.hash(store.path_for(row.sha256)))
            for row in db_rows]
    report.rows_checked = len(rows)
    orphans = {path: hasher.hash(path) for path in orphan_paths}
    report.files_checked = len(rows) + len(orphans)
    if progress:
        progress(total, total)

    groups: dict[str, _Group] = {}
    for row in rows:
        canonical = row.canonical
        if canonical is None:
            report.mismatched.append({"id": row.id, "sha256": row.sha256, "actual": row.actual,
                                      "good_copy": None, "reason": "not a SHA-256 hash"})
            continue
        groups.setdefault(canonical, _Group(canonical, [])).rows.append(row)
    for path, digest in orphans.items():
        if digest is None:
            continue
        if digest in groups:
            groups[digest].orphans.append(path)
        else:
            report.unknown_orphans.append({"path": _relative(store, path), "sha256": digest})

    operations: list[_FileOp] = []
    plans: list[_Group] = []
    for group in groups.values():
        operations.extend(_plan_files(store, group, report))
        if group.duplicates or group.keeper.sha256 != group.sha256:
            plans.append(group)

    if dry_run:
        with engine.connect() as conn:
            for group in plans:
                _record_merge(report, group, **_references_of(conn, group))
        return report
    verified = [row.id for row in rows
                if row.actual is not None and row.actual == row.sha256]
    stale_derived = _merge_rows(engine, plans, verified, report)
    _apply_files(store, settings, operations, report, stale_derived)
    return report


def _dedup_remote(engine: Engine, store: BlobStore, *, dry_run: bool,
                  progress: Progress | None) -> DedupReport:
    """Dedup over a store that is not a folder: rows merged, files only hashed."""
    report = DedupReport(dry_run=dry_run)
    with engine.connect() as conn:
        db_rows = conn.execute(select(media_files.c.id, media_files.c.sha256,
                                      media_files.c.first_seen_at)
                               .order_by(media_files.c.id)).all()
    known = {row.sha256 for row in db_rows}
    orphans = [blob.name for blob in store.iter_blobs() if blob.name not in known]
    total = len(db_rows) + len(orphans)
    done = 0

    def digest(name: str) -> str | None:
        nonlocal done
        if progress:
            progress(done, total)
        done += 1
        if not _HEX64.fullmatch(name):
            return None
        hasher = hashlib.sha256()
        try:
            for chunk in store.read(name):
                hasher.update(chunk)
                report.bytes_hashed += len(chunk)
        except FileNotFoundError:
            return None
        return hasher.hexdigest()

    rows = [_Row(row.id, row.sha256, row.first_seen_at, digest(row.sha256)) for row in db_rows]
    orphan_digests = {name: digest(name) for name in orphans}
    report.rows_checked = len(rows)
    report.files_checked = len(rows) + len(orphans)
    if progress:
        progress(total, total)
    groups: dict[str, _Group] = {}
    for row in rows:
        if row.canonical is None:
            report.mismatched.append({"id": row.id, "sha256": row.sha256, "actual": row.actual,
                                      "good_copy": None, "reason": "not a SHA-256 hash"})
            continue
        groups.setdefault(row.canonical, _Group(row.canonical, [])).rows.append(row)
    for name, actual in orphan_digests.items():
        if name not in groups:
            report.unknown_orphans.append({"path": f"media/{name[:2]}/{name[2:4]}/{name}",
                                           "sha256": actual})
    plans: list[_Group] = []
    for group in groups.values():
        keeper = group.keeper
        actual = (keeper.actual if keeper.sha256 == group.sha256
                  else orphan_digests.get(group.sha256))
        if actual is None:
            report.missing.append({"id": keeper.id, "sha256": group.sha256})
        elif actual != group.sha256:
            report.mismatched.append({"id": keeper.id, "sha256": keeper.sha256,
                                      "actual": actual, "good_copy": None})
        if group.duplicates or keeper.sha256 != group.sha256:
            plans.append(group)
    if dry_run:
        with engine.connect() as conn:
            for group in plans:
                _record_merge(report, group, **_references_of(conn, group))
        return report
    verified = [row.id for row in rows if row.actual is not None and row.actual == row.sha256]
    for sha256 in _merge_rows(engine, plans, verified, report):
        if _HEX64.fullmatch(sha256):
            store.delete_derived(sha256)
    return report


def _apply_files(store: MediaStore, settings: Settings, operations: list[_FileOp],
                 report: DedupReport, stale_derived: list[str]) -> None:
    """After the rows are committed: put missing files back, remove redundant copies."""
    failed = {entry["sha256"] for entry in report.failed}
    for op in operations:
        if op.row_file and op.sha256 in failed:
            # The merge was rolled back, so this row still uses its file: keep it.
            if op.target is None and op.path.is_file():
                report.bytes_freed -= op.path.stat().st_size
            report.removed = [entry for entry in report.removed
                              if entry["path"] != _relative(store, op.path)]
            report.restored = [entry for entry in report.restored
                               if entry["from"] != _relative(store, op.path)]
            continue
        if op.target is not None:
            if op.path.is_file() and not op.target.exists():
                op.target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(op.path, op.target)
        elif op.path.is_file() and not _same_file(op.path, store.path_for(op.sha256)):
            op.path.unlink()
        _prune_empty_dirs(store, op.path.parent)
    for sha256 in stale_derived:
        _remove_derived(settings, sha256)


# --- hashing -----------------------------------------------------------------------------------


class _Hasher:
    def __init__(self, report: DedupReport, progress: Progress | None, total: int) -> None:
        self.report = report
        self.progress = progress
        self.total = total
        self.done = 0

    def hash(self, path: Path) -> str | None:
        """The file's SHA-256, streamed; None when there is no readable file."""
        if self.progress:
            self.progress(self.done, self.total)
        self.done += 1
        try:
            with path.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
                self.report.bytes_hashed += handle.tell()
                return digest
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            return None


# --- planning ----------------------------------------------------------------------------------


def _plan_files(store: MediaStore, group: _Group, report: DedupReport) -> list[_FileOp]:
    """Decide, for one content hash, which file is kept at the canonical path and which copies
    are removed or moved there; report corrupt and missing files."""
    target = store.path_for(group.sha256)
    keeper = group.keeper
    target_actual = keeper.actual if keeper.sha256 == group.sha256 else _digest_of(target)
    copies: list[Path] = []
    row_files: set[Path] = set()
    for row in group.rows:
        path = store.path_for(row.sha256)
        if path == target:
            continue
        if row.actual == group.sha256:
            copies.append(path)
            row_files.add(path)
        elif row.actual is not None:
            report.mismatched.append({"id": row.id, "sha256": row.sha256, "actual": row.actual,
                                      "good_copy": None})
    copies.extend(group.orphans)
    copies = [path for path in copies if not _same_file(path, target)]

    operations: list[_FileOp] = []
    if target_actual is None and copies:
        source = copies.pop(0)
        operations.append(_FileOp(source, group.sha256, source in row_files, target))
        report.restored.append({"sha256": group.sha256, "from": _relative(store, source)})
        target_actual = group.sha256
    if target_actual == group.sha256:
        for path in copies:
            operations.append(_FileOp(path, group.sha256, path in row_files))
            report.removed.append({"path": _relative(store, path), "sha256": group.sha256})
            report.bytes_freed += path.stat().st_size
        return operations
    good_copy = _relative(store, copies[0]) if copies else None
    if target_actual is None:
        report.missing.append({"id": keeper.id, "sha256": group.sha256})
    else:
        report.mismatched.append({"id": keeper.id, "sha256": keeper.sha256,
                                  "actual": target_actual, "good_copy": good_copy})
    return operations


def _digest_of(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return None


# --- merging rows ------------------------------------------------------------------------------


def _merge_rows(engine: Engine, plans: list[_Group], verified: list[int],
                report: DedupReport) -> list[str]:
    """Merge each group's rows into its keeper and stamp ``verified_at`` on the rows whose
    file checked out, in one transaction (a savepoint per group, so one group that cannot
    move does not undo the others). Returns the hashes whose derived files are now stale."""
    stale: list[str] = []
    with engine.begin() as conn:
        if verified:
            conn.execute(update(media_files).where(media_files.c.id.in_(verified))
                         .values(verified_at=func.now()))
        references = [(row.tbl, row.col) for row in conn.execute(_REFERENCES_SQL)]
        for group in plans:
            ids = [row.id for row in group.rows]
            current = {row.id: row.sha256 for row in conn.execute(
                select(media_files.c.id, media_files.c.sha256)
                .where(media_files.c.id.in_(ids)).with_for_update())}
            if current != {row.id: row.sha256 for row in group.rows}:
                report.failed.append({"sha256": group.sha256,
                                      "error": "the rows changed while dedup ran; run it again"})
                continue
            savepoint = conn.begin_nested()
            try:
                moved = _merge_group(conn, group, references)
            except DBAPIError as exc:
                savepoint.rollback()
                report.failed.append({"sha256": group.sha256,
                                      "error": str(exc.orig or exc).splitlines()[0]})
                continue
            savepoint.commit()
            _record_merge(report, group, **moved)
            stale.extend(row.sha256 for row in group.rows if row.sha256 != group.sha256)
        if report.merged:
            attach(conn)  # the kept rows' extracted text onto the posts that held a duplicate
    return stale


def _merge_group(conn: Connection, group: _Group,
                 references: list[tuple[str, str]]) -> dict[str, int]:
    keeper = group.keeper
    moved = {"post_media": 0, "media_keys": 0}
    for duplicate in group.duplicates:
        # A transcript per (media, model) and a result per (media, processor): the kept row's
        # win. The duplicate's processor results point at files named by its own hash, which go.
        conn.execute(delete(transcriptions).where(
            transcriptions.c.media_id == duplicate.id,
            transcriptions.c.model.in_(select(transcriptions.c.model)
                                       .where(transcriptions.c.media_id == keeper.id))))
        conn.execute(delete(media_derivatives).where(
            media_derivatives.c.media_id == duplicate.id))
        # Extracted text is such a result too (the kept row has the same, or gets it from
        # ``process backfill``): its passages and their copies on posts go with the row.
        conn.execute(delete(media_passages).where(media_passages.c.media_id == duplicate.id))
        conn.execute(delete(chunks).where(chunks.c.media_id == duplicate.id,
                                          chunks.c.ordinal >= FIRST_ORDINAL))
        for table, column in references:
            result = conn.execute(text(f"UPDATE {table} SET {column} = :keeper "
                                       f"WHERE {column} = :duplicate"),
                                  {"keeper": keeper.id, "duplicate": duplicate.id})
            name = table.rsplit(".", 1)[-1].strip('"')
            if name in moved:
                moved[name] += result.rowcount
        conn.execute(delete(media_files).where(media_files.c.id == duplicate.id))
    earliest = min(row.first_seen_at for row in group.rows)
    values: dict[str, Any] = {"first_seen_at": earliest}
    if keeper.sha256 != group.sha256:
        values["sha256"] = group.sha256
        # Results that name files by the old hash (thumbnails) are made again by backfill.
        conn.execute(delete(media_derivatives).where(
            media_derivatives.c.media_id == keeper.id,
            cast(media_derivatives.c.result, Text).contains(keeper.sha256)))
    conn.execute(update(media_files).where(media_files.c.id == keeper.id).values(**values))
    return moved


def _references_of(conn: Connection, group: _Group) -> dict[str, int]:
    """How many post_media rows and media_keys aliases a merge would re-point."""
    ids = [row.id for row in group.duplicates]
    return {
        "post_media": int(conn.execute(select(func.count()).select_from(post_media)
                                       .where(post_media.c.media_id.in_(ids))).scalar_one()),
        "media_keys": int(conn.execute(select(func.count()).select_from(media_keys)
                                       .where(media_keys.c.media_id.in_(ids))).scalar_one()),
    }


def _record_merge(report: DedupReport, group: _Group, *, post_media: int,
                  media_keys: int) -> None:
    keeper = group.keeper
    if keeper.sha256 != group.sha256:
        report.renamed.append({"id": keeper.id, "from": keeper.sha256, "to": group.sha256})
    if group.duplicates:
        report.merged.append({
            "sha256": group.sha256, "kept_id": keeper.id,
            "merged_ids": [row.id for row in group.duplicates],
            "post_media": post_media, "media_keys": media_keys,
        })


# --- files -------------------------------------------------------------------------------------


def _same_file(a: Path, b: Path) -> bool:
    """True when both names reach one file (a case-insensitive file system)."""
    try:
        return a.samefile(b)
    except OSError:
        return False


def _relative(store: MediaStore, path: Path) -> str:
    try:
        return path.relative_to(store.root).as_posix()
    except ValueError:
        return str(path)


def _remove_derived(settings: Settings, sha256: str) -> None:
    derived = settings.data_dir / "derived"
    for processor_dir in derived.glob("*") if derived.is_dir() else []:
        shutil.rmtree(processor_dir / sha256[:2] / sha256[2:4] / sha256, ignore_errors=True)


def _prune_empty_dirs(store: MediaStore, directory: Path) -> None:
    """Remove ``ab/cd`` folders left empty (never the store's root)."""
    for folder in (directory, directory.parent):
        if folder == store.root or store.root not in folder.parents:
            return
        try:
            folder.rmdir()
        except OSError:
            return


def summary_lines(report: DedupReport) -> list[str]:
    """One line per finding, for people (the CLI)."""
    would = "would " if report.dry_run else ""
    lines: list[str] = []
    for entry in report.merged:
        lines.append(f"{would}merge media {', '.join(map(str, entry['merged_ids']))} into "
                     f"{entry['kept_id']} ({entry['sha256']})")
    for entry in report.renamed:
        lines.append(f"{would}rename media {entry['id']}: {entry['from']} -> {entry['to']}")
    for entry in report.restored:
        lines.append(f"{would}restore {entry['sha256']} from {entry['from']}")
    for entry in report.removed:
        lines.append(f"{would}remove {entry['path']} (a copy of {entry['sha256']})")
    for entry in report.unknown_orphans:
        lines.append(f"orphan {entry['path']}: no media row has its content "
                     f"({entry['sha256']}); `media gc` removes it after the grace period")
    return lines


def problem_lines(report: DedupReport) -> list[str]:
    lines: list[str] = []
    for entry in report.mismatched:
        copy = f"; a good copy is at {entry['good_copy']}" if entry.get("good_copy") else ""
        reason = entry.get("reason") or f"its bytes hash to {entry['actual']}"
        lines.append(f"media {entry['id']} {entry['sha256']}: {reason}{copy}")
    for entry in report.missing:
        lines.append(f"media {entry['id']} {entry['sha256']}: missing, and no copy was found")
    for entry in report.failed:
        lines.append(f"media {entry['sha256']}: not merged: {entry['error']}")
    return lines


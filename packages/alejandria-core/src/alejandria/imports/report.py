"""The validation report of an import: per creator, the posts and media files the input holds
against those the archive holds, the files referenced but missing on disk, and the files that
could not be read at all (named, with why). It is the old migration plan's "compare the JSON
counts with the database counts", made per creator and honest about what was left out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.engine import Engine

from alejandria.imports.findings import CreatorKey, Findings
from alejandria.models import SyncReport
from alejandria.storage.schema import post_media, posts

#: Post ids asked about in one query.
_QUERY_CHUNK = 2000


@dataclass
class CreatorInput:
    """What the input holds of one creator: its posts, and each post's media keys."""

    name: str
    posts: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class Inventory:
    """Everything an import's input holds, read without writing anything."""

    creators: dict[CreatorKey, CreatorInput] = field(default_factory=dict)
    #: (file or target, why): input the importer refused whole (other than corrupt JSON).
    refused: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class CreatorTally:
    """One creator's line of the report."""

    source: str
    external_id: str
    name: str
    posts_in: int
    posts_archived: int
    #: Media files the input references, those missing on disk included.
    media_in: int
    media_archived: int
    media_missing: int
    #: Files of this creator's posts that could not be read (their posts are not counted).
    unreadable: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every post and every file on disk of the input is in the archive."""
        return (self.posts_archived == self.posts_in and not self.unreadable
                and self.media_archived + self.media_missing == self.media_in)

    def status(self, dry_run: bool) -> str:
        if dry_run:
            return ("new" if not self.posts_archived else "archived"
                    if self.posts_archived == self.posts_in else "partly archived") + (
                ", a file unreadable" if self.unreadable else "")
        if not self.complete:
            return "INCOMPLETE" + (" (a file of its posts is unreadable)"
                                   if self.unreadable else "")
        return "ok" + (" (files missing on disk)" if self.media_missing else "")


@dataclass
class ImportReport:
    """What an import found and did. ``ok`` is False when a file could not be read, a target
    failed, or (not a dry run) a post of the input is not in the archive."""

    importer: str
    dry_run: bool
    creators: list[CreatorTally]
    findings: Findings
    refused: list[tuple[str, str]] = field(default_factory=list)
    sync: SyncReport | None = None

    @property
    def ok(self) -> bool:
        if self.findings.corrupt or self.refused:
            return False
        if self.sync is not None and not self.sync.ok:
            return False
        return self.dry_run or all(tally.complete for tally in self.creators)

    @property
    def totals(self) -> dict[str, int]:
        names = ("posts_in", "posts_archived", "media_in", "media_archived", "media_missing")
        return {name: sum(getattr(tally, name) for tally in self.creators) for name in names}

    def to_json(self) -> dict[str, Any]:
        return {
            "importer": self.importer, "dry_run": self.dry_run, "ok": self.ok,
            "totals": self.totals,
            "creators": [vars(tally) | {"complete": tally.complete} for tally in self.creators],
            "corrupt_files": [{"path": path, "reason": reason}
                              for path, reason in self.findings.corrupt.items()],
            "refused": [{"subject": subject, "reason": reason}
                        for subject, reason in self.refused],
            "missing_media": [{"source": missing.creator[0], "creator": missing.creator[1],
                               "post": missing.post, "path": missing.path}
                              for missing in self.findings.missing],
            "unknown_keys": dict(self.findings.unknown_keys),
            "left_out": [{"subject": subject, "reason": reason}
                         for subject, reason in self.findings.skipped],
            "sync": None if self.sync is None else {**self.sync.model_dump(mode="json"),
                                                    "ok": self.sync.ok},
        }

    def lines(self) -> list[str]:
        """The report as text, one line per item."""
        archived = "already archived" if self.dry_run else "archived"
        out = [f"import {self.importer}" + (" (dry run: nothing written)" if self.dry_run
                                           else "") + f": {len(self.creators)} creator(s)"]
        for tally in self.creators:
            mark = tally.status(self.dry_run)
            missing = f", {tally.media_missing} missing on disk" if tally.media_missing else ""
            out.append(f"  {tally.name} [{tally.source} {tally.external_id}]: posts "
                       f"{tally.posts_in} in input, {tally.posts_archived} {archived}; media "
                       f"{tally.media_in} in input, {tally.media_archived} {archived}"
                       f"{missing} — {mark}")
        totals = self.totals
        out.append(f"  total: posts {totals['posts_in']} in input, {totals['posts_archived']} "
                   f"{archived}; media {totals['media_in']} in input, "
                   f"{totals['media_archived']} {archived}, {totals['media_missing']} missing "
                   "on disk")
        if self.findings.corrupt:
            out.append("corrupt or unreadable JSON (not imported; the rest was):")
            out.extend(f"  {path}: {reason}" for path, reason in self.findings.corrupt.items())
        if self.refused:
            out.append("refused:")
            out.extend(f"  {subject}: {reason}" for subject, reason in self.refused)
        if self.findings.missing:
            out.append("media files referenced but missing on disk:")
            out.extend(f"  {missing.post}: {missing.path}" for missing in self.findings.missing)
        if self.findings.unknown_keys:
            out.append("unknown fields (kept in metadata, not imported as anything else):")
            out.extend(f"  {key} (first in {path})"
                       for key, path in self.findings.unknown_keys.items())
        if self.findings.skipped:
            out.append("left out or read partly:")
            out.extend(f"  {subject}: {reason}" for subject, reason in self.findings.skipped)
        if self.sync is not None:
            sync = self.sync
            out.append(f"written: {sync.posts_written} post(s) ({sync.posts_unchanged} "
                       f"unchanged), {sync.creators_written} creator(s); "
                       f"{sync.media_stored} media file(s) stored, {sync.media_reused} "
                       f"already in the archive; {sync.skipped_unchanged} of "
                       f"{sync.targets} file(s) unchanged since the last import")
            said = set(self.findings.corrupt) | {subject for subject, _ in self.refused}
            out.extend(f"error: {error.subject}: {error.message}" for error in sync.errors
                       if error.subject not in said)
        return out


def build_report(engine: Engine, importer: str, inventory: Inventory, findings: Findings,
                 sync: SyncReport | None, *, dry_run: bool) -> ImportReport:
    """Compare ``inventory`` with what the archive holds now."""
    stored = _archived(engine, inventory.creators)
    missing: dict[CreatorKey, int] = {}
    for item in findings.missing:
        missing[item.creator] = missing.get(item.creator, 0) + 1
    for key in findings.unreadable_of:
        if key not in inventory.creators:
            inventory.creators[key] = CreatorInput(name=key[1])
    tallies = []
    for key, creator in sorted(inventory.creators.items(),
                               key=lambda entry: (entry[1].name.casefold(), entry[0])):
        source = key[0]
        posts_archived = media_archived = 0
        for post_id, media_keys in creator.posts.items():
            linked = stored.get((source, post_id))
            if linked is not None:
                posts_archived += 1
                media_archived += len(media_keys & linked)
        tallies.append(CreatorTally(
            source=source, external_id=key[1], name=creator.name,
            posts_in=len(creator.posts), posts_archived=posts_archived,
            media_in=sum(len(keys) for keys in creator.posts.values()) + missing.get(key, 0),
            media_archived=media_archived, media_missing=missing.get(key, 0),
            unreadable=list(findings.unreadable_of.get(key, ()))))
    return ImportReport(importer=importer, dry_run=dry_run, creators=tallies,
                        findings=findings, refused=list(inventory.refused), sync=sync)


def _archived(engine: Engine, creators: dict[CreatorKey, CreatorInput]
              ) -> dict[tuple[str, str], set[str]]:
    """(source, post external id) → the media keys linked to it, for the input's posts that
    are in the archive (whichever creator they are filed under now)."""
    wanted = sorted({(key[0], post_id) for key, creator in creators.items()
                     for post_id in creator.posts})
    found: dict[tuple[str, str], set[str]] = {}
    with engine.connect() as conn:
        for chunk in _chunks(wanted, _QUERY_CHUNK):
            rows = conn.execute(
                select(posts.c.source, posts.c.external_id, post_media.c.key)
                .select_from(posts.outerjoin(post_media, post_media.c.post_id == posts.c.id))
                .where(tuple_(posts.c.source, posts.c.external_id).in_(chunk)))
            for source, external_id, key in rows:
                keys = found.setdefault((str(source), str(external_id)), set())
                if key is not None:
                    keys.add(str(key))
    return found


def _chunks(items: list[tuple[str, str]], size: int) -> Iterable[list[tuple[str, str]]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]

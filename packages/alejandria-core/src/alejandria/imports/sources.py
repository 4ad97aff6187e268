"""The importers as sources: ``legacy`` (the old system's JSON files) and ``gallery-dl`` (a
download tree with metadata sidecars). Like every source they only read and yield; the sync
pipeline stores, deduplicates and processes what they yield.

Both keep what they found wrong in ``findings`` (for the import's validation report) and say
it as ``Notice``s; a cursor per file (or folder) holds the sizes and modification times of
what was read, so an import of unchanged files reads nothing the second time, except a file
some of whose media were missing (they may be there now).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from alejandria.errors import ConfigurationError, ItemRejected
from alejandria.imports import gallery_dl, legacy
from alejandria.imports.findings import Findings
from alejandria.imports.jsonfiles import CorruptJson, fingerprint, read_json, show_path
from alejandria.models import (
    Checkpoint,
    CreatorIn,
    Expect,
    JsonDict,
    MediaIn,
    Notice,
    SyncItem,
    SyncTarget,
)
from alejandria.plugin_types import BaseSource, SourceContext
from alejandria.sync.files_source import path_of

LEGACY = "legacy"
GALLERY_DL = "gallery-dl"
#: Posts between two checkpoints: what a crash in the middle of a big file costs again.
CHECKPOINT_EVERY = 100
_GLOB_CHARS = frozenset("*?[")


class ImportSource(BaseSource):
    """What both importers share: their findings, options checked by name, local files."""

    #: Local files: reading several at once overlaps their hashing with the writes.
    media_concurrency = 4
    name = ""
    allowed_options: frozenset[str] = frozenset()

    def __init__(self, context: SourceContext) -> None:
        unknown = set(context.options) - self.allowed_options - {"dry_run"}
        if unknown:
            raise ConfigurationError(
                f"unknown option(s) for the {self.name} source: {', '.join(sorted(unknown))} "
                f"(it takes {', '.join(sorted(self.allowed_options)) or 'none'})")
        self.options = context.options
        self.findings = Findings()

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        raise NotImplementedError

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        raise NotImplementedError

    def open_media(self, media: MediaIn) -> contextlib.AbstractContextManager[BinaryIO]:
        subject = media.filename or media.key
        if not media.url or not media.url.startswith("file://"):
            raise ItemRejected(subject, "not a local file", retry=False)
        try:
            return path_of(media.url).open("rb")
        except FileNotFoundError:
            raise ItemRejected(subject, "the file is gone since the import read its "
                                        "metadata") from None
        except OSError as exc:
            raise ItemRejected(subject, f"cannot read it: {exc.strerror or exc}") from None

    def _corrupt(self, error: CorruptJson) -> CorruptJson:
        self.findings.corrupt[error.subject] = error.reason
        return error


def _cursor_state(*parts: Any) -> str:
    """A short digest of what a cursor compares (sizes, times, options)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _expand(target: str, pattern: str) -> list[Path]:
    """A path, or every file a glob pattern matches; a folder: its files matching
    ``pattern``. A pattern that matches nothing comes back as itself, for fetch to name."""
    path = Path(target).expanduser()
    if _GLOB_CHARS & set(target):
        found = sorted(Path(match) for match in glob.glob(str(path), recursive=True))
        return [found_path.resolve() for found_path in found] or [path.absolute()]
    if path.is_dir():
        return sorted(path.resolve().glob(pattern)) or [path.resolve()]
    return [path.resolve()]


class LegacySource(ImportSource):
    """``alejandria sync legacy POSTS_FILES... -o creators=config/creators.json
    -o media_root=DIR -o as_source=patreon`` (or ``alejandria import legacy``).

    ``as_source``: the source the posts are stored as (``patreon`` by default: the old system
    archived Patreon, and its post ids are Patreon's); ``media_root``: what relative
    ``local_path``s are relative to (the current folder by default).
    """

    name = LEGACY
    allowed_options = frozenset({"creators", "media_root", "as_source"})

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        creators = self.options.get("creators")
        self.creators_path = Path(str(creators)).expanduser().resolve() if creators else None
        self.media_root = Path(str(self.options.get("media_root") or ".")).expanduser().resolve()
        self.as_source = str(self.options.get("as_source") or "patreon")
        self.stored_as = None if self.as_source == LEGACY else self.as_source
        self._creators: dict[str, legacy.LegacyCreator] | None = None
        self._creator_notices: list[Notice] = []
        self._said_ids: set[str] = set()

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        if self.creators_path is not None:
            yield SyncTarget(scope=f"creators:{show_path(self.creators_path)}",
                             label=show_path(self.creators_path),
                             locator=str(self.creators_path), stored_as=self.stored_as,
                             metadata={"kind": "creators"})
        seen: set[Path] = set()
        for target in targets:
            for path in _expand(target, "*_posts*.json"):
                if path not in seen:
                    seen.add(path)
                    yield SyncTarget(scope=f"posts:{show_path(path)}", label=show_path(path),
                                     locator=str(path), stored_as=self.stored_as)

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        if target.metadata.get("kind") == "creators":
            yield from self._fetch_creators(target, cursor)
        else:
            yield from self._fetch_posts(target, cursor)

    def creators(self) -> dict[str, legacy.LegacyCreator]:
        """``creators.json`` by key, read once per import; empty when it is not given or
        cannot be read (its own target reports that)."""
        if self._creators is None:
            self._creators = {}
            if self.creators_path is not None:
                try:
                    found, self._creator_notices = legacy.read_creators(self.creators_path,
                                                                        self.findings)
                except CorruptJson as exc:
                    self._corrupt(exc)
                else:
                    self._creators = {creator.key: creator for creator in found}
        return self._creators

    def _fetch_creators(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        assert self.creators_path is not None
        state = _cursor_state(fingerprint(self.creators_path), self.as_source)
        creators = self.creators()
        if self.creators_path and show_path(self.creators_path) in self.findings.corrupt:
            raise ItemRejected(target.label, self.findings.corrupt[target.label])
        if cursor and cursor.get("state") == state:
            return
        yield from self._creator_notices
        for creator in creators.values():
            yield from self._check_patreon_id(creator.item)
            yield creator.item
        yield Checkpoint(cursor={"state": state})

    def _fetch_posts(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        path = Path(target.locator)
        state = _cursor_state(fingerprint(path, *([self.creators_path]
                                                   if self.creators_path else [])),
                              str(self.media_root), self.as_source)
        if cursor and cursor.get("state") == state and cursor.get("complete"):
            return
        if not path.exists():
            raise self._corrupt(CorruptJson(target.label, "no such file (check the --posts "
                                                          "pattern)"))
        try:
            container = read_json(path)
        except CorruptJson as exc:
            owner = legacy.creator_for_file(path, None, self.creators())
            if owner is not None:
                key = (self.as_source, owner if isinstance(owner, str)
                       else owner.item.external_id)
                self.findings.unreadable_of.setdefault(key, []).append(exc.subject)
            raise self._corrupt(exc) from None
        records = legacy.posts_of(container)
        if records is None:
            raise self._corrupt(CorruptJson(
                target.label, f"expected a list of posts (or {{\"posts\": [...]}}), found a "
                              f"JSON {type(container).__name__}"))
        who = legacy.creator_for_file(path, container, self.creators())
        if who is None:
            raise ItemRejected(target.label, "cannot tell whose posts these are: the file "
                                             "names no creator and is not called "
                                             "<creator>_posts_detailed.json; rename it or add "
                                             "\"creator_id\" to its posts")
        if isinstance(who, str):
            creator = CreatorIn(external_id=who, name=who,
                                metadata={"legacy_id": who, "not_in_creators_json": True})
            yield self.findings.skip(f"creator {who}", "not in creators.json (or it was not "
                                     "given): stored with its id as its name")
        else:
            creator = who.item
        yield from self._check_patreon_id(creator)
        yield creator
        yield Expect(posts=len(records))
        missing_before = len(self.findings.missing)
        reader = legacy.PostReader(path=path, creator=(self.as_source, creator.external_id),
                                   media_root=self.media_root, findings=self.findings,
                                   patreon=self.as_source == "patreon")
        written = 0
        for item in reader.posts(records):
            yield item
            if not isinstance(item, Notice):
                written += 1
                if written % CHECKPOINT_EVERY == 0:
                    yield Checkpoint(cursor=dict(cursor or {}))  # durable, not yet complete
        complete = len(self.findings.missing) == missing_before
        yield Checkpoint(cursor={"state": state, "complete": complete})

    def _check_patreon_id(self, creator: CreatorIn) -> Iterator[Notice]:
        if (self.as_source == "patreon" and not creator.external_id.isdigit()
                and creator.external_id not in self._said_ids):
            self._said_ids.add(creator.external_id)
            yield self.findings.skip(
                f"creator {creator.external_id}",
                "its id is not a Patreon campaign id (digits): a later sync of the patreon "
                "source files its posts under the campaign's own creator; add "
                "\"campaign_id\" to it in creators.json to keep one creator")


class GalleryDlSource(ImportSource):
    """``alejandria sync gallery-dl DIR...`` (or ``alejandria import gallery-dl DIR``): one
    target per folder of sidecars (and per live source its posts are stored as)."""

    name = GALLERY_DL

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self.builder = gallery_dl.PostBuilder(findings=self.findings, own_source=GALLERY_DL)

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        for target in targets:
            root = Path(target).expanduser().resolve()
            if not root.is_dir():
                yield SyncTarget(scope=f"gallery-dl:{show_path(root)}", label=target,
                                 locator=str(root), metadata={"sidecars": []})
                continue
            for folder, sidecars, lone in gallery_dl.walk(root):
                yield from self._folder_targets(root, folder, sidecars, lone)

    def _folder_targets(self, root: Path, folder: Path, sidecars: list[Path],
                        lone: int) -> Iterator[SyncTarget]:
        """A target per source the folder's posts are stored as (almost always one). The
        category is read here so each target knows it; a sidecar that cannot be read goes
        with the first target, which reports it."""
        by_source: dict[str | None, list[str]] = {}
        unreadable: list[str] = []
        for sidecar in sidecars:
            try:
                meta = read_json(sidecar)
            except CorruptJson:
                unreadable.append(sidecar.name)
                continue
            category = gallery_dl.category_of(meta) if isinstance(meta, dict) else ""
            by_source.setdefault(gallery_dl.LIVE_SOURCES.get(category), []).append(sidecar.name)
        if not by_source:
            by_source[None] = []
        relative = show_path(folder.relative_to(root.parent))
        for number, (stored, names) in enumerate(by_source.items()):
            extra = {"lone": lone, "unreadable": unreadable} if number == 0 else {}
            yield SyncTarget(
                scope=f"gallery-dl:{show_path(folder)}" + (f":{stored}" if stored else ""),
                label=relative + (f" ({stored})" if len(by_source) > 1 and stored else ""),
                locator=str(folder), stored_as=stored,
                metadata={"sidecars": names, **extra})

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        folder = Path(target.locator)
        if not folder.is_dir():
            raise ItemRejected(target.label, "not a folder: give the folder gallery-dl "
                                             "downloaded into (e.g. ./gallery-dl)")
        names = [*target.metadata.get("sidecars", []), *target.metadata.get("unreadable", [])]
        paths = [folder / name for name in names]
        media = [gallery_dl.media_of(path) for path in paths]
        state = _cursor_state(fingerprint(*paths, *(path for path in media if path)))
        if cursor and cursor.get("state") == state and cursor.get("complete"):
            return
        sidecars: list[gallery_dl.Sidecar] = []
        for path in paths:
            try:
                sidecars.append(gallery_dl.read_sidecar(path))
            except CorruptJson as exc:
                self._corrupt(exc)
                yield Notice(message=f"{exc.subject}: {exc.reason}; its file was not imported")
        if target.metadata.get("lone"):
            yield Notice(message=f"{target.metadata['lone']} file(s) here have no metadata "
                                 "sidecar (gallery-dl --write-metadata) and were left out")
        posts = gallery_dl.group(sidecars)
        yield Expect(posts=len(posts))
        missing_before = len(self.findings.missing)
        creators: set[str] = set()
        for number, grouped in enumerate(posts, 1):
            for item in self.builder.build(grouped):
                if isinstance(item, CreatorIn):
                    if item.external_id in creators:
                        continue
                    creators.add(item.external_id)
                yield item
            if number % CHECKPOINT_EVERY == 0:
                yield Checkpoint(cursor=dict(cursor or {}))
        complete = (len(self.findings.missing) == missing_before
                    and not target.metadata.get("unreadable"))
        yield Checkpoint(cursor={"state": state, "complete": complete})

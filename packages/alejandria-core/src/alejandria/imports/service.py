"""An import from start to end: read the input whole (the inventory, which writes nothing),
run the importer through the sync pipeline as ``alejandria sync`` does (unless a dry run),
then compare the input with the archive."""

from __future__ import annotations

import os
from collections.abc import Sequence

from alejandria.accounts.roles import Permission, require
from alejandria.context import ArchiveContext
from alejandria.errors import ConfigurationError, ItemRejected
from alejandria.imports.jsonfiles import CorruptJson
from alejandria.imports.report import CreatorInput, ImportReport, Inventory, build_report
from alejandria.imports.sources import ImportSource
from alejandria.models import Actor, CreatorIn, JsonDict, PostIn
from alejandria.storage.audit import Trigger
from alejandria.sync.pipeline import ProgressCallback
from alejandria.sync.service import build_source, run_sync


def run_import(context: ArchiveContext, importer: str,
               targets: Sequence[str | os.PathLike[str]], *, options: JsonDict | None = None,
               dry_run: bool = False, progress: ProgressCallback | None = None,
               actor: Actor | None = None, trigger: Trigger | None = None) -> ImportReport:
    """Import ``targets`` with the importer source called ``importer`` (``legacy``,
    ``gallery-dl``) and report per creator. ``dry_run``: read and compare, write nothing.
    Imports are not remembered for the daily sync: their input does not change by itself."""
    require(actor, Permission.OPERATE)
    paths = [os.fspath(target) for target in targets]
    source = build_source(context, importer, options=options, actor=actor)
    if not isinstance(source, ImportSource):
        raise ConfigurationError(f"{importer!r} is not an importer (legacy, gallery-dl)")
    inventory = take_inventory(source, importer, paths)
    sync = None
    if not dry_run:
        sync = run_sync(context, importer, paths, options=options, progress=progress,
                        remember=False, actor=actor, trigger=trigger)
    return build_report(context.engine, importer, inventory, source.findings, sync,
                        dry_run=dry_run)


def take_inventory(source: ImportSource, importer: str, targets: Sequence[str]) -> Inventory:
    """Everything the input holds, as the source yields it on a first import (no cursor),
    per creator; files it refuses are recorded in the source's findings or ``refused``."""
    inventory = Inventory()
    for target in source.resolve(targets):
        stored_as = target.stored_as or importer
        names: dict[str, str] = {}
        try:
            for item in source.fetch(target, None):
                if isinstance(item, CreatorIn):
                    names[item.external_id] = item.name
                    _creator(inventory, (stored_as, item.external_id), item.name)
                elif isinstance(item, PostIn):
                    key = (stored_as, item.creator_external_id)
                    creator = _creator(inventory, key, names.get(item.creator_external_id,
                                                                 item.creator_external_id))
                    creator.posts.setdefault(item.external_id, set()).update(
                        media.key for media in item.media)
        except CorruptJson:
            continue  # recorded in the findings by the source
        except ItemRejected as exc:
            inventory.refused.append((exc.subject, exc.reason))
    return inventory


def _creator(inventory: Inventory, key: tuple[str, str], name: str) -> CreatorInput:
    creator = inventory.creators.get(key)
    if creator is None:
        creator = inventory.creators[key] = CreatorInput(name=name)
    return creator

"""A sync from start to finish: the source built with its credentials and settings, the
pipeline over its targets, the subscription remembered, then the work after a sync."""

from __future__ import annotations

import os
from collections.abc import Sequence

from alejandria.accounts.roles import Permission, require
from alejandria.context import ArchiveContext
from alejandria.models import Actor, JsonDict, SyncReport
from alejandria.plugin_types import Source, SourceContext
from alejandria.storage.audit import Trigger, record_now
from alejandria.storage.credentials import CredentialStore
from alejandria.sync.after import after_sync
from alejandria.sync.pipeline import ProgressCallback, SyncRunner
from alejandria.sync.subscriptions import remember as remember_subscription


def build_source(context: ArchiveContext, source: str, *, options: JsonDict | None = None,
                 credentials: JsonDict | None = None, actor: Actor | None = None) -> Source:
    """The source called ``source``, built as a sync builds it: with the given credentials or
    the stored ones, the plugins' settings, and ``options``. ``PermissionDenied`` unless
    ``actor`` may operate the archive (a source holds its credentials)."""
    require(actor, Permission.OPERATE)
    spec = context.plugins.source(source)
    if credentials is None:
        credentials = CredentialStore(context.engine, context.settings.data_dir).get(spec.name)
    return spec.factory(SourceContext(settings=context.settings, credentials=credentials,
                                      options=dict(options or {}), actor=actor,
                                      plugin_settings=context.plugin_settings))


def run_sync(context: ArchiveContext, source: str, targets: Sequence[str | os.PathLike[str]], *,
             options: JsonDict | None = None, credentials: JsonDict | None = None,
             progress: ProgressCallback | None = None, remember: bool = True,
             actor: Actor | None = None, trigger: Trigger | None = None) -> SyncReport:
    """Archive ``targets`` with the source called ``source`` (see ``Archive.sync``).

    ``PermissionDenied`` unless ``actor`` may operate the archive. ``trigger``: who asked, for
    the audit log (a sync job runs what was audited when it was queued, and passes none)."""
    require(actor, Permission.OPERATE)
    spec = context.plugins.source(source)
    runner = SyncRunner(
        engine=context.engine, repository=context.repository, store=context.media,
        source_name=spec.name,
        source=build_source(context, spec.name, options=options, credentials=credentials,
                            actor=actor),
        notify=context.notify, progress=progress,
    )
    # no target: the source's default ones (its whole account), if it declares any
    paths = [os.fspath(target) for target in targets] or list(spec.default_targets)
    if trigger is not None:
        record_now(context.engine, trigger, "sync", entity_type="source", entity_id=spec.name,
                   changes={"source": spec.name, "targets": paths})
    report = runner.run(paths)
    # a dry run ("show me what would be archived") is not a subscription
    if report.targets and remember and not (options or {}).get("dry_run"):
        remember_subscription(context.engine, spec.name, paths, options)
    after_sync(context, report)
    context.notify("sync_finished", report=report)
    return report

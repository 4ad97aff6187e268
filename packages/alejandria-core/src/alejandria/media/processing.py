"""Running media processors (probe, thumbnails, ...) over stored files.

Every result is keyed by the media file and the processor's name and version
(``media_derivatives``), so a file is processed once per processor version, a new version
re-processes, and ``backfill`` finds exactly what lacks output. Processors run outside any
transaction; each result is written in its own short one. Results with keys that describe the
file itself (``mime_type``, ``kind``, ``width``, ...) also update ``media_files``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import String, column, exists, select, update, values
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from alejandria.context import ArchiveContext
from alejandria.errors import MediaError, describe
from alejandria.models import MediaKind, SyncError
from alejandria.plugin_types import BlobStore, Processor, ProcessorContext, ProcessorSpec
from alejandria.plugins import PluginManager
from alejandria.settings import Settings
from alejandria.storage.schema import media_derivatives, media_files, media_keys, post_media, posts

log = logging.getLogger(__name__)

#: Result keys that describe the file itself and are copied onto its ``media_files`` row.
MEDIA_COLUMNS = ("mime_type", "kind", "width", "height", "duration_s", "page_count")


@dataclass
class ProcessingReport:
    #: Processor runs (a file processed by probe and thumbnails counts twice).
    processed: int = 0
    #: Files at least one processor ran on.
    files: int = 0
    failed: list[SyncError] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    by_processor: dict[str, int] = field(default_factory=dict)

    def merge(self, other: ProcessingReport) -> None:
        """Add what ``other`` (one file's run, in a thread of its own) counted."""
        self.processed += other.processed
        self.failed.extend(other.failed)
        self.unavailable.update(other.unavailable)
        for name, count in other.by_processor.items():
            self.by_processor[name] = self.by_processor.get(name, 0) + count

    def as_dict(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "files": self.files,
            "failed": [error.model_dump() for error in self.failed],
            "unavailable": self.unavailable,
            "by_processor": self.by_processor,
        }


ProcessingProgress = Callable[[int, int, str], None]


def process_media(context: ArchiveContext, *, processors: Collection[str] | None = None,
                  source: str | None = None, progress: ProcessingProgress | None = None,
                  runnable_only: bool = False) -> ProcessingReport:
    """Run media processors over every stored file lacking their output; what they derived
    (transcripts, extracted text) is searchable at once. ``runnable_only`` leaves out the
    processors that cannot run here (see ``MediaProcessing.run``)."""
    processing = MediaProcessing(context.engine, context.settings, context.plugins,
                                 context.media)
    report = processing.run(processors=processors, source=source, progress=progress,
                            runnable_only=runnable_only)
    if report.processed:
        context.content_changed()
    return report


def _leading_threadsafe(specs: Sequence[ProcessorSpec]) -> list[ProcessorSpec]:
    """The first processors in order that are all thread-safe (probe, thumbnails): they can
    run on several files at once while every file still meets them in order."""
    together: list[ProcessorSpec] = []
    for spec in specs:
        if not spec.threadsafe:
            break
        together.append(spec)
    return together


class MediaProcessing:
    def __init__(self, engine: Engine, settings: Settings, plugins: PluginManager,
                 store: BlobStore) -> None:
        self.engine = engine
        self.settings = settings
        self.plugins = plugins
        self.specs = sorted(plugins.processors().values(),
                            key=lambda spec: (spec.order, spec.name))
        self.store = store
        self._instances: dict[str, tuple[Processor | None, str | None]] = {}

    def run(self, *, processors: Collection[str] | None = None, source: str | None = None,
            progress: ProcessingProgress | None = None,
            runnable_only: bool = False) -> ProcessingReport:
        """Run processors (all, or those named) over every stored file that lacks their
        current output.

        A processor that cannot run here (a missing tool or model) records nothing, so its
        files stay candidates; ``runnable_only`` leaves such processors out, so that the
        check after every sync costs one query rather than a pass over those files. Their
        availability is asked only when some file lacks an output at all.
        """
        if processors is not None:
            for name in processors:
                self.plugins.processor(name)  # an unknown name is an error, not a no-op
        specs = [spec for spec in self.specs if processors is None or spec.name in processors]
        report = ProcessingReport()
        rows = self._candidates(specs, source)
        if rows and runnable_only:
            runnable = [spec for spec in specs if self._processor(spec, report) is not None]
            if len(runnable) < len(specs):
                specs, rows = runnable, self._candidates(runnable, source)
        files: set[int] = set()
        together = _leading_threadsafe(specs)
        ran_together = bool(together and len(rows) > 1 and self.settings.media_threads > 1)
        if ran_together:
            self._run_together(rows, together, report, files, progress)
            specs = specs[len(together):]
            # what the first processors found (the real type, the kind) decides what follows;
            # the same files only (one stored meanwhile has not met the first processors)
            ids = [row["id"] for row in rows]
            rows = self._candidates(specs, source, ids=ids) if specs else []
        for done, row in enumerate(rows):
            if progress:
                progress(done, len(rows), row["sha256"][:12])
            if self._process_one(row, specs, report):
                files.add(row["id"])
        if progress and (rows or not ran_together):
            progress(len(rows), len(rows), "")
        report.files = len(files)
        return report

    def _run_together(self, rows: Sequence[dict[str, Any]], specs: Sequence[ProcessorSpec],
                      report: ProcessingReport, files: set[int],
                      progress: ProcessingProgress | None) -> None:
        """``specs`` (thread-safe ones) over ``rows``, ``media_threads`` files at a time; each
        file still goes through them in order."""
        for spec in specs:
            self._processor(spec, report)  # made once, here, not raced for by the threads

        def one(row: dict[str, Any]) -> tuple[dict[str, Any], ProcessingReport, bool]:
            own = ProcessingReport()
            return row, own, self._process_one(row, specs, own)

        threads = min(self.settings.media_threads, len(rows))
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="media") as pool:
            for done, (row, own, ran) in enumerate(pool.map(one, rows)):
                if progress:
                    progress(done, len(rows), row["sha256"][:12])
                report.merge(own)
                if ran:
                    files.add(row["id"])
        if progress:
            progress(len(rows), len(rows), "")

    def _candidates(self, specs: Sequence[ProcessorSpec], source: str | None, *,
                    ids: Collection[int] | None = None) -> list[dict[str, Any]]:
        """Media rows lacking a result (done, failed or skipped) of some processor's version."""
        if not specs:
            return []
        wanted = values(column("processor", String), column("version", String),
                        name="wanted").data([(spec.name, spec.version) for spec in specs])
        # Correlated to the outer row on purpose, both levels: left to SQLAlchemy's automatic
        # correlation, the inner EXISTS (two levels down) got its own FROM media_files and
        # asked whether *any* file had each result, so after the first sync nothing was new.
        done = (select(media_derivatives.c.media_id).where(
            media_derivatives.c.media_id == media_files.c.id,
            media_derivatives.c.processor == wanted.c.processor,
            media_derivatives.c.version == wanted.c.version,
        ).correlate(media_files, wanted))
        lacking = select(wanted.c.processor).where(~exists(done)).correlate(media_files)
        query = select(media_files).where(exists(lacking)).order_by(media_files.c.id)
        if ids is not None:
            query = query.where(media_files.c.id.in_(list(ids)))
        if source is not None:
            linked = (select(post_media.c.media_id).join(posts, posts.c.id == post_media.c.post_id)
                      .where(posts.c.source == source))
            keyed = select(media_keys.c.media_id).where(media_keys.c.source == source)
            query = query.where(media_files.c.id.in_(linked.union(keyed)))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def _processor(self, spec: ProcessorSpec, report: ProcessingReport) -> Processor | None:
        if spec.name not in self._instances:
            made = spec.factory(ProcessorContext(settings=self.settings, name=spec.name,
                                                 engine=self.engine, plugins=self.plugins))
            availability = made.availability()
            self._instances[spec.name] = (
                (made, None) if availability.available
                else (None, availability.reason or "unavailable"))
        processor, reason = self._instances[spec.name]
        if reason is not None:
            report.unavailable[spec.name] = reason
        return processor

    def _process_one(self, row: dict[str, Any], specs: Sequence[ProcessorSpec],
                     report: ProcessingReport) -> bool:
        """Run ``specs`` on one file; whether any ran."""
        media = {key: row[key] for key in ("id", "sha256", "size", "mime_type", "kind", "width",
                                           "height", "duration_s", "page_count")}
        with contextlib.ExitStack() as stack:
            return self._process_file(row, media, specs, report, stack)

    def _process_file(self, row: dict[str, Any], media: dict[str, Any],
                      specs: Sequence[ProcessorSpec], report: ProcessingReport,
                      stack: contextlib.ExitStack) -> bool:
        opened: list[Path | None] = []

        def local_file() -> Path | None:
            """The file, fetched from a remote store on first need (None: it is missing)."""
            if not opened:
                try:
                    opened.append(stack.enter_context(self.store.local_path(row["sha256"])))
                except FileNotFoundError:
                    opened.append(None)
            return opened[0]

        with self.engine.connect() as conn:
            existing = {r.processor: r.version for r in conn.execute(
                select(media_derivatives.c.processor, media_derivatives.c.version)
                .where(media_derivatives.c.media_id == row["id"]))}
        ran = False
        for spec in specs:
            if existing.get(spec.name) == spec.version:
                continue
            if MediaKind(media["kind"]) not in spec.accepts:
                # recorded, so the file is not a candidate again for this version
                self._record(row["id"], spec, "skipped", {}, None, media)
                continue
            processor = self._processor(spec, report)
            if processor is None:
                continue
            status, result, error = "done", {}, None
            path = local_file()
            if path is None:
                status, error = "failed", "the file is missing from the media store"
            else:
                try:
                    result = processor.process(path, dict(media))
                    if self.store.remote:
                        self._publish_derived(spec.name, row["sha256"])
                except MediaError as exc:
                    status, error = "failed", str(exc)
                except Exception as exc:
                    log.debug("processor %s failed on %s", spec.name, row["sha256"],
                              exc_info=True)
                    status, error = "failed", describe(exc)
            media.update({k: v for k, v in result.items() if k in MEDIA_COLUMNS})
            self._record(row["id"], spec, status, result, error, media)
            report.processed += 1
            report.by_processor[spec.name] = report.by_processor.get(spec.name, 0) + 1
            ran = True
            if error:
                report.failed.append(SyncError(
                    subject=f"{spec.name}: {self._file_label(row['id'], row['sha256'])}",
                    message=error))
        return ran

    def _publish_derived(self, processor: str, sha256: str) -> None:
        """Upload what a processor wrote to its ``derived_dir`` into a remote store (the web
        app on another host serves it from there), then remove the local copies. Keys keep
        the layout, so the paths processors record (``derived/thumbnails/...``) name them."""
        context = ProcessorContext(settings=self.settings, name=processor)
        directory = context.derived_dir(sha256)
        if not directory.is_dir():
            return
        derived = self.settings.data_dir / "derived"
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                self.store.put_derived(path.relative_to(derived).as_posix(), path)
        shutil.rmtree(directory, ignore_errors=True)

    def _file_label(self, media_id: int, sha256: str) -> str:
        """How a failed file is named to the user: its name and the post it is in, as the
        source gave them (the content hash alone tells nobody which file it is), then the
        start of the hash, which ``media`` commands take."""
        with self.engine.connect() as conn:
            named = conn.execute(
                select(post_media.c.filename, posts.c.title)
                .join(posts, posts.c.id == post_media.c.post_id)
                .where(post_media.c.media_id == media_id)
                .order_by(post_media.c.filename.is_(None), post_media.c.post_id).limit(1)
            ).first()
        if named is None:
            return sha256[:12]
        filename, title = named
        return f"{filename or 'a file'} in {title!r} ({sha256[:12]})"

    def _record(self, media_id: int, spec: ProcessorSpec, status: str, result: dict[str, Any],
                error: str | None, media: dict[str, Any]) -> None:
        values = {"version": spec.version, "status": status, "result": result, "error": error}
        stmt = insert(media_derivatives).values(media_id=media_id, processor=spec.name, **values)
        columns = {key: media[key] for key in MEDIA_COLUMNS if key in result}
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[media_derivatives.c.media_id, media_derivatives.c.processor],
                set_=values,
            ))
            if columns:
                conn.execute(update(media_files).where(media_files.c.id == media_id)
                             .values(**columns))

"""The sync pipeline: runs a source over its targets and persists what it yields.

Sources fetch; the pipeline owns persistence, media storage and error isolation. Each target
runs in its own transaction, committed at every ``Checkpoint`` the source yields, so a crash or
a broken file never leaves half of a unit written and never blocks the other targets. Fetching
runs on a background thread a bounded number of items ahead of the writes (``ReadAhead``), and
a batch's new files are fetched and stored ahead on several threads where the source allows it
(``MediaFetcher``).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Connection, Engine

from alejandria.accounts.personal.highlights import reattach as reattach_highlights
from alejandria.errors import (
    ItemRejected,
    MediaError,
    RateLimited,
    SourceAuthError,
    SourceError,
    StorageFull,
    URLRefused,
    describe,
)
from alejandria.media.types import describe_media
from alejandria.models import (
    EMBED_ROLE,
    Checkpoint,
    CollectionIn,
    CreatorIn,
    Expect,
    MediaIn,
    Notice,
    PostIn,
    Prune,
    StoredMedia,
    SyncError,
    SyncItem,
    SyncReport,
    SyncTarget,
)
from alejandria.plugin_types import BlobStore, Source
from alejandria.storage.post_writer import PendingPost
from alejandria.storage.repository import MediaLinks, Repository
from alejandria.sync.media_fetch import MediaFetcher
from alejandria.sync.read_ahead import ReadAhead

log = logging.getLogger(__name__)

#: Called with (event name, keyword arguments) after the data it describes is committed.
Notify = Callable[..., None]


@dataclass(frozen=True)
class ProgressEvent:
    """``stage`` is ``resolved`` (total known), ``target`` (one started), ``posts`` (how far the
    current target is) or ``done`` (finished). ``done`` and ``total`` always count targets
    (``done`` of them finished) and ``label`` names the current one, so a callback that shows
    only targets may ignore the stage. A ``posts`` event adds the posts of the current target
    written or found unchanged so far, and how many the source said to expect (``Expect``)."""

    stage: str
    done: int
    total: int
    label: str = ""
    posts: int = 0
    posts_expected: int | None = None


ProgressCallback = Callable[[ProgressEvent], None]

#: ``posts`` events are reported at most this often (seconds): a callback per post would cost
#: a 100,000-post sync, and nobody reads a count that changes faster than this.
POST_PROGRESS_INTERVAL_S = 0.1


class _PostProgress:
    """Reports each target as it starts, and the posts of the current one as ``posts``
    events: at most one per ``POST_PROGRESS_INTERVAL_S`` while the target runs, and its last
    count, if not said yet, when the next target starts or the sync ends."""

    def __init__(self, progress: ProgressCallback) -> None:
        self._progress = progress
        self._target = ProgressEvent("target", 0, 0)
        self._posts = 0
        self._expected: int | None = None
        self._unsaid = False
        self._reported = -math.inf

    def target(self, done: int, total: int, label: str) -> None:
        self._say_unsaid()
        self._target = ProgressEvent("target", done, total, label)
        self._posts, self._expected = 0, None
        self._progress(self._target)

    def done(self, total: int) -> None:
        self._say_unsaid()
        self._progress(ProgressEvent("done", total, total))

    def expect(self, posts: int) -> None:
        self._expected = posts
        self._changed()

    def advance(self, posts: int) -> None:
        if posts:
            self._posts += posts
            self._changed()

    def _changed(self) -> None:
        self._unsaid = True
        now = time.monotonic()
        if now - self._reported >= POST_PROGRESS_INTERVAL_S:
            self._reported = now
            self._say()

    def _say_unsaid(self) -> None:
        if self._unsaid:
            self._say()

    def _say(self) -> None:
        self._unsaid = False
        self._progress(replace(self._target, stage="posts", posts=self._posts,
                               posts_expected=self._expected))


#: Posts are written in batches of at most this many (and at every checkpoint or prune).
BATCH_SIZE = 200


@dataclass(frozen=True)
class _Rejection:
    """Why one file of a post was not stored, and whether the next sync tries it again (a
    URL that is refused, not http(s) or private, would be refused again)."""

    reason: str
    retried: bool

    def shown(self) -> str:
        return f"{self.reason} ({'retried on the next sync' if self.retried else 'not retried'})"


@dataclass
class _TargetState:
    #: The source name the target's items are stored under (``SyncTarget.stored_as``).
    source: str
    creator_ids: dict[str, int] = field(default_factory=dict)
    collection_ids: dict[str, int] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pending: list[PendingPost] = field(default_factory=list)
    #: Media keys of the current batch already in the store (looked up in one query).
    known_media: dict[str, int] = field(default_factory=dict)
    #: A file to be retried was not stored: the target's cursor stays where it was before it,
    #: so the next sync is handed that cursor and yields the post again, whatever the
    #: source's cursor skips (see ``_sync_target``).
    cursor_pinned: bool = False


class SyncRunner:
    """Persists one source's items; one runner per sync."""

    def __init__(self, *, engine: Engine, repository: Repository, store: BlobStore,
                 source_name: str, source: Source, notify: Notify | None = None,
                 progress: ProgressCallback | None = None) -> None:
        self.engine = engine
        self.repository = repository
        self.store = store
        self.source_name = source_name
        self.source = source
        self.notify = notify or (lambda *_args, **_kwargs: None)
        self.progress = progress or (lambda _event: None)
        self._posts = _PostProgress(self.progress)
        self.files: MediaFetcher[tuple[str, int, bool]] = MediaFetcher(
            self._store_file, workers=int(getattr(source, "media_concurrency", 1) or 1))

    def run(self, targets: Sequence[str]) -> SyncReport:
        report = SyncReport(source=self.source_name)
        try:
            self.source.authenticate()
            resolved = list(self.source.resolve(targets))
        except SourceError as exc:
            report.errors.append(SyncError(subject=self.source_name, message=describe(exc)))
            return report
        report.targets = len(resolved)
        self.progress(ProgressEvent("resolved", 0, len(resolved)))
        with self.engine.connect() as conn:
            cursors = self.repository.get_cursors(conn, self.source_name,
                                                  [target.scope for target in resolved])
        try:
            with ReadAhead(resolved,
                           lambda t: self.source.fetch(t, cursors.get(t.scope))) as ahead:
                self._sync_targets(resolved, ahead, report)
        finally:
            self.files.close()
        self._posts.done(len(resolved))
        return report

    def _sync_targets(self, resolved: list[SyncTarget], ahead: ReadAhead[SyncTarget, SyncItem],
                      report: SyncReport) -> None:
        for done, target in enumerate(resolved):
            self._posts.target(done, len(resolved), target.label)
            try:
                self._sync_target(target, ahead.items(target), report)
            except (SourceAuthError, StorageFull) as exc:
                report.errors.append(SyncError(subject=target.label, message=describe(exc)))
                break  # every other target would fail the same way
            except ItemRejected as exc:
                self._fail(target, exc.reason, report)
            except Exception as exc:
                # one line for the user (in the report, no SQL, no secrets); the traceback
                # with -v, for plugin authors and bug reports
                if not isinstance(exc, SourceError | MediaError):
                    log.info("unexpected error syncing %s", target.label, exc_info=True)
                self._fail(target, describe(exc), report)
            finally:
                self.files.cancel()  # files fetched ahead for a batch that failed

    def _fail(self, target: SyncTarget, message: str, report: SyncReport) -> None:
        report.errors.append(SyncError(subject=target.label, message=message))
        with self.engine.begin() as conn:
            self.repository.record_sync_error(conn, self.source_name, target.scope, message)

    def _sync_target(self, target: SyncTarget, items: Iterator[SyncItem],
                     report: SyncReport) -> None:
        """Write one target, committing at each checkpoint. What a transaction wrote is
        counted in ``tally`` and reaches ``report`` only when it commits, so a target that
        fails midway does not report rows that were rolled back (its notices are kept)."""
        state = _TargetState(source=target.stored_as or self.source_name)
        wrote_anything = False
        ahead = _Lookahead(items)
        tally = SyncReport(source=self.source_name)
        with self.engine.connect() as conn:
            transaction = conn.begin()
            try:
                for item in ahead:
                    if isinstance(item, Checkpoint):
                        self._flush_posts(conn, state, tally,
                                          ahead if self.files.parallel else None)
                        if not state.cursor_pinned:
                            self.repository.set_cursor(conn, self.source_name, target.scope,
                                                       item.cursor)
                        self.store.sync_pending()  # the files before the rows naming them
                        transaction.commit()
                        tally = _add_counts(report, tally)
                        self._flush_events(state)
                        transaction = conn.begin()
                    else:
                        wrote_anything = wrote_anything or not isinstance(item, Notice | Expect)
                        self._persist(conn, item, state, tally, target)
                self._flush_posts(conn, state, tally)
                self.store.sync_pending()
                transaction.commit()
                tally = _add_counts(report, tally)
            except BaseException:
                transaction.rollback()
                report.notices.extend(tally.notices)
                report.errors.extend(tally.errors)
                raise
        self._flush_events(state)
        if not wrote_anything:
            report.skipped_unchanged += 1

    def _plan_ahead(self, conn: Connection, source: str, part: list[SyncItem]) -> None:
        """Start fetching the new files of a part not written yet."""
        files = [media for item in part if isinstance(item, PostIn) for media in item.media
                 if media.role != EMBED_ROLE]
        known = self.repository.media_ids_for_keys(conn, source,
                                                   [media.key for media in files])
        self.files.plan(media for media in files if media.key not in known)

    def _flush_events(self, state: _TargetState) -> None:
        events, state.events = state.events, []
        for name, kwargs in events:
            self.notify(name, **kwargs)

    # -- items ---------------------------------------------------------------------------

    def _persist(self, conn: Connection, item: object, state: _TargetState,
                 report: SyncReport, target: SyncTarget) -> None:
        if isinstance(item, Notice):
            line = SyncError(subject=target.label, message=item.message)
            (report.errors if item.failed else report.notices).append(line)
        elif isinstance(item, Expect):
            self._posts.expect(item.posts)
        elif isinstance(item, CreatorIn):
            creator_id, written = self.repository.upsert_creator(conn, state.source, item)
            state.creator_ids[item.external_id] = creator_id
            report.creators_written += int(written)
        elif isinstance(item, CollectionIn):
            creator_id = self._creator_id(conn, item.creator_external_id, state)
            collection_id, written = self.repository.upsert_collection(
                conn, state.source, item, creator_id
            )
            state.collection_ids[item.external_id] = collection_id
            report.collections_written += int(written)
        elif isinstance(item, PostIn):
            if any(p.post.external_id == item.external_id for p in state.pending):
                self._flush_posts(conn, state, report)  # a batch holds each post once
            self._queue_post(conn, item, state)
            if len(state.pending) >= BATCH_SIZE:
                self._flush_posts(conn, state, report)
        elif isinstance(item, Prune):
            self._flush_posts(conn, state, report)
            report.posts_deleted += self.repository.prune_collection(
                conn, state.source, item.collection_external_id, item.keep
            )
        else:
            shown = repr(item)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise SourceError(
                f"source {self.source_name!r} yielded a {type(item).__name__} ({shown}); fetch "
                "yields CreatorIn, CollectionIn, PostIn, Checkpoint, Notice, Expect or Prune "
                "(from alejandria.models)")

    def _creator_id(self, conn: Connection, external_id: str, state: _TargetState) -> int:
        if external_id not in state.creator_ids:
            known = self.repository.creator_ids(conn, state.source, [external_id])
            if external_id not in known:
                raise SourceError(
                    f"source {self.source_name!r} referenced creator {external_id!r} "
                    "before yielding it"
                )
            state.creator_ids.update(known)
        return state.creator_ids[external_id]

    def _queue_post(self, conn: Connection, post: PostIn, state: _TargetState) -> None:
        creator_id = self._creator_id(conn, post.creator_external_id, state)
        missing = [ref.external_id for ref in post.collections
                   if ref.external_id not in state.collection_ids]
        if missing:
            state.collection_ids.update(
                self.repository.collection_ids(conn, state.source, missing)
            )
        positions = {
            state.collection_ids[ref.external_id]: ref.position
            for ref in post.collections if ref.external_id in state.collection_ids
        }
        state.pending.append(PendingPost(post, creator_id, positions))

    def _flush_posts(self, conn: Connection, state: _TargetState, report: SyncReport,
                     ahead: _Lookahead | None = None) -> None:
        """Write the pending posts and their media: the posts, the batch's new files (fetched
        ahead where the source allows it) and their rows in one statement, then every link.
        With ``ahead``, the new files of the next part are planned right after this batch's,
        so that the fetch threads work on them while this batch is written and committed."""
        batch, state.pending = state.pending, []
        writes = self.repository.posts.write(conn, state.source, batch)
        changed = [(pending.post, write) for pending, write in zip(batch, writes, strict=True)
                   if write.changed]
        # highlights follow their quote into the rewritten text, in the same transaction
        reattach_highlights(conn, [write.id for write in writes
                                   if write.changed and not write.created])
        self.files.discard(media.key for pending, write in zip(batch, writes, strict=True)
                           if not write.changed for media in pending.post.media)
        report.posts_unchanged += len(batch) - len(changed)
        report.posts_written += len(changed)
        files = [media for post, _write in changed for media in post.media
                 if media.role != EMBED_ROLE]
        state.known_media = self.repository.media_ids_for_keys(
            conn, state.source, [media.key for media in files])
        rejected = self._store_files(conn, files, state, report, ahead)
        links: list[MediaLinks] = []
        for post, write in changed:
            if post.media or not write.created:
                embeds = [media for media in post.media if media.role == EMBED_ROLE]
                kept = [(media, state.known_media[media.key]) for media in post.media
                        if media.role != EMBED_ROLE and media.key not in rejected]
                links.append(MediaLinks(write.id, kept, new_post=write.created,
                                        keep_keys=[embed.key for embed in embeds]))
                # a file the source cannot serve (gone, forbidden) must not cost the rest of
                # the creator: note it, and fetch the post again on the next sync
                refused = [media for media in post.media if media.key in rejected]
                report.notices.extend(SyncError(
                    subject=f"{post.title}: {media.filename or media.key}",
                    message=rejected[media.key].shown()) for media in refused)
                if any(rejected[media.key].retried for media in refused):
                    self.repository.posts.mark_incomplete(conn, write.id)
                    state.cursor_pinned = True
                self.repository.record_embeds(conn, state.source, write.id, embeds,
                                              new_post=write.created)
            state.events.append(("post_stored", {"post_id": write.id, "post": post,
                                                 "created": write.created}))
        self.repository.link_media_many(conn, links)
        self._posts.advance(len(batch))

    def _store_files(self, conn: Connection, files: list[MediaIn], state: _TargetState,
                     report: SyncReport, ahead: _Lookahead | None) -> dict[str, _Rejection]:
        """Fetch the files whose keys are not stored yet, record them all in one statement
        (ids into ``state.known_media``); the keys that could not be fetched, with why."""
        self.files.plan((media for media in files if media.key not in state.known_media),
                        first=True)
        if ahead is not None:
            self._plan_ahead(conn, state.source, ahead.peek_part(BATCH_SIZE))
        fetched: dict[str, tuple[MediaIn, tuple[str, int, bool]]] = {}
        rejected: dict[str, _Rejection] = {}
        for media in files:
            if media.key in state.known_media or media.key in fetched or media.key in rejected:
                report.media_reused += media.key not in rejected
                continue
            try:
                fetched[media.key] = (media, self.files.take(media))
            except (SourceAuthError, RateLimited, StorageFull):
                raise  # every other file would fail the same way: the target stops
            except ItemRejected as exc:
                rejected[media.key] = _Rejection(exc.reason, retried=exc.retry)
            except URLRefused as exc:
                rejected[media.key] = _Rejection(str(exc), retried=False)
            except Exception as exc:
                # one file the source cannot serve (gone, broken off, too large, a bug in a
                # plugin's open_media) must not cost the rest of the creator
                if not isinstance(exc, SourceError | MediaError):
                    log.debug("unexpected error fetching %s", media.key, exc_info=True)
                rejected[media.key] = _Rejection(describe(exc), retried=True)
        stored = {key: _stored(media, *file) for key, (media, file) in fetched.items()}
        rows = self.repository.store_media_keys(conn, state.source, [
            (key, stored[key], media.metadata) for key, (media, _file) in fetched.items()])
        announced: set[str] = set()
        for key, (media_id, row_created) in rows.items():
            state.known_media[key] = media_id
            # New to the archive: a new row (the file may have been stored by a batch that
            # failed before its rows were committed), or a file gone missing from the store.
            file = stored[key]
            if (row_created or file.created) and file.sha256 not in announced:
                announced.add(file.sha256)
                report.media_stored += 1
                state.events.append(("media_stored",
                                     {"media": file.model_copy(update={"created": True})}))
            else:
                report.media_reused += 1
        return rejected

    def _store_file(self, media: MediaIn) -> tuple[str, int, bool]:
        """Fetch one file into the store: ``(sha256, size, created)``. Runs on the fetcher's
        threads when the source allows it (no database here)."""
        if media.data is not None:
            return self.store.put_bytes(media.data, sync=False)
        with self.source.open_media(media) as stream:
            return self.store.put_stream(stream, sync=False)


#: The counters a transaction's writes add to; added to the report when it commits.
_COUNTS = ("creators_written", "collections_written", "posts_written", "posts_unchanged",
           "posts_deleted", "media_stored", "media_reused")


def _add_counts(report: SyncReport, tally: SyncReport) -> SyncReport:
    """Add a committed transaction's counts and notices to ``report``; a fresh tally."""
    for name in _COUNTS:
        setattr(report, name, getattr(report, name) + getattr(tally, name))
    report.notices.extend(tally.notices)
    report.errors.extend(tally.errors)
    return SyncReport(source=tally.source)


def _stored(media: MediaIn, sha256: str, size: int, created: bool) -> StoredMedia:
    mime_type, kind = describe_media(media)
    return StoredMedia(sha256=sha256, size=size, mime_type=mime_type, kind=kind, created=created)


class _Lookahead:
    """The source's items, with a look at the next part (up to its checkpoint) before it is
    written. An error the source raised while being looked at is raised where it happened,
    after the items before it."""

    def __init__(self, items: Iterator[SyncItem]) -> None:
        self._items = items
        self._buffer: deque[SyncItem | _Raise] = deque()

    def __iter__(self) -> _Lookahead:
        return self

    def __next__(self) -> SyncItem:
        if not self._buffer:
            return next(self._items)
        item = self._buffer.popleft()
        if isinstance(item, _Raise):
            raise item.error
        return item

    def peek_part(self, limit: int) -> list[SyncItem]:
        """Read up to the next checkpoint (at most ``limit`` items) beyond what was read."""
        part: list[SyncItem] = []
        if self._buffer:
            return part  # the next part was looked at already
        while len(part) < limit:
            try:
                item = next(self._items)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 - raised again in its place
                self._buffer.append(_Raise(exc))
                break
            self._buffer.append(item)
            part.append(item)
            if isinstance(item, Checkpoint):
                break
        return part


@dataclass(frozen=True)
class _Raise:
    error: Exception

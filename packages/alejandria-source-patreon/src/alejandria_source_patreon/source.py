"""The ``patreon`` source: ``alejandria sync patreon supported|URL|NAME|ID...``.

For each creator: the campaign (creator row with its tiers), then the listing read to its end
or to the first page of known posts, then the posts oldest first with their collections and
files, a checkpoint every ``checkpoint_every`` posts. Files stream through ``open_media`` while
the pipeline writes; a signed file URL that expired meanwhile is refreshed from the post.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import BinaryIO

from alejandria.errors import ItemRejected, SourceAuthError, URLRefused
from alejandria.models import (
    EMBED_ROLE,
    Checkpoint,
    CollectionIn,
    CreatorIn,
    Expect,
    JsonDict,
    MediaIn,
    Notice,
    PostIn,
    SyncItem,
    SyncTarget,
)
from alejandria.plugin_types import BaseSource, SourceContext
from alejandria_source_patreon import queries
from alejandria_source_patreon.client import LOG_IN_AGAIN, NO_SESSION, ExpiredLink, PatreonClient
from alejandria_source_patreon.config import PatreonConfig
from alejandria_source_patreon.content import html_to_text
from alejandria_source_patreon.cursor import SyncCursor
from alejandria_source_patreon.jsonapi import Document, attributes, related_ids
from alejandria_source_patreon.listing import walk_posts
from alejandria_source_patreon.posts import (
    ParsedPost,
    parse_collection,
    parse_post,
    stable_url,
)
from alejandria_source_patreon.targets import (
    CampaignResolver,
    Membership,
    TargetRef,
    from_media_paths,
    parse_memberships,
    parse_target,
)


class PatreonSource(BaseSource):
    """Options (``-o key=value``, or ``ALEJANDRIA_PATREON_<KEY>``): see the package README."""

    def __init__(self, context: SourceContext, *, client: PatreonClient | None = None) -> None:
        self.config = PatreonConfig.from_context(context)
        self._client = client
        self._memberships: list[Membership] | None = None
        #: ``open_media`` is thread-safe (one shared pool of connections, a locked rate limiter),
        #: so the pipeline fetches this many files at once while it writes rows.
        self.media_concurrency = max(1, self.config.media_workers)

    @property
    def client(self) -> PatreonClient:
        if self._client is None:
            self._client = PatreonClient(self.config)
        return self._client

    # -- session -------------------------------------------------------------------------

    def authenticate(self) -> None:
        """Check the session with ``/api/current_user`` (and keep the user's memberships)."""
        if not self.config.cookie:
            raise SourceAuthError(NO_SESSION)
        self.memberships()

    def memberships(self) -> list[Membership]:
        if self._memberships is None:
            payload = self.client.api("current_user", queries.current_user(),
                                      subject="your Patreon account")
            if not Document(payload).data:
                raise SourceAuthError(LOG_IN_AGAIN)
            self._memberships = parse_memberships(payload)
        return self._memberships

    # -- targets -------------------------------------------------------------------------

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        """Creators by campaign; one that cannot be found becomes a target that fails alone."""
        resolver = CampaignResolver(self.client, self.memberships)
        suffix = f"?{self.config.filters.signature()}" if self.config.filters.active else ""
        seen: set[str] = set()
        for raw in targets:
            for target in self._resolve_one(raw, resolver, suffix):
                if target.scope not in seen:
                    seen.add(target.scope)
                    yield target

    def _resolve_one(self, raw: str, resolver: CampaignResolver,
                     suffix: str) -> Iterator[SyncTarget]:
        try:
            ref = parse_target(raw)
            if ref.kind == "supported":
                for member in self.memberships():
                    if member.active:
                        yield _campaign_target(member.campaign_id, member.name, suffix)
                return
            if ref.kind == "collection":
                yield SyncTarget(scope=f"collection:{ref.value}{suffix}",
                                 label=f"collection {ref.value}", locator=raw,
                                 metadata={"collection_id": ref.value})
                return
            campaign_id = resolver.campaign_id(ref)
        except ItemRejected as exc:
            yield SyncTarget(scope=f"unresolved:{raw}", label=raw, locator=raw,
                             metadata={"error": exc.reason})
            return
        yield _campaign_target(campaign_id, self._label(campaign_id, ref), suffix)

    def _label(self, campaign_id: str, ref: TargetRef) -> str:
        for member in self._memberships or []:
            if member.campaign_id == campaign_id:
                return member.name
        return ref.value

    # -- fetching ------------------------------------------------------------------------

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        if "error" in target.metadata:
            raise ItemRejected(target.label, str(target.metadata["error"]))
        collection_id = target.metadata.get("collection_id")
        collection = None
        if collection_id:
            collection, campaign_id = self._collection(str(collection_id), target.label)
        else:
            campaign_id = str(target.metadata["campaign_id"])
        creator = self._creator(campaign_id, target.label)
        state = SyncCursor.from_json(cursor)
        now = datetime.now(UTC)
        full = state.full_walk_due(now, self.config.full_every_days)
        since = self.config.filters.since

        def stop(page: list[ParsedPost]) -> bool:
            if since and page and all(p.published_at and p.published_at < since for p in page):
                return True
            return not full and any(state.knows(post) for post in page)

        posts = walk_posts(self.client, campaign_id, stop=stop, label=target.label,
                           collection_id=str(collection_id) if collection_id else None)
        _check_session(posts, state, target.label)
        viewable = [post for post in posts if post.can_view]
        chosen = sorted((post for post in viewable if post.passes(self.config.filters)),
                        key=_oldest_first)
        locked = len(posts) - len(viewable)
        if self.config.dry_run:
            yield from _dry_run(chosen, state, locked)
            return
        # the listing was read whole (its links expire): the count of posts is exact
        yield Expect(posts=len(chosen))
        yield creator
        yield from _collections(chosen, collection)
        yield from self._posts(chosen, state, cursor, full=full, now=now)
        if locked:
            yield Notice(message=f"{locked} post(s) are locked for your tier and were not "
                                 "archived")

    def _posts(self, chosen: list[ParsedPost], state: SyncCursor, cursor: JsonDict | None,
               *, full: bool, now: datetime) -> Iterator[SyncItem]:
        """The posts with checkpoints; a checkpoint only when the cursor moves, so a sync
        that finds nothing new writes nothing at all."""
        committed = state.to_json()
        progress = state
        for count, parsed in enumerate(chosen, 1):
            post = parsed.post
            if self.config.comments and parsed.comment_count and not state.knows(parsed):
                post = self._with_comments(post)
            yield post
            progress = progress.advanced(parsed)
            if count % self.config.checkpoint_every == 0 and progress.to_json() != committed:
                committed = progress.to_json()
                yield Checkpoint(cursor=committed)
        if full and not self.config.filters.active:
            progress = SyncCursor(progress.newest_published, progress.newest_changed, now,
                                  progress.recent)
        final = progress.to_json()
        if final != committed or final != (cursor or {}):
            yield Checkpoint(cursor=final)

    def _creator(self, campaign_id: str, label: str) -> CreatorIn:
        payload = self.client.api(f"campaigns/{campaign_id}", queries.campaign(),
                                  subject=f"creator {label}")
        document = Document(payload)
        if not document.data:
            raise ItemRejected(label, "Patreon has no such campaign")
        campaign = document.data[0]
        attrs = attributes(campaign)
        owner = attributes(document.related_one(campaign, "creator"))
        tiers = [{"id": str(tier.get("id")), "title": attributes(tier).get("title"),
                  "amount_cents": attributes(tier).get("amount_cents")}
                 for tier in document.related(campaign, "rewards")
                 if attributes(tier).get("title")]
        summary = attrs.get("summary")
        return CreatorIn(
            external_id=campaign_id,
            name=str(attrs.get("name") or owner.get("full_name") or label),
            url=str(attrs["url"]) if attrs.get("url") else None,
            avatar_url=stable_url(attrs.get("avatar_photo_url")),
            metadata={
                "campaign_id": campaign_id,
                "vanity": attrs.get("vanity") or owner.get("vanity"),
                "creation_name": attrs.get("creation_name"),
                "summary": html_to_text(summary) if isinstance(summary, str) else None,
                "is_nsfw": bool(attrs.get("is_nsfw")),
                "tiers": tiers,
            },
        )

    def _collection(self, collection_id: str, label: str) -> tuple[CollectionIn, str]:
        payload = self.client.api(f"collection/{collection_id}", queries.collection(),
                                  subject=label)
        document = Document(payload)
        if not document.data:
            raise ItemRejected(label, "Patreon has no such collection")
        resource = document.data[0]
        owners = related_ids(resource, "campaign")
        campaign_id = owners[0][1] if owners else None
        if campaign_id is None:
            thumbnail = attributes(resource).get("thumbnail")
            campaign_id = from_media_paths(str(thumbnail)) if thumbnail else None
        if not campaign_id:
            raise ItemRejected(label, "cannot tell which creator this collection belongs to")
        return parse_collection(resource, campaign_id), campaign_id

    def _with_comments(self, post: PostIn) -> PostIn:
        comments: list[JsonDict] = []
        payload = self.client.api(f"posts/{post.external_id}/comments", queries.comments(),
                                  subject=f"the comments of post {post.external_id}")
        while True:
            document = Document(payload)
            for comment in document.data:
                attrs = attributes(comment)
                author = attributes(document.related_one(comment, "commenter"))
                comments.append({"id": str(comment.get("id")), "author": author.get("full_name"),
                                 "body": attrs.get("body"), "created": attrs.get("created"),
                                 "by_creator": bool(attrs.get("is_by_creator"))})
            if not document.next_url:
                break
            payload = self.client.follow(document.next_url,
                                         subject=f"the comments of post {post.external_id}")
        return post.model_copy(update={"metadata": {**post.metadata, "comments": comments}})

    # -- media ---------------------------------------------------------------------------

    def open_media(self, media: MediaIn) -> contextlib.AbstractContextManager[BinaryIO]:
        if media.role == EMBED_ROLE or not media.url:
            raise ItemRejected(media.filename or media.key, "not a file to stream")
        if "refused" in media.metadata:  # a data: image not stored (see inline_data)
            raise URLRefused(f"refused {media.url}: {media.metadata['refused']}")
        return self._open(media)

    @contextlib.contextmanager
    def _open(self, media: MediaIn) -> Iterator[BinaryIO]:
        subject = media.filename or media.key
        assert media.url is not None
        with contextlib.ExitStack() as stack:
            try:
                stream = stack.enter_context(self.client.open(media.url, subject=subject))
            except ExpiredLink:
                fresh = self._fresh_url(media)
                stream = stack.enter_context(self.client.open(fresh, subject=subject))
            yield stream

    def _fresh_url(self, media: MediaIn) -> str:
        """The file's URL signed anew: the post is fetched again and the key looked up."""
        post_id = str(media.metadata.get("post_id") or "")
        payload = self.client.api(f"posts/{post_id}", queries.single_post(),
                                  subject=f"post {post_id}")
        document = Document(payload)
        for resource in document.data:
            parsed = parse_post(document, resource, "", self.config.base_url)
            for candidate in parsed.post.media:
                if candidate.key == media.key and candidate.url:
                    return candidate.url
        raise ItemRejected(media.filename or media.key,
                           f"the file is no longer part of post {post_id}")


def _campaign_target(campaign_id: str, label: str, suffix: str) -> SyncTarget:
    return SyncTarget(scope=f"campaign:{campaign_id}{suffix}", label=label,
                      locator=campaign_id, metadata={"campaign_id": campaign_id})


def _oldest_first(post: ParsedPost) -> tuple[datetime, int, str]:
    published = post.published_at or datetime.min.replace(tzinfo=UTC)
    return published, int(post.id) if post.id.isdigit() else 0, post.id


def _check_session(posts: list[ParsedPost], state: SyncCursor, label: str) -> None:
    """Posts archived as viewable now all locked: Patreon is showing us a logged-out view."""
    if not posts or any(post.can_view for post in posts):
        return
    if any(post.id in state.recent for post in posts):
        raise SourceAuthError(f"every post of {label} came back locked, including posts "
                              f"archived before: {LOG_IN_AGAIN}")


def _collections(chosen: list[ParsedPost], extra: CollectionIn | None) -> Iterator[CollectionIn]:
    seen: set[str] = set()
    if extra is not None:
        seen.add(extra.external_id)
        yield extra
    for post in chosen:
        for collection in post.collections:
            if collection.external_id not in seen:
                seen.add(collection.external_id)
                yield collection


def _dry_run(chosen: list[ParsedPost], state: SyncCursor, locked: int) -> Iterator[Notice]:
    """What a real sync would archive, as notices (nothing is written)."""
    todo = [post for post in chosen if not state.knows(post)]
    files = sum(1 for post in todo for m in post.post.media if m.role != EMBED_ROLE)
    videos = sum(1 for post in todo for m in post.post.media if m.role == EMBED_ROLE)
    yield Notice(message=f"dry run: would archive {len(todo)} new or edited post(s) with "
                         f"{files} file(s) and {videos} embedded video(s); {locked} locked "
                         "post(s) skipped")
    for post in todo:
        when = post.published_at.date().isoformat() if post.published_at else "undated"
        yield Notice(message=f"would archive {when} {post.post.title!r} "
                             f"({len(post.post.media)} file(s))")

"""``archive.library``: the catalogue read for a signed-in user (the web app's REST API).

Every method takes a keyword-only ``actor`` (None: the installation) and checks its role
before reading anything (``accounts.roles``): the catalogue needs ``READ``, which every role
has; the jobs need ``OPERATE`` (admins). An unknown id raises ``NotFound`` ("post 12 not
found"); a bad argument (cursor, sort, filter value, thumbnail size) ``InvalidRequest``.
Lists are pages (``pages.Page``) walked with the opaque ``next`` cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from alejandria.accounts.roles import Permission, requires
from alejandria.library import creators as creator_queries
from alejandria.library import documents as document_queries
from alejandria.library import jobs as job_queries
from alejandria.library import media as media_queries
from alejandria.library import posts as post_queries
from alejandria.library.creators import Choices, CollectionSummary, CreatorSummary
from alejandria.library.documents import PageText
from alejandria.library.jobs import JobDetail, JobSummary
from alejandria.library.media import MediaInfo, StoredFile
from alejandria.library.pages import DEFAULT_LIMIT, Page
from alejandria.library.post_view import PostView, read_post_view
from alejandria.library.posts import PostDetail, PostFilter, PostSummary, PostVersion
from alejandria.models import Actor
from alejandria.plugin_types import BlobStore


class Library:
    """Posts, creators, collections, media and jobs, read-only and role-checked."""

    def __init__(self, engine: Engine, data_dir: Path, media: BlobStore) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.media_store = media

    def _reading(self) -> Connection:
        """A connection in autocommit: every method only reads, so no BEGIN and ROLLBACK
        around its statements, and psycopg keeps their prepared plans (a rollback drops
        them): post detail's six statements went from 5.3 to 2.5 ms (bench/web_api.py)."""
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    # -- posts --------------------------------------------------------------------------------

    @requires(Permission.READ)
    def posts(self, *, source: str | None = None, creator_id: int | None = None,
              collection_id: int | None = None, published_after: datetime | None = None,
              published_before: datetime | None = None, media_kind: str | None = None,
              tag: str | None = None, sort: str = "newest", cursor: str | None = None,
              limit: int = DEFAULT_LIMIT, actor: Actor | None = None) -> Page[PostSummary]:
        """A page of posts matching every filter given (``published_before`` exclusive;
        ``media_kind``: holding a file of that kind; ``tag``: exact), sorted ``newest``
        (published, undated last), ``oldest`` (undated last) or by ``title``."""
        where = PostFilter(source=source, creator_id=creator_id, collection_id=collection_id,
                           published_after=published_after, published_before=published_before,
                           media_kind=media_kind, tag=tag)
        with self._reading() as conn:
            return post_queries.list_posts(conn, where, sort=sort, cursor=cursor, limit=limit)

    @requires(Permission.READ)
    def post(self, post_id: int, *, actor: Actor | None = None,
             media_link: Callable[[int], str] | None = None) -> PostDetail:
        """One post with its text, sanitised HTML, collections, media, chapters, embeds and
        earlier versions. ``media_link(media_id)``: the caller's URL of a stored file, for the
        pictures in the HTML that were archived (else they keep the source's address)."""
        with self._reading() as conn:
            return read_post_view(conn, post_id, None, media_link).post

    @requires(Permission.READ)
    def post_view(self, post_id: int, *, actor: Actor | None = None,
                  media_link: Callable[[int], str] | None = None) -> PostView:
        """``post`` and, for an actor who is a user, their own status, note, lists and
        highlights of it (``Personal.post``), in one statement: what a reader's page shows.
        Nobody else's data: the actor's alone."""
        user_id = actor.user_id if actor is not None else None
        with self._reading() as conn:
            return read_post_view(conn, post_id, user_id, media_link)

    @requires(Permission.READ)
    def post_version(self, post_id: int, version_id: int, *,
                     actor: Actor | None = None) -> PostVersion:
        """An earlier version of a post (its ids are in ``post(...).versions``)."""
        with self._reading() as conn:
            return post_queries.get_version(conn, post_id, version_id)

    @requires(Permission.READ)
    def pages(self, post_id: int, *, actor: Actor | None = None) -> list[PageText]:
        """The text of the post's pages (a PDF chapter's, an attached document's), page by
        page: what a highlight on a page is anchored in."""
        with self._reading() as conn:
            return document_queries.post_pages(conn, post_id)

    # -- creators and collections ---------------------------------------------------------------

    @requires(Permission.READ)
    def creators(self, *, source: str | None = None, cursor: str | None = None,
                 limit: int = DEFAULT_LIMIT,
                 actor: Actor | None = None) -> Page[CreatorSummary]:
        """A page of creators by name."""
        with self._reading() as conn:
            return creator_queries.list_creators(conn, source=source, cursor=cursor,
                                                 limit=limit)

    @requires(Permission.READ)
    def creator(self, creator_id: int, *, actor: Actor | None = None) -> CreatorSummary:
        with self._reading() as conn:
            return creator_queries.get_creator(conn, creator_id)

    @requires(Permission.READ)
    def collections(self, *, creator_id: int | None = None, source: str | None = None,
                    cursor: str | None = None, limit: int = DEFAULT_LIMIT,
                    actor: Actor | None = None) -> Page[CollectionSummary]:
        """A page of collections by title."""
        with self._reading() as conn:
            return creator_queries.list_collections(conn, creator_id=creator_id, source=source,
                                                    cursor=cursor, limit=limit)

    @requires(Permission.READ)
    def choices(self, *, creator_id: int | None = None, limit: int = 200,
                actor: Actor | None = None) -> Choices:
        """The sources, creators and collections a filter form offers (names only, cheap
        enough for every page that shows the form)."""
        with self._reading() as conn:
            return creator_queries.filter_choices(conn, creator_id=creator_id, limit=limit)

    @requires(Permission.READ)
    def collection(self, collection_id: int, *,
                   actor: Actor | None = None) -> CollectionSummary:
        with self._reading() as conn:
            return creator_queries.get_collection(conn, collection_id)

    # -- media --------------------------------------------------------------------------------

    @requires(Permission.READ)
    def media(self, media_id: int, *, actor: Actor | None = None) -> MediaInfo:
        with self._reading() as conn:
            return media_queries.get_media(conn, media_id)

    @requires(Permission.READ)
    def media_file(self, media_id: int, *, actor: Actor | None = None) -> StoredFile:
        """The file to stream: its info and absolute path in the media store (made from its
        sha256 alone); ``NotFound`` also when the store lacks the bytes."""
        with self._reading() as conn:
            info = media_queries.get_media(conn, media_id)
        return media_queries.stored_file(info, self.media_store)

    @requires(Permission.READ)
    def thumbnail(self, media_id: int, size: int, *, actor: Actor | None = None) -> Path:
        """The absolute path of a WebP thumbnail, ``size`` 150, 300 or 600 (else
        ``InvalidRequest``, a ``ValueError``); ``NotFound`` when none was made. A recorded
        path leading outside the data dir's ``derived/`` files raises ``MediaError``."""
        with self._reading() as conn:
            return media_queries.thumbnail_path(conn, self.data_dir, media_id, size,
                                                self.media_store)

    # -- jobs ---------------------------------------------------------------------------------

    @requires(Permission.OPERATE)
    def jobs(self, *, status: str | None = None, job_type: str | None = None,
             cursor: str | None = None, limit: int = DEFAULT_LIMIT,
             actor: Actor | None = None) -> Page[JobSummary]:
        """A page of jobs, the newest first."""
        with self._reading() as conn:
            return job_queries.list_jobs(conn, status=status, job_type=job_type, cursor=cursor,
                                         limit=limit)

    @requires(Permission.OPERATE)
    def job(self, job_id: int, *, actor: Actor | None = None) -> JobDetail:
        """One job in full: its payload (secrets hidden), result, error and traceback."""
        with self._reading() as conn:
            return job_queries.get_job(conn, job_id)

    @requires(Permission.OPERATE)
    def job_counts(self, *, actor: Actor | None = None) -> dict[str, dict[str, int]]:
        """``{queue: {status: count}}`` over every job."""
        with self._reading() as conn:
            return job_queries.count_jobs(conn)

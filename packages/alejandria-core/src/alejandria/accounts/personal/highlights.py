"""Highlights on a post's text, on one page of its document text, or on a transcript range.

Each is anchored by position (``start``/``end`` characters in that text) and by quote
(``exact`` plus ``prefix``/``suffix`` context). ``reattach`` runs when a sync rewrites posts:
a highlight whose text moved follows it; one whose text is gone is kept and marked
``orphaned`` (and comes back if the text does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from alejandria.accounts.personal.anchoring import Anchor, anchor_at, locate
from alejandria.accounts.personal.common import Owned, check_color, require_post
from alejandria.errors import NotFound
from alejandria.storage.schema import (
    chunks,
    post_media,
    posts,
    transcript_segments,
    transcriptions,
    user_highlights,
)

Target = Literal["text", "page", "transcript"]
DEFAULT_COLOR = "#ffeb3b"
#: Segments of a transcript are joined with this to make the text a highlight lives in.
SEGMENT_JOIN = "\n"
PAGE_JOIN = "\n\n"


class _Unset:
    pass


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Highlight:
    id: int
    post_id: int
    target: Target
    page: int | None
    media_id: int | None
    start: int
    end: int
    exact: str
    prefix: str
    suffix: str
    color: str
    comment: str | None
    orphaned: bool
    created_at: datetime
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "post_id": self.post_id, "target": self.target,
                "page": self.page, "media_id": self.media_id, "start": self.start,
                "end": self.end, "quote": self.exact, "prefix": self.prefix,
                "suffix": self.suffix, "color": self.color, "comment": self.comment,
                "orphaned": self.orphaned, "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat()}


def _to_highlight(row: Row[Any]) -> Highlight:
    return Highlight(row.id, row.post_id, row.target, row.page, row.media_id, row.start,
                     row.end, row.exact, row.prefix, row.suffix, row.color, row.comment,
                     row.orphaned, row.created_at, row.updated_at)


# -- the texts highlights live in -------------------------------------------------------------

def post_text(conn: Connection, post_id: int) -> str | None:
    return conn.execute(select(posts.c.content_text).where(posts.c.id == post_id)).scalar()


def page_text(conn: Connection, post_id: int, page: int) -> str | None:
    """The text of one page of a post's document: its chunks of that page, in order."""
    pieces = conn.execute(select(chunks.c.text).where(chunks.c.post_id == post_id,
                                                      chunks.c.page == page)
                          .order_by(chunks.c.ordinal)).scalars().all()
    return PAGE_JOIN.join(pieces) if pieces else None


def transcript_segments_of(conn: Connection, media_id: int) -> list[tuple[int, str]]:
    """(ordinal, text) of the media's newest transcript (corrections applied)."""
    newest = (select(transcriptions.c.id).where(transcriptions.c.media_id == media_id)
              .order_by((transcriptions.c.status == "complete").desc(),
                        transcriptions.c.updated_at.desc(), transcriptions.c.id.desc())
              .limit(1).scalar_subquery())
    rows = conn.execute(select(transcript_segments.c.ordinal,
                               func.coalesce(transcript_segments.c.corrected_text,
                                             transcript_segments.c.text))
                        .where(transcript_segments.c.transcription_id == newest)
                        .order_by(transcript_segments.c.ordinal)).all()
    return [(row[0], row[1]) for row in rows]


def _segment_spans(segments: Sequence[tuple[int, str]]) -> list[tuple[int, int, int]]:
    """(ordinal, start, end) of each segment in the joined transcript text."""
    spans, at = [], 0
    for ordinal, segment in segments:
        spans.append((ordinal, at, at + len(segment)))
        at += len(segment) + len(SEGMENT_JOIN)
    return spans


def segments_of(conn: Connection, highlight: Highlight) -> tuple[int, int] | None:
    """The first and last transcript segment (ordinals) a transcript highlight covers."""
    if highlight.media_id is None:
        return None
    covered = [ordinal for ordinal, start, end
               in _segment_spans(transcript_segments_of(conn, highlight.media_id))
               if start < highlight.end and end > highlight.start]
    return (covered[0], covered[-1]) if covered else None


def target_text(conn: Connection, post_id: int, target: str, page: int | None,
                media_id: int | None) -> str | None:
    if target == "page" and page is not None:
        return page_text(conn, post_id, page)
    if target == "transcript" and media_id is not None:
        segments = transcript_segments_of(conn, media_id)
        return SEGMENT_JOIN.join(segment for _, segment in segments) if segments else None
    return post_text(conn, post_id)


# -- re-anchoring after a sync ----------------------------------------------------------------

def reattach(conn: Connection, post_ids: Iterable[int]) -> int:
    """Re-anchor the highlights (every user's) on the text and pages of these rewritten posts,
    in the caller's transaction; how many rows changed. One query when none has highlights."""
    ids = sorted(set(post_ids))
    if not ids:
        return 0
    rows = conn.execute(select(user_highlights).where(
        user_highlights.c.post_id == func.any(ids),
        user_highlights.c.target != "transcript")).all()
    texts: dict[tuple[int, str, int | None], str | None] = {}
    changed = 0
    for row in rows:
        key = (row.post_id, row.target, row.page)
        if key not in texts:
            texts[key] = target_text(conn, row.post_id, row.target, row.page, None)
        values = _reanchored(row, texts[key])
        if values:
            conn.execute(update(user_highlights).where(user_highlights.c.id == row.id)
                         .values(**values, updated_at=func.now()))
            changed += 1
    return changed


def _reanchored(row: Row[Any], current: str | None) -> dict[str, Any]:
    """The columns to change so ``row`` points at its quote in ``current``."""
    if current is not None and current[row.start:row.end] == row.exact:
        here = anchor_at(current, row.start, row.end)
        if (here.prefix, here.suffix) == (row.prefix, row.suffix):
            return {"orphaned": False} if row.orphaned else {}
    found = None if current is None else locate(current, row.exact, row.prefix, row.suffix,
                                                 hint=row.start)
    if found is None:
        return {} if row.orphaned else {"orphaned": True}
    return {"start": found.start, "end": found.end, "prefix": found.prefix,
            "suffix": found.suffix, "orphaned": False}


# -- the service ------------------------------------------------------------------------------

class Highlights(Owned):
    """The acting user's highlights."""

    def list(self, post_id: int | None = None, *,
             orphaned: bool | None = None) -> list[Highlight]:
        """The user's highlights (of one post), in reading order."""
        query = select(user_highlights).where(user_highlights.c.user_id == self.user_id)
        if post_id is not None:
            query = query.where(user_highlights.c.post_id == post_id)
        if orphaned is not None:
            query = query.where(user_highlights.c.orphaned == orphaned)
        query = query.order_by(user_highlights.c.post_id, user_highlights.c.target,
                               user_highlights.c.page, user_highlights.c.start,
                               user_highlights.c.id)
        with self.engine.connect() as conn:
            return [_to_highlight(row) for row in conn.execute(query)]

    def get(self, highlight_id: int) -> Highlight:
        with self.engine.connect() as conn:
            return _to_highlight(self._row(conn, highlight_id))

    def segments(self, highlight_id: int) -> tuple[int, int] | None:
        """The transcript segments (first, last ordinal) a highlight covers; None for text."""
        with self.engine.connect() as conn:
            return segments_of(conn, _to_highlight(self._row(conn, highlight_id)))

    def add(self, post_id: int, quote: str | None = None, *, start: int | None = None,
            page: int | None = None, media_id: int | None = None,
            segments: tuple[int, int] | None = None, color: str = DEFAULT_COLOR,
            comment: str | None = None) -> Highlight:
        """Highlight ``quote`` in a post's text, on ``page`` of its document, or in the
        transcript of ``media_id`` (``segments``: a range of segment ordinals, the whole range
        when no quote is given). ``start`` picks one occurrence of a repeated quote (the first
        otherwise). ``ValueError`` when the quote is not there."""
        self._may_change()
        target: Target = "transcript" if media_id is not None else \
            "page" if page is not None else "text"
        checked_color = check_color(color)
        with self.engine.begin() as conn:
            require_post(conn, post_id)
            anchor = self._anchor(conn, post_id, target, page, media_id, quote, start,
                                  segments)
            row = conn.execute(insert(user_highlights).values(
                user_id=self.user_id, post_id=post_id, target=target, page=page,
                media_id=media_id, start=anchor.start, end=anchor.end, exact=anchor.exact,
                prefix=anchor.prefix, suffix=anchor.suffix, color=checked_color,
                comment=comment or None).returning(*user_highlights.c)).one()
        return _to_highlight(row)

    def update(self, highlight_id: int, *, color: str = UNSET,
               comment: str | None = UNSET) -> Highlight:
        """Change the colour and/or the comment (None or "" removes it)."""
        self._may_change()
        values: dict[str, Any] = {}
        if color is not UNSET:
            values["color"] = check_color(color)
        if comment is not UNSET:
            values["comment"] = comment or None
        with self.engine.begin() as conn:
            self._row(conn, highlight_id, lock=True)
            if not values:
                return _to_highlight(self._row(conn, highlight_id))
            row = conn.execute(update(user_highlights).where(
                user_highlights.c.id == highlight_id,
                user_highlights.c.user_id == self.user_id,
            ).values(**values, updated_at=func.now()).returning(*user_highlights.c)).one()
        return _to_highlight(row)

    def delete(self, highlight_id: int) -> None:
        self._may_change()
        with self.engine.begin() as conn:
            gone = conn.execute(delete(user_highlights).where(
                user_highlights.c.id == highlight_id,
                user_highlights.c.user_id == self.user_id)).rowcount
        if not gone:
            raise NotFound(f"no highlight {highlight_id}")

    # -- helpers -----------------------------------------------------------------------------

    def _row(self, conn: Connection, highlight_id: int, *, lock: bool = False) -> Row[Any]:
        query = select(user_highlights).where(user_highlights.c.id == highlight_id,
                                              user_highlights.c.user_id == self.user_id)
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFound(f"no highlight {highlight_id}")
        return row

    @staticmethod
    def _anchor(conn: Connection, post_id: int, target: Target, page: int | None,
                media_id: int | None, quote: str | None, start: int | None,
                segments: tuple[int, int] | None) -> Anchor:
        if media_id is not None and conn.execute(select(post_media.c.id).where(
                post_media.c.post_id == post_id, post_media.c.media_id == media_id)).first() \
                is None:
            raise NotFound(f"post {post_id} has no media {media_id}")
        current = target_text(conn, post_id, target, page, media_id)
        where = {"text": f"post {post_id}", "page": f"page {page} of post {post_id}",
                 "transcript": f"the transcript of media {media_id}"}[target]
        if not current:
            raise ValueError(f"{where} has no text to highlight")
        low, high = 0, len(current)
        if segments is not None:
            if media_id is None:
                raise ValueError("segments are for a transcript: give media_id too")
            spans = [(s, e) for ordinal, s, e
                     in _segment_spans(transcript_segments_of(conn, media_id))
                     if segments[0] <= ordinal <= segments[1]]
            if not spans:
                raise ValueError(f"{where} has no segments {segments[0]}-{segments[1]}")
            low, high = spans[0][0], spans[-1][1]
            if not quote:
                return anchor_at(current, low, high)
        if not quote or not quote.strip():
            raise ValueError("a highlight needs the quoted text")
        if start is not None:
            if current[start:start + len(quote)] != quote:
                raise ValueError(f"{where} does not read {quote!r} at {start}")
            return anchor_at(current, start, start + len(quote))
        found = locate(current[low:high], quote, hint=0)
        if found is None:
            raise ValueError(f"{where} does not contain {quote!r}")
        return anchor_at(current, low + found.start, low + found.end)

"""The text of a post's pages: a PDF book's chapter (the ``pdf`` source stores one chunk per
page) or a document attached to a post (its passages, copied into the post's chunks with their
page numbers by ``storage.passages``), page by page, to read.

A page's text is its chunks of that page in order, joined with ``PAGE_JOIN``: the same text a
highlight on that page is anchored in (``accounts.personal.highlights.page_text``), so a
highlight's ``start``/``end`` are offsets into ``PageText.text``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from alejandria.errors import NotFound
from alejandria.storage.schema import chunks, posts

#: Chunks of one page are joined with this (as ``highlights.PAGE_JOIN``).
PAGE_JOIN = "\n\n"


@dataclass(frozen=True)
class PageText:
    """One page of the post's text. ``media_ids``: the stored documents it was read from
    (empty for a ``pdf`` source chapter: its pages are its own chunks, and the book's file
    is the post's media of role ``ORIGINAL_ROLE``)."""

    page: int
    text: str
    media_ids: tuple[int, ...]

    def as_json(self) -> dict[str, Any]:
        return {"page": self.page, "text": self.text, "media_ids": list(self.media_ids)}


def post_pages(conn: Connection, post_id: int) -> list[PageText]:
    """Every page of the post that has text, by page number (none: ``[]``); ``NotFound``
    for an unknown post."""
    rows = conn.execute(
        select(chunks.c.page, chunks.c.text, chunks.c.media_id)
        .where(chunks.c.post_id == post_id, chunks.c.page.is_not(None))
        .order_by(chunks.c.page, chunks.c.ordinal)).all()
    if not rows and conn.execute(select(posts.c.id).where(posts.c.id == post_id)).first() \
            is None:
        raise NotFound(f"post {post_id} not found")
    found: list[PageText] = []
    texts: list[str] = []
    media: list[int] = []
    for index, row in enumerate(rows):
        texts.append(row.text)
        if row.media_id is not None and row.media_id not in media:
            media.append(row.media_id)
        if index + 1 == len(rows) or rows[index + 1].page != row.page:
            found.append(PageText(row.page, PAGE_JOIN.join(texts), tuple(media)))
            texts, media = [], []
    return found

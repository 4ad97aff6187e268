"""My lists, reading status, notes and highlights. Private by construction: every call goes
through ``archive.personal(me)``, so another user's list, note or highlight id is a 404."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Response

from alejandria.accounts.personal.service import Personal
from alejandria_web.api.common import DELETE, GET, PATCH, POST, PUT, AnyRequest, actor, archive
from alejandria_web.security.access import Access


def mine(request: AnyRequest) -> Personal:
    return archive(request).personal(actor(request))


class ListIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    description: str | None = None
    color: str | None = None


class ListPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    description: str | None = None
    color: str | None = None
    #: Send ``true`` to remove the colour (``color: null`` alone means "unchanged").
    clear_color: bool = False


class OrderIn(msgspec.Struct, forbid_unknown_fields=True):
    ids: list[int]


class StatusIn(msgspec.Struct, forbid_unknown_fields=True):
    status: str


class LabelIn(msgspec.Struct, forbid_unknown_fields=True):
    label: str


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    markdown: str = msgspec.field()


class HighlightIn(msgspec.Struct, forbid_unknown_fields=True):
    quote: str | None = None
    start: int | None = None
    page: int | None = None
    media_id: int | None = None
    segments: tuple[int, int] | None = None
    color: str | None = None
    comment: str | None = None


class HighlightPatch(msgspec.Struct, forbid_unknown_fields=True):
    color: str | None = None
    comment: str | None = None


# -- lists --------------------------------------------------------------------------------


@GET("/api/v1/lists", Access.READ, summary="My lists, in my order")
def my_lists(request: AnyRequest) -> dict[str, Any]:
    return {"items": [found.as_json() for found in mine(request).lists.list()]}


@POST("/api/v1/lists", Access.OWN_DATA, summary="Create a list")
def create_list(request: AnyRequest, data: ListIn) -> dict[str, Any]:
    return mine(request).lists.create(data.name, description=data.description,
                                      color=data.color).as_json()


@GET("/api/v1/lists/{list_id:int}", Access.READ, summary="One of my lists, with its posts")
def get_list(request: AnyRequest, list_id: int) -> dict[str, Any]:
    lists = mine(request).lists
    return {**lists.get(list_id).as_json(),
            "posts": [post.as_json() for post in lists.posts_in(list_id)]}


@PATCH("/api/v1/lists/{list_id:int}", Access.OWN_DATA,
       summary="Rename, describe or recolour a list")
def update_list(request: AnyRequest, list_id: int, data: ListPatch) -> dict[str, Any]:
    lists = mine(request).lists
    found = lists.get(list_id)
    if data.name is not None:
        found = lists.rename(list_id, data.name)
    if data.description is not None:
        found = lists.describe(list_id, data.description)
    if data.color is not None or data.clear_color:
        found = lists.recolour(list_id, None if data.clear_color else data.color)
    return found.as_json()


@DELETE("/api/v1/lists/{list_id:int}", Access.OWN_DATA, summary="Delete a list")
def delete_list(request: AnyRequest, list_id: int) -> None:
    mine(request).lists.delete(list_id)


@PUT("/api/v1/lists/order", Access.OWN_DATA, status_code=200, summary="Reorder my lists")
def reorder_lists(request: AnyRequest, data: OrderIn) -> dict[str, Any]:
    return {"items": [found.as_json() for found in mine(request).lists.reorder(data.ids)]}


@PUT("/api/v1/lists/{list_id:int}/posts/{post_id:int}", Access.OWN_DATA, status_code=204,
     summary="Add a post to a list")
def add_to_list(request: AnyRequest, list_id: int, post_id: int) -> None:
    mine(request).lists.add_post(list_id, post_id)


@DELETE("/api/v1/lists/{list_id:int}/posts/{post_id:int}", Access.OWN_DATA,
        summary="Remove a post from a list")
def remove_from_list(request: AnyRequest, list_id: int, post_id: int) -> None:
    mine(request).lists.remove_post(list_id, post_id)


# -- reading status -------------------------------------------------------------------------


@GET("/api/v1/statuses", Access.READ, summary="My status labels")
def status_labels(request: AnyRequest) -> dict[str, Any]:
    return {"items": mine(request).status.labels()}


@POST("/api/v1/statuses", Access.OWN_DATA, summary="Add a status label of my own")
def define_status(request: AnyRequest, data: LabelIn) -> dict[str, Any]:
    return {"label": mine(request).status.define(data.label)}


@DELETE("/api/v1/statuses/{label:str}", Access.OWN_DATA, summary="Remove a label of mine")
def undefine_status(request: AnyRequest, label: str) -> None:
    mine(request).status.undefine(label)


@GET("/api/v1/posts/{post_id:int}/status", Access.READ, summary="My status of a post")
def get_status(request: AnyRequest, post_id: int) -> dict[str, Any]:
    return {"post_id": post_id, "status": mine(request).status.get(post_id)}


@PUT("/api/v1/posts/{post_id:int}/status", Access.OWN_DATA, status_code=200,
     summary="Set my status of a post")
def set_status(request: AnyRequest, post_id: int, data: StatusIn) -> dict[str, Any]:
    return {"post_id": post_id, "status": mine(request).status.set(post_id, data.status)}


@DELETE("/api/v1/posts/{post_id:int}/status", Access.OWN_DATA,
        summary="Clear my status (back to unread)")
def clear_status(request: AnyRequest, post_id: int) -> None:
    mine(request).status.clear(post_id)


# -- notes --------------------------------------------------------------------------------


@GET("/api/v1/notes", Access.READ, summary="All my notes")
def my_notes(request: AnyRequest) -> dict[str, Any]:
    return {"items": [note.as_json() for note in mine(request).notes.list()]}


@GET("/api/v1/posts/{post_id:int}/note", Access.READ,
     summary="My note on a post (Markdown and its sanitised HTML)")
def get_note(request: AnyRequest, post_id: int) -> dict[str, Any]:
    return mine(request).notes.get(post_id).as_json()


@PUT("/api/v1/posts/{post_id:int}/note", Access.OWN_DATA, status_code=200,
     summary="Write my note on a post")
def set_note(request: AnyRequest, post_id: int, data: NoteIn) -> dict[str, Any]:
    return mine(request).notes.set(post_id, data.markdown).as_json()


@DELETE("/api/v1/posts/{post_id:int}/note", Access.OWN_DATA, summary="Delete my note")
def delete_note(request: AnyRequest, post_id: int) -> None:
    mine(request).notes.delete(post_id)


# -- highlights -----------------------------------------------------------------------------


@GET("/api/v1/highlights", Access.READ, summary="My highlights (of one post)")
def my_highlights(request: AnyRequest, post_id: int | None = None,
                  orphaned: bool | None = None) -> dict[str, Any]:
    found = mine(request).highlights.list(post_id, orphaned=orphaned)
    return {"items": [h.as_json() for h in found]}


@POST("/api/v1/posts/{post_id:int}/highlights", Access.OWN_DATA,
      summary="Highlight a quote in a post's text, a page, or a transcript")
def add_highlight(request: AnyRequest, post_id: int, data: HighlightIn) -> dict[str, Any]:
    extra: dict[str, Any] = {"color": data.color} if data.color else {}
    return mine(request).highlights.add(
        post_id, data.quote, start=data.start, page=data.page, media_id=data.media_id,
        segments=data.segments, comment=data.comment, **extra).as_json()


@GET("/api/v1/highlights/{highlight_id:int}", Access.READ, summary="One of my highlights")
def get_highlight(request: AnyRequest, highlight_id: int) -> dict[str, Any]:
    return mine(request).highlights.get(highlight_id).as_json()


@PATCH("/api/v1/highlights/{highlight_id:int}", Access.OWN_DATA,
       summary="Change a highlight's colour or comment")
def update_highlight(request: AnyRequest, highlight_id: int,
                     data: HighlightPatch) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if data.color is not None:
        values["color"] = data.color
    if data.comment is not None:
        values["comment"] = data.comment
    return mine(request).highlights.update(highlight_id, **values).as_json()


@DELETE("/api/v1/highlights/{highlight_id:int}", Access.OWN_DATA,
        summary="Delete a highlight")
def delete_highlight(request: AnyRequest, highlight_id: int) -> None:
    mine(request).highlights.delete(highlight_id)


@GET("/api/v1/me/export", Access.READ,
     summary="Everything of mine as one JSON file: lists, statuses, notes, highlights")
def export_mine(request: AnyRequest) -> Response[dict[str, Any]]:
    """The document of ``archive.personal(me).export()``, as a download."""
    document = mine(request).export()
    owner = re.sub(r"[^A-Za-z0-9._-]+", "_", actor(request).username) or "me"
    name = f"alejandria-{owner}-{datetime.now(UTC):%Y-%m-%d}.json"
    return Response(document, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                       "Cache-Control": "no-store"})


ROUTES = [my_lists, create_list, get_list, update_list, delete_list, reorder_lists,
          add_to_list, remove_from_list, status_labels, define_status, undefine_status,
          get_status, set_status, clear_status, my_notes, get_note, set_note, delete_note,
          my_highlights, add_highlight, get_highlight, update_highlight, delete_highlight,
          export_mine]

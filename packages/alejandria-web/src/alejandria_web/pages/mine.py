"""My own organisation of the archive: my lists (and the posts of each), my notes, and my
posts by reading status (in progress, completed, and the labels I defined).

Everything here is the signed-in user's private data, read through
``archive.personal(me)``: another user's list id is a 404, as in the API. The pages need the
``own-data`` permission (a readonly account keeps nothing of its own, so has nothing to
show here). Changes are calls to ``/api/v1/lists``, ``/api/v1/statuses`` and
``/api/v1/posts/{id}/…`` from the buttons; the parts they change are served again, on their
own, to an htmx request (``HX-Request``) for the same page.
"""

from __future__ import annotations

from typing import Any

from litestar import Response

from alejandria.accounts.personal.service import Personal
from alejandria.accounts.personal.statuses import BUILTIN_STATUSES, UNREAD
from alejandria.errors import NotFound
from alejandria_web.pages.common import PAGE, AnyRequest, actor, archive, is_htmx
from alejandria_web.pages.names import status_name
from alejandria_web.pages.render import render
from alejandria_web.security.access import Access

#: The most posts a status view lists (core's own ceiling).
STATUS_LIMIT = 500

#: The colour a new list gets (the form's colour input needs one).
DEFAULT_COLOR = "#7a3e0f"


def mine(request: AnyRequest) -> Personal:
    return archive(request).personal(actor(request))


def reorder_moves(ids: list[int]) -> dict[int, dict[str, list[int] | None]]:
    """For each list, the whole new order after moving it one place up or down (None at
    the ends): what the up and down buttons send to ``PUT /api/v1/lists/order``."""
    moves: dict[int, dict[str, list[int] | None]] = {}
    for index, list_id in enumerate(ids):
        up = down = None
        if index > 0:
            up = [*ids[:index - 1], list_id, ids[index - 1], *ids[index + 1:]]
        if index < len(ids) - 1:
            down = [*ids[:index], ids[index + 1], list_id, *ids[index + 2:]]
        moves[list_id] = {"up": up, "down": down}
    return moves


@PAGE("/lists", Access.OWN_DATA)
def my_lists(request: AnyRequest) -> Response[Any]:
    found = mine(request).lists.list()
    template = "mine/_lists.html" if is_htmx(request) else "mine/lists.html"
    return render(request, template, lists=found,
                  moves=reorder_moves([item.id for item in found]),
                  default_color=DEFAULT_COLOR)


@PAGE("/lists/{list_id:int}", Access.OWN_DATA)
def one_list(request: AnyRequest, list_id: int) -> Response[Any]:
    lists = mine(request).lists
    found = lists.get(list_id)  # another user's list: NotFound, a 404 page
    posts = lists.posts_in(list_id)
    template = "mine/_list_posts.html" if is_htmx(request) else "mine/list.html"
    return render(request, template, found=found, posts=posts)


@PAGE("/notes", Access.OWN_DATA)
def my_notes(request: AnyRequest) -> Response[Any]:
    notes = mine(request).notes.list()
    template = "mine/_notes.html" if is_htmx(request) else "mine/notes.html"
    return render(request, template, notes=notes)


def _status_page(request: AnyRequest, status: str) -> Response[Any]:
    statuses = mine(request).status
    labels = [label for label in statuses.labels() if label != UNREAD]
    if status not in labels:
        raise NotFound(f"no status {status!r}")
    posts = statuses.posts(status, limit=STATUS_LIMIT)
    template = "mine/_status_posts.html" if is_htmx(request) else "mine/statuses.html"
    return render(request, template, status=status, posts=posts, labels=labels,
                  custom=status not in BUILTIN_STATUSES, status_name=status_name,
                  limit=STATUS_LIMIT)


@PAGE("/statuses", Access.OWN_DATA)
def statuses(request: AnyRequest) -> Response[Any]:
    """The posts I am reading (the first status view)."""
    return _status_page(request, "in_progress")


@PAGE("/statuses/{label:str}", Access.OWN_DATA)
def status_view(request: AnyRequest, label: str) -> Response[Any]:
    """My posts with one status: ``in_progress``, ``completed`` or a label of mine (another
    user's label is a 404, like one nobody has)."""
    return _status_page(request, label)


ROUTES = [my_lists, one_list, my_notes, statuses, status_view]

"""The home page: the latest posts across sources, what I am in the middle of, my lists."""

from __future__ import annotations

from typing import Any

from litestar import Response

from alejandria_web.pages.common import PAGE, AnyRequest, actor, archive
from alejandria_web.pages.render import can, render
from alejandria_web.security.access import Access
from alejandria_web.security.identity import identify


@PAGE("/", Access.READ)
def home(request: AnyRequest) -> Response[Any]:
    who = actor(request)
    the_archive = archive(request)
    latest = the_archive.library.posts(limit=12, actor=who)
    reading: list[Any] = []
    lists: list[Any] = []
    if can(identify(request), Access.OWN_DATA):
        mine = the_archive.personal(who)
        reading = mine.status.posts("in_progress", limit=6)
        lists = mine.lists.list()
    return render(request, "home.html", latest=latest.items, more=latest.next,
                  reading=reading, lists=lists)


ROUTES = [home]

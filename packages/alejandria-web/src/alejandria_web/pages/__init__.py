"""The web app's pages: server-rendered HTML (Jinja2) with htmx for partial updates.

Each module is one area (``home``, ``browse``, ``post``, ``search``, ``mine``, ``account``,
``admin``) and lists its routes in ``ROUTES``; every route is a ``PAGE`` (a GET that
declares its access). Changes go through the JSON API (see ``common``).
"""

from __future__ import annotations

from typing import Any


def routes() -> list[Any]:
    from importlib import import_module

    found: list[Any] = []
    for name in AREAS:
        found.extend(import_module(f"alejandria_web.pages.{name}").ROUTES)
    return found


#: The page modules, in the order their routes are mounted.
AREAS = ("auth", "home", "browse", "search", "post", "mine", "account", "admin")

"""What a route needs, declared on the route itself (``opt=access(Access.READ)``).

Every route of the app declares one ``Access``; the app refuses to start with a route that
declares none, and ``tests/test_route_matrix.py`` calls every route as every role, anonymous
and every token scope. The levels above ``SIGNED_IN`` are core's permissions, so a route and
the service it calls check the same rule (the service checks again: defence in depth).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from alejandria.accounts.roles import Permission

#: The key of a route's ``opt`` that holds its ``Access``.
ACCESS_KEY = "alejandria_access"


class Access(Enum):
    """Who may call a route."""

    #: Anyone, signed in or not (health, login, the API schema).
    PUBLIC = "public"
    #: Any signed-in user, by session or token of any scope (their own profile).
    SIGNED_IN = "signed-in"
    #: A signed-in user in a browser session, never a token: changing one's password, 2FA
    #: and tokens (a leaked token must not mint tokens or turn 2FA off).
    SESSION = "session"
    READ = "read"
    OWN_DATA = "own-data"
    OPERATE = "operate"
    ADMIN = "admin"

    @property
    def permission(self) -> Permission | None:
        return _PERMISSIONS.get(self)


_PERMISSIONS = {Access.READ: Permission.READ, Access.OWN_DATA: Permission.OWN_DATA,
                Access.OPERATE: Permission.OPERATE, Access.ADMIN: Permission.ADMIN}


def access(level: Access, **opt: Any) -> dict[str, Any]:
    """A route's ``opt`` declaring ``level``: ``@get("/x", opt=access(Access.READ))``."""
    return {ACCESS_KEY: level, **opt}


def access_of(opt: dict[str, Any]) -> Access | None:
    found = opt.get(ACCESS_KEY)
    return found if isinstance(found, Access) else None

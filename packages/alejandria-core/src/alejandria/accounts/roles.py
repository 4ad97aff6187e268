"""Roles and what each may do (the table of issue #17), checked for an acting user.

``None`` as the actor is the installation itself (the CLI on the machine that holds the data
dir, the daily sync, a script): it may do everything.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import Enum
from typing import Any, Literal, ParamSpec, TypeVar, get_args

from alejandria.accounts.errors import PermissionDenied
from alejandria.models import Actor

Role = Literal["admin", "user", "readonly"]
ROLES: tuple[Role, ...] = get_args(Role)

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)


class Permission(Enum):
    """What an action needs."""

    READ = "read posts, media, transcripts, search"
    OWN_DATA = "change one's own lists, status, notes and highlights"
    OPERATE = "sync, process, retry jobs, manage credentials and sources"
    ADMIN = "manage users, roles, others' tokens and read the audit log"


_ALLOWED: dict[Role, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "user": frozenset({Permission.READ, Permission.OWN_DATA}),
    "readonly": frozenset({Permission.READ}),
}

#: The highest token scope each role may hold: a token never does more than its owner.
SCOPE_CEILING: dict[Role, Scope] = {"admin": "admin", "user": "write", "readonly": "read"}


def allows(role: Role, permission: Permission) -> bool:
    return permission in _ALLOWED[role]


def require(actor: Actor | None, permission: Permission) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` (None: the installation) may do this."""
    if actor is not None and not allows(actor.role, permission):
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not "
                               f"{permission.value}")


_P = ParamSpec("_P")
_R = TypeVar("_R")


def requires(permission: Permission) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorate a method that takes a keyword-only ``actor``: it raises ``PermissionDenied``
    before doing anything unless that actor may ``permission``. The permission is kept on the
    method (``permission_of``), so a meta-test can find a method that declares none."""

    def decorate(function: Callable[_P, _R]) -> Callable[_P, _R]:
        parameter = inspect.signature(function).parameters.get("actor")
        if parameter is None or parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"{function.__qualname__} needs a keyword-only 'actor' parameter "
                            "to be checked")

        @functools.wraps(function)
        def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            require(kwargs.get("actor"), permission)  # type: ignore[arg-type]
            return function(*args, **kwargs)

        checked.__alejandria_permission__ = permission  # type: ignore[attr-defined]
        return checked

    return decorate


def declares(permission: Permission) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Mark a method whose body checks ``permission`` itself (its actor travels inside an
    argument, e.g. ``SearchQuery.actor``), so ``permission_of`` finds it like ``requires``."""

    def decorate(function: Callable[_P, _R]) -> Callable[_P, _R]:
        function.__alejandria_permission__ = permission  # type: ignore[attr-defined]
        return function

    return decorate


def permission_of(function: Any) -> Permission | None:
    """The permission ``requires`` declared on ``function``, or None."""
    found = getattr(function, "__alejandria_permission__", None)
    return found if isinstance(found, Permission) else None


def require_self_or_admin(actor: Actor | None, user_id: int) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` is this user, an admin or the installation."""
    if actor is not None and actor.user_id != user_id:
        require(actor, Permission.ADMIN)


def scope_rank(scope: Scope) -> int:
    return SCOPES.index(scope)


def capped_scope(scope: Scope, role: Role) -> Scope:
    """``scope``, lowered to what ``role`` may hold."""
    ceiling = SCOPE_CEILING[role]
    return scope if scope_rank(scope) <= scope_rank(ceiling) else ceiling

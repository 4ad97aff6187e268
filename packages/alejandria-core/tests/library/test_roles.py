"""Every public method of ``Library`` declares its permission, and each role gets what the
role table says: the catalogue is ``READ`` (every role), the jobs ``OPERATE`` (admins)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from alejandria.accounts.errors import PermissionDenied
from alejandria.accounts.roles import Permission, allows, permission_of
from alejandria.errors import AlejandriaError
from alejandria.library.service import Library

from .conftest import ADMIN, READONLY, USER

OPERATE = {"jobs", "job", "job_counts"}

#: One cheap call per method.
CALLS: dict[str, Callable[[Library, Any], Any]] = {
    "posts": lambda lib, actor: lib.posts(limit=1, actor=actor),
    "post": lambda lib, actor: lib.post(987654, actor=actor),
    "post_view": lambda lib, actor: lib.post_view(987654, actor=actor),
    "post_version": lambda lib, actor: lib.post_version(987654, 1, actor=actor),
    "pages": lambda lib, actor: lib.pages(987654, actor=actor),
    "creators": lambda lib, actor: lib.creators(actor=actor),
    "creator": lambda lib, actor: lib.creator(987654, actor=actor),
    "collections": lambda lib, actor: lib.collections(actor=actor),
    "choices": lambda lib, actor: lib.choices(actor=actor),
    "collection": lambda lib, actor: lib.collection(987654, actor=actor),
    "media": lambda lib, actor: lib.media(987654, actor=actor),
    "media_file": lambda lib, actor: lib.media_file(987654, actor=actor),
    "thumbnail": lambda lib, actor: lib.thumbnail(987654, 150, actor=actor),
    "jobs": lambda lib, actor: lib.jobs(actor=actor),
    "job": lambda lib, actor: lib.job(987654, actor=actor),
    "job_counts": lambda lib, actor: lib.job_counts(actor=actor),
}


def public_methods() -> list[str]:
    return sorted(name for name in dir(Library)
                  if not name.startswith("_") and callable(getattr(Library, name)))


def test_every_method_is_called_below_and_declares_its_permission():
    assert public_methods() == sorted(CALLS)
    declared = {name: permission_of(getattr(Library, name)) for name in public_methods()}
    assert {name for name, p in declared.items() if p is Permission.OPERATE} == OPERATE
    assert all(p is Permission.READ for name, p in declared.items() if name not in OPERATE)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_each_method_as_each_role(archive, name):
    permission = permission_of(getattr(Library, name))
    assert permission is not None
    for who in (READONLY, USER, ADMIN, None):
        if who is not None and not allows(who.role, permission):
            with pytest.raises(PermissionDenied):
                CALLS[name](archive.library, who)
            continue
        try:
            CALLS[name](archive.library, who)
        except PermissionDenied as exc:  # pragma: no cover - the failure tested for
            pytest.fail(f"{who} may {permission.value}, yet {name} refused: {exc}")
        except AlejandriaError:
            pass  # no such id: refused for that reason, after the check


def test_the_archive_builds_one_library(archive):
    assert archive.library is archive.library
    assert archive.library.data_dir == archive.settings.data_dir

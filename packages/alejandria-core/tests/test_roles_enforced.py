"""The role table of issue #17, enforced on every action of ``Archive``, and the audit rows of
the actions it names (credential changes, sync and retry triggers, deletions).

Every public name of ``Archive`` either declares the permission it needs (``requires``) or is
listed in ``api.NOT_ACTIONS``; every declared action has a cheap call in ``CALLS`` below, which
runs as each role: a role without the permission gets ``PermissionDenied`` and no row or file
changes; one with it (or the installation, ``actor=None``) passes the check.
"""
# ruff: noqa: F811 (the fixtures imported from accounts_helpers are parameters here)

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from alejandria import hookimpl
from alejandria.accounts.errors import PermissionDenied
from alejandria.accounts.roles import Permission, allows, permission_of, requires
from alejandria.api import NOT_ACTIONS, Archive
from alejandria.errors import AlejandriaError, ItemRejected
from alejandria.models import Actor, SearchQuery
from alejandria.plugin_types import JobTypeSpec
from alejandria.testing.reads import table_counts

from .accounts_helpers import (  # noqa: F401 (fixtures)
    audit_rows,
    clock,
    row_json,
    services,
)

SECRET = "s3cr3t-session-cookie-value"
ROLES = ("readonly", "user", "admin", None)


def _recorded_job(archive: Archive, actor: Actor | None) -> None:
    with archive.recorded_job("noop", {}, actor=actor):
        pass


#: One cheap call per action: enough to pass (or fail) the role check and stop soon after.
CALLS: dict[str, Callable[[Archive, Actor | None], Any]] = {
    "backup": lambda a, actor: a.backup(prune=False, actor=actor),
    "verify_backup": lambda a, actor: a.verify_backup(Path("/nonexistent-backup"),
                                                      actor=actor),
    "restore": lambda a, actor: a.restore(Path("/nonexistent-backup"), actor=actor),
    "export": lambda a, actor: a.export(Path(tempfile.mkdtemp()) / "export", actor=actor),
    "import_files": lambda a, actor: a.import_files("gallery-dl", tempfile.mkdtemp(),
                                                    dry_run=True, actor=actor),
    "migrate_media": lambda a, actor: a.migrate_media(tempfile.mkdtemp(), actor=actor),
    "cancel_job": lambda a, actor: a.cancel_job(987654, actor=actor),
    "capabilities": lambda a, actor: a.capabilities(actor=actor),
    "collect_garbage": lambda a, actor: a.collect_garbage(dry_run=True, actor=actor),
    "content_changed": lambda a, actor: a.content_changed(actor=actor),
    "credentials": lambda a, actor: a.credentials(actor=actor),
    "dedup_media": lambda a, actor: a.dedup_media(dry_run=True, actor=actor),
    "delete_credentials": lambda a, actor: a.delete_credentials("files", actor=actor),
    "download_embeds": lambda a, actor: a.download_embeds(actor=actor),
    "embed_backfill": lambda a, actor: a.embed_backfill(actor=actor),
    "embed_status": lambda a, actor: a.embed_status(actor=actor),
    "process_media": lambda a, actor: a.process_media(actor=actor),
    "recorded_job": _recorded_job,
    "retry_failed_jobs": lambda a, actor: a.retry_failed_jobs(actor=actor),
    "retry_job": lambda a, actor: a.retry_job(987654, actor=actor),
    "run_search": lambda a, actor: a.run_search(SearchQuery(text="carta", actor=actor)),
    "sources_overview": lambda a, actor: a.sources_overview(actor=actor),
    "search": lambda a, actor: a.search("carta", actor=actor),
    "set_credentials": lambda a, actor: a.set_credentials("files", {"cookie": SECRET},
                                                          actor=actor),
    "source": lambda a, actor: a.source("files", actor=actor),
    "stats": lambda a, actor: a.stats(actor=actor),
    "submit": lambda a, actor: a.submit("noop", actor=actor),
    "submit_many": lambda a, actor: a.submit_many("noop", [{}], actor=actor),
    "subscriptions": lambda a, actor: a.subscriptions(actor=actor),
    "sync": lambda a, actor: a.sync("files", actor=actor),
    "transcript": lambda a, actor: a.transcript(987654, actor=actor),
    "verify_media": lambda a, actor: a.verify_media(actor=actor),
}


def _public_names() -> list[str]:
    return sorted(name for name in dir(Archive) if not name.startswith("_"))


def _declared() -> dict[str, Permission]:
    found = {name: permission_of(getattr(Archive, name)) for name in _public_names()}
    return {name: permission for name, permission in found.items() if permission is not None}


@pytest.fixture
def actors(services) -> dict[str | None, Actor | None]:
    """A real user of each role (audit rows point at users), and None: the installation."""
    made: dict[str | None, Actor | None] = {None: None}
    for role in ("readonly", "user", "admin"):
        made[role] = services.accounts.create(f"as-{role}", "correct horse battery",
                                              role=role).actor
    return made


def snapshot(archive: Archive) -> tuple[dict[str, int], list[str]]:
    """Rows in every table, and every file under the data dir."""
    tables = inspect(archive.engine).get_table_names()
    data_dir = archive.settings.data_dir
    files = sorted(str(path.relative_to(data_dir)) for path in data_dir.rglob("*"))
    return table_counts(archive, *tables), files


# -- the declared table ---------------------------------------------------------------------


def test_every_public_name_of_archive_declares_a_permission_or_is_not_an_action():
    undeclared = [name for name in _public_names()
                  if permission_of(getattr(Archive, name)) is None and name not in NOT_ACTIONS]
    both = [name for name in _declared() if name in NOT_ACTIONS]
    assert undeclared == [], ("each Archive method needs @requires(Permission...) (or an entry "
                              f"in api.NOT_ACTIONS saying why not): {undeclared}")
    assert both == []


def test_every_public_method_of_the_library_declares_a_permission():
    """``archive.library`` is in NOT_ACTIONS because each of its methods checks its actor:
    each must declare what it needs (its role matrix is in tests/library/test_roles.py)."""
    from alejandria.library.service import Library

    methods = [name for name in dir(Library)
               if not name.startswith("_") and callable(getattr(Library, name))]
    undeclared = [name for name in methods if permission_of(getattr(Library, name)) is None]
    assert methods and undeclared == [], ("each Library method needs @requires(Permission...): "
                                          f"{undeclared}")
    assert "library" in NOT_ACTIONS


def test_every_declared_action_is_called_by_the_role_matrix():
    assert sorted(_declared()) == sorted(CALLS), "add a cheap call to CALLS for the new action"


def test_the_table_matches_the_issue():
    declared = _declared()
    reading = {"search", "run_search", "transcript", "stats", "capabilities", "embed_status"}
    assert {name for name, p in declared.items() if p is Permission.READ} == reading
    assert all(p is Permission.OPERATE for name, p in declared.items() if name not in reading)


def test_requires_refuses_a_method_whose_actor_could_be_passed_positionally():
    with pytest.raises(TypeError, match="keyword-only 'actor'"):
        @requires(Permission.OPERATE)
        def action(self: object, actor: Actor | None = None) -> None:
            return None


# -- the matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CALLS))
def test_each_action_as_each_role(archive, actors, name):
    """One archive per action (a fresh database costs most of a test): the roles that may
    not act go first and must leave every row and file as it was; then those that may."""
    permission = _declared()[name]
    refused = [role for role in ROLES if role is not None and not allows(role, permission)]
    for role in refused:
        before = snapshot(archive)
        with pytest.raises(PermissionDenied):
            CALLS[name](archive, actors[role])
        assert snapshot(archive) == before, f"{name} as {role} changed something"
    for role in [role for role in ROLES if role not in refused]:
        try:
            CALLS[name](archive, actors[role])
        except PermissionDenied as exc:  # pragma: no cover - the failure being tested for
            pytest.fail(f"{role or 'the installation'} may {permission.value}, yet {name} "
                        f"refused: {exc}")
        except AlejandriaError:
            pass  # the cheap arguments may be refused for another reason (no job 987654)


def test_a_sync_as_a_user_is_refused_before_the_source_is_built(archive, actors, tmp_path):
    (tmp_path / "book.txt").write_text("carta natal")
    with pytest.raises(PermissionDenied, match="as-user"):
        archive.sync("files", tmp_path, actor=actors["user"])
    assert archive.stats()["posts"] == 0
    from alejandria.sync.service import build_source, run_sync

    with pytest.raises(PermissionDenied):  # the service checks too, not only the facade
        run_sync(archive.context, "files", [tmp_path], actor=actors["readonly"])
    with pytest.raises(PermissionDenied):
        build_source(archive.context, "files", actor=actors["user"])


# -- audit rows -----------------------------------------------------------------------------


def _new_rows(archive: Archive, before: int) -> list[dict[str, Any]]:
    return audit_rows(archive)[before:]


def test_setting_credentials_leaves_one_row_without_the_secret(archive, actors):
    admin = actors["admin"]
    before = len(audit_rows(archive))

    archive.set_credentials("files", {"cookie": SECRET}, actor=admin, client="10.1.2.3")

    [row] = _new_rows(archive, before)
    assert (row["action"], row["user_id"], str(row["ip_address"])) == (
        "credentials.set", admin.user_id, "10.1.2.3")
    assert row["changes"] == {"source": "files", "account": "default", "fields": ["cookie"]}
    assert SECRET not in row_json(row)


def test_deleting_credentials_leaves_one_row_and_none_when_there_were_none(archive, actors):
    archive.set_credentials("files", {"cookie": SECRET}, account="work")
    before = len(audit_rows(archive))

    assert archive.delete_credentials("files", account="work", client="cli")
    assert not archive.delete_credentials("files", account="work", client="cli")

    [row] = _new_rows(archive, before)
    assert (row["action"], row["user_id"], row["entity_id"]) == (
        "credentials.delete", None, "files/work")
    assert row["changes"] == {"source": "files", "account": "work", "client": "cli"}
    assert SECRET not in row_json(row)


def test_the_cli_audits_credential_changes_as_the_installation(archive, alejandria_cli):
    archive.set_credentials("files", {"cookie": SECRET}, client="cli")
    before = len(audit_rows(archive))

    result = alejandria_cli("credentials", "delete", "files")

    assert result.returncode == 0, result.stderr
    [row] = _new_rows(archive, before)
    assert (row["action"], row["user_id"], row["changes"]["client"]) == (
        "credentials.delete", None, "cli")


def test_a_sync_leaves_one_row_naming_who_what_and_where(archive, actors, tmp_path):
    (tmp_path / "book.txt").write_text("carta natal")
    before = len(audit_rows(archive))

    archive.sync("files", tmp_path, actor=actors["admin"], client="192.0.2.7")

    [row] = _new_rows(archive, before)
    assert (row["action"], row["user_id"], row["entity_id"], str(row["ip_address"])) == (
        "sync", actors["admin"].user_id, "files", "192.0.2.7")
    assert row["changes"] == {"source": "files", "targets": [os.fspath(tmp_path)]}


def test_a_queued_sync_is_audited_once_when_queued_not_again_when_it_runs(archive, tmp_path):
    (tmp_path / "book.txt").write_text("carta natal")
    before = len(audit_rows(archive))

    job_id = archive.submit("sync", {"source": "files", "targets": [str(tmp_path)],
                                     "options": {"cookie": SECRET}}, client="cli")

    assert archive.jobs.get(job_id).status == "completed"  # no broker: it ran inline
    [row] = _new_rows(archive, before)
    assert (row["action"], row["user_id"], row["entity_id"]) == (
        "job.submit.sync", None, str(job_id))
    assert row["changes"]["syncs"] == [{"source": "files", "targets": [str(tmp_path)]}]
    assert SECRET not in row_json(row)  # a job's options are not copied into the log


def test_a_retry_leaves_one_row_with_the_job(archive, actors, register_plugin):
    calls: list[int] = []

    def failing(_context: Any, **_kwargs: Any) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise ItemRejected("x", "bad input")
        return {}

    class FailingJob:
        @hookimpl
        def register_job_types(self) -> list[JobTypeSpec]:
            return [JobTypeSpec(name="fails-once", function=failing, queue="sources")]

    register_plugin(FailingJob(), name="fails-once")
    job_id = archive.submit("fails-once")
    assert archive.jobs.get(job_id).status == "failed"
    before = len(audit_rows(archive))

    archive.retry_job(job_id, actor=actors["admin"])

    assert archive.jobs.get(job_id).status == "completed"
    [row] = _new_rows(archive, before)
    assert (row["action"], row["user_id"], row["entity_id"], row["changes"]) == (
        "job.retry", actors["admin"].user_id, str(job_id), {"job_type": "fails-once"})


def test_retrying_every_failed_job_runs_each_again_with_a_row_each(archive, actors,
                                                                   register_plugin):
    failures = {"first": 1, "second": 1, "never": 99}

    def failing(_context: Any, *, name: str, **_kwargs: Any) -> dict[str, Any]:
        if failures[name] > 0:
            failures[name] -= 1
            raise ItemRejected(name, "bad input")
        return {"name": name}

    class FailingJob:
        @hookimpl
        def register_job_types(self) -> list[JobTypeSpec]:
            return [JobTypeSpec(name="fails", function=failing, queue="sources")]

    register_plugin(FailingJob(), name="fails")
    first, second, never = (archive.submit("fails", {"name": name})
                            for name in ("first", "second", "never"))
    done = archive.submit("noop")
    before = len(audit_rows(archive))

    retried = archive.retry_failed_jobs(actor=actors["admin"], client="10.1.2.3")

    assert retried == [first, second, never]  # oldest first, no broker: each ran here
    assert [archive.jobs.get(job).status for job in (first, second, never, done)] == [
        "completed", "completed", "failed", "completed"]
    rows = _new_rows(archive, before)
    assert [(row["action"], row["entity_id"]) for row in rows] == [
        ("job.retry", str(first)), ("job.retry", str(second)), ("job.retry", str(never))]
    assert archive.retry_failed_jobs(job_type="noop", actor=actors["admin"]) == []
    assert archive.retry_failed_jobs(job_type="fails", actor=actors["admin"]) == [never]


def test_garbage_collection_leaves_one_row_and_a_dry_run_none(archive, actors):
    orphan = archive.media.root / "ab" / "cd" / ("abcd" + "0" * 60)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left by a crashed sync")
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    before = len(audit_rows(archive))

    archive.collect_garbage(grace=timedelta(minutes=1), dry_run=True, actor=actors["admin"])
    assert _new_rows(archive, before) == []
    report = archive.collect_garbage(grace=timedelta(minutes=1), actor=actors["admin"])

    assert report.orphan_files_removed == [orphan.name] and not orphan.exists()
    [row] = _new_rows(archive, before)
    assert (row["action"], row["user_id"]) == ("media.gc", actors["admin"].user_id)
    assert row["changes"]["orphan_files_removed"] == 1
    assert row["changes"]["bytes_freed"] == len(b"left by a crashed sync")


def test_work_the_archive_does_on_its_own_is_not_audited(archive, tmp_path):
    """A sync job run by a worker, the daily sync and the cleanup are not someone's trigger."""
    (tmp_path / "book.txt").write_text("carta natal")
    archive.sync("files", tmp_path, remember=True)
    before = len(audit_rows(archive))
    from alejandria.media.gc import collect_garbage
    from alejandria.sync import jobs

    jobs.sync(archive.context, source="files", targets=[str(tmp_path)])
    jobs.daily_sync(archive.context)
    collect_garbage(archive.engine, archive.media, archive.settings)

    assert _new_rows(archive, before) == []

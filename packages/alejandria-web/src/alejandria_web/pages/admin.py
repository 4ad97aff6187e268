"""The admin pages: an overview, sources and their credentials, the job queue, users, the
audit log and the system's health.

The access of each page is the access of the API its buttons call (``api/admin.py``):
sources, jobs and the system need ``operate``; users and the audit log need ``admin``.
Pages only read: setting a credential, "sync now", retrying or cancelling a job and every
change to a user is a call to that API from the browser.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Response

from alejandria.library.jobs import JOB_STATUSES
from alejandria_web.pages.common import PAGE, AnyRequest, actor, archive, is_htmx
from alejandria_web.pages.i18n import gettext as _
from alejandria_web.pages.i18n import ngettext
from alejandria_web.pages.render import can, render
from alejandria_web.security.access import Access
from alejandria_web.security.identity import identify

#: Jobs on one page of the jobs table.
JOBS_PER_PAGE = 50
#: Audit entries on one page of the audit log.
AUDIT_PER_PAGE = 50
#: Stored credentials older than this get a warning: most sites end a session within weeks.
CREDENTIALS_STALE_AFTER = timedelta(days=30)
#: How often the jobs table refreshes itself (``hx-trigger="every …"``).
JOBS_POLL = "3s"
#: Statuses whose jobs can be retried, and cancelled.
RETRYABLE = ("failed", "cancelled")
CANCELLABLE = ("pending", "retrying", "running")


def status_label(status: str) -> str:
    """A job's, a check's or the health report's status, in words of the page's language."""
    labels = {"pending": _("Pending"), "running": _("Running"), "retrying": _("Retrying"),
              "completed": _("Completed"), "failed": _("Failed"), "cancelled": _("Cancelled"),
              "ok": _("OK"), "warn": _("Degraded"), "fail": _("Failing"),
              "degraded": _("Degraded"), "down": _("Down")}
    return labels.get(status, status)


def state_class(status: str) -> str:
    """The colour class of a status: ``ok``, ``warn``, ``fail``, ``busy`` or ``idle``."""
    return {"completed": "ok", "ok": "ok", "failed": "fail", "fail": "fail", "down": "fail",
            "warn": "warn", "degraded": "warn", "retrying": "warn", "running": "busy",
            }.get(status, "idle")


def admin_render(request: AnyRequest, template: str, **context: Any) -> Response[Any]:
    return render(request, template, status_label=status_label, state_class=state_class,
                  **context)


def job_totals(counts: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """Jobs of each status, every queue together (``counts``: ``library.job_counts``)."""
    return {status: sum(queue.get(status, 0) for queue in counts.values())
            for status in JOB_STATUSES}


# -- overview -------------------------------------------------------------------------------


@PAGE("/admin", Access.OPERATE)
def admin_home(request: AnyRequest) -> Response[Any]:
    the_archive, who = archive(request), actor(request)
    totals = job_totals(the_archive.library.job_counts(actor=who))
    sources = [with_warnings(source, the_archive)
               for source in the_archive.sources_overview(actor=who)]
    users = the_archive.accounts.list(actor=who) if can(identify(request), Access.ADMIN) \
        else None
    return admin_render(request, "admin/index.html", section="overview",
                        health=the_archive.health(), totals=totals, sources=sources,
                        users=users)


# -- sources --------------------------------------------------------------------------------


def with_warnings(source: dict[str, Any], the_archive: Any,
                  now: datetime | None = None) -> dict[str, Any]:
    """``source`` (an entry of ``sources_overview``) with ``warnings`` (what an admin should
    act on: missing or old credentials, sync errors) and ``field_help`` (each credential
    field's description, from the source's credentials model)."""
    now = now or datetime.now(UTC)
    warnings: list[str] = []
    capabilities = source["capabilities"]
    if capabilities["needs_credentials"] and not source["credentials"]:
        warnings.append(_("No credentials are stored: syncs of this source will fail until "
                          "you set them."))
    for stored in source["credentials"]:
        updated = datetime.fromisoformat(stored["updated_at"])
        if capabilities["needs_credentials"] and now - updated > CREDENTIALS_STALE_AFTER:
            warnings.append(_("The credentials of “%(account)s” were set %(days)d days ago "
                              "and may have expired: replace them if syncs fail.")
                            % {"account": stored["account"], "days": (now - updated).days})
    if source["errors"]:
        count = len(source["errors"])
        warnings.append(ngettext("%(num)d target failed in its last sync; see the errors.",
                                 "%(num)d targets failed in their last sync; see the errors.",
                                 count) % {"num": count})
    help_texts: dict[str, str] = {}
    spec = the_archive.plugins.sources().get(source["name"])
    model = getattr(spec, "credentials_model", None)
    if model is not None:
        help_texts = {name: field.description or "" for name, field in
                      model.model_fields.items()}
    return {**source, "warnings": warnings, "field_help": help_texts}


@PAGE("/admin/sources", Access.OPERATE)
def admin_sources(request: AnyRequest) -> Response[Any]:
    the_archive = archive(request)
    sources = [with_warnings(source, the_archive)
               for source in the_archive.sources_overview(actor=actor(request))]
    return admin_render(request, "admin/sources.html", section="sources", sources=sources,
                        disabled=the_archive.settings.disabled_plugins,
                        broken=the_archive.plugins.broken())


@PAGE("/admin/sources/{name:str}", Access.OPERATE)
def admin_source(request: AnyRequest, name: str) -> Response[Any]:
    """One source's card (what ``data-refresh`` re-fetches after a change), or its page."""
    from alejandria.errors import NotFound

    the_archive = archive(request)
    found = [source for source in the_archive.sources_overview(actor=actor(request))
             if source["name"] == name]
    if not found:
        raise NotFound(f"no source called {name}")
    source = with_warnings(found[0], the_archive)
    if is_htmx(request):
        return admin_render(request, "admin/_source.html", source=source)
    return admin_render(request, "admin/sources.html", section="sources", sources=[source],
                        disabled=[], broken={}, single=True)


# -- jobs -----------------------------------------------------------------------------------


def jobs_url(**params: Any) -> str:
    """``/admin/jobs`` with the given filters (empty ones left out)."""
    query = urlencode({key: value for key, value in params.items() if value})
    return "/admin/jobs" + (f"?{query}" if query else "")


@PAGE("/admin/jobs", Access.OPERATE)
def admin_jobs(request: AnyRequest, status: str | None = None, job_type: str | None = None,
               cursor: str | None = None) -> Response[Any]:
    the_archive, who = archive(request), actor(request)
    status = status if status in JOB_STATUSES else None
    job_type = job_type or None
    library = the_archive.library
    page = library.jobs(status=status, job_type=job_type, cursor=cursor, limit=JOBS_PER_PAGE,
                        actor=who)
    counts = library.job_counts(actor=who)
    totals = job_totals(counts)
    context = {
        "jobs": page.items, "counts": counts, "totals": totals, "statuses": JOB_STATUSES,
        "status": status, "job_type": job_type, "cursor": cursor,
        "self_url": jobs_url(status=status, job_type=job_type, cursor=cursor),
        "next_url": jobs_url(status=status, job_type=job_type, cursor=page.next)
        if page.next else None,
        "jobs_url": jobs_url, "poll": JOBS_POLL, "retryable": RETRYABLE,
        "cancellable": CANCELLABLE,
    }
    if is_htmx(request):
        return admin_render(request, "admin/_jobs.html", **context)
    types = sorted(the_archive.plugins.job_types())
    return admin_render(request, "admin/jobs.html", section="jobs", job_types=types,
                        **context)


@PAGE("/admin/jobs/{job_id:int}", Access.OPERATE)
def admin_job(request: AnyRequest, job_id: int) -> Response[Any]:
    job = archive(request).library.job(job_id, actor=actor(request))
    return admin_render(request, "admin/job.html", section="jobs", job=job,
                        retryable=RETRYABLE, cancellable=CANCELLABLE)


# -- users ----------------------------------------------------------------------------------


@PAGE("/admin/users", Access.ADMIN)
def admin_users(request: AnyRequest) -> Response[Any]:
    from alejandria.accounts.roles import ROLES

    users = archive(request).accounts.list(actor=actor(request))
    template = "admin/_users.html" if is_htmx(request) else "admin/users.html"
    return admin_render(request, template, section="users", users=users, roles=ROLES)


# -- audit log ------------------------------------------------------------------------------


@PAGE("/admin/audit", Access.ADMIN)
def admin_audit(request: AnyRequest, user: str | None = None, action: str | None = None,
                before: int | None = None) -> Response[Any]:
    """``user``: a user's id (the filter form sends it empty for everyone)."""
    the_archive, who = archive(request), actor(request)
    action = (action or "").strip() or None
    user_id = int(user) if user and user.isdigit() else None
    entries = the_archive.audit.entries(user_id=user_id, action=action, before=before,
                                        limit=AUDIT_PER_PAGE + 1, actor=who)
    more = len(entries) > AUDIT_PER_PAGE
    entries = entries[:AUDIT_PER_PAGE]
    users = the_archive.accounts.list(actor=who)
    names = {user.id: user.username for user in users}
    filters = {"user": user_id, "action": action}
    next_url = None
    if more:
        next_url = "/admin/audit?" + urlencode(
            {key: value for key, value in {**filters, "before": entries[-1].id}.items()
             if value is not None})
    return admin_render(request, "admin/audit.html", section="audit", entries=entries,
                        users=users, names=names, user_id=user_id, action=action,
                        before=before, next_url=next_url, describe_changes=describe_changes,
                        newest_url="/admin/audit?" + urlencode(
                            {key: value for key, value in filters.items()
                             if value is not None}))


def describe_changes(changes: Mapping[str, Any]) -> str:
    """An audit entry's ``changes`` on one line: ``role: user → admin, fields: session_id``."""
    parts = []
    for key, value in changes.items():
        if value is None:
            continue
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value)
        elif isinstance(value, dict) and set(value) == {"from", "to"}:
            value = f"{value['from']} → {value['to']}"
        parts.append(f"{key}: {value}")
    return "; ".join(parts)


# -- system ---------------------------------------------------------------------------------


def versions(the_archive: Any, who: Any) -> list[tuple[str, str]]:
    """What runs here, with versions: Alejandria's packages, Python, PostgreSQL, pgvector."""
    from importlib import metadata

    found = []
    for package in ("alejandria-core", "alejandria-web"):
        try:
            found.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            found.append((package, "?"))
    found.append(("Python", platform.python_version()))
    capabilities = the_archive.capabilities(actor=who)
    found.append(("PostgreSQL", capabilities.server_version))
    found.append(("pgvector", capabilities.vector_version or _("not installed")))
    return found


@PAGE("/admin/system", Access.OPERATE)
def admin_system(request: AnyRequest) -> Response[Any]:
    the_archive = archive(request)
    plugins = sorted(the_archive.plugins.plugins(), key=lambda info: (not info.builtin,
                                                                     info.name))
    job_types = sorted(the_archive.plugins.job_types().values(), key=lambda spec: spec.name)
    return admin_render(request, "admin/system.html", section="system",
                        health=the_archive.health(), versions=versions(the_archive, actor(request)),
                        plugins=plugins, broken=the_archive.plugins.broken(),
                        job_types=job_types,
                        broker=the_archive.settings.broker_url is not None)


ROUTES = [admin_home, admin_sources, admin_source, admin_jobs, admin_job, admin_users,
          admin_audit, admin_system]

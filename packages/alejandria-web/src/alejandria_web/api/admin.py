"""Running the archive: jobs and sources (``operate``: admins), users and the audit log
(``admin``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
from litestar.params import Parameter

from alejandria.errors import NotFound
from alejandria_web.api.common import DELETE, GET, PATCH, POST, PUT, AnyRequest, actor, archive
from alejandria_web.api.common import client as client_of
from alejandria_web.security.access import Access
from alejandria_web.security.identity import sessions_of

JobStatus = Literal["pending", "running", "retrying", "completed", "failed", "cancelled"]


class SyncIn(msgspec.Struct, forbid_unknown_fields=True):
    #: What to sync; empty: every target of this source synced before.
    targets: list[str] = msgspec.field(default_factory=list)


class JobIn(msgspec.Struct, forbid_unknown_fields=True):
    #: A registered job type (``GET /api/v1/job-types``): sync, process_media, embed, …
    job_type: str
    kwargs: dict[str, Any] = msgspec.field(default_factory=dict)
    priority: int = 5


class RetryFailedIn(msgspec.Struct, forbid_unknown_fields=True):
    #: Only the failed jobs of this type; none: every failed job.
    job_type: str | None = None


class CredentialsIn(msgspec.Struct, forbid_unknown_fields=True):
    secrets: dict[str, str]
    account: str = "default"


class UserIn(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str
    role: Literal["admin", "user", "readonly"] = "user"
    email: str | None = None


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["admin", "user", "readonly"] | None = None
    active: bool | None = None
    password: str | None = None


# -- jobs -----------------------------------------------------------------------------------


@GET("/api/v1/jobs", Access.OPERATE, summary="Jobs, newest first, with per-queue counts")
def list_jobs(request: AnyRequest, status: JobStatus | None = None,
              job_type: str | None = None, cursor: str | None = None,
              limit: int = Parameter(ge=1, le=200, default=50)) -> dict[str, Any]:
    library = archive(request).library
    who = actor(request)
    page = library.jobs(status=status, job_type=job_type, cursor=cursor, limit=limit,
                        actor=who).as_json()
    return {**page, "counts": library.job_counts(actor=who)}


@GET("/api/v1/jobs/{job_id:int}", Access.OPERATE, summary="A job: progress, error, traceback")
def get_job(request: AnyRequest, job_id: int) -> dict[str, Any]:
    return archive(request).library.job(job_id, actor=actor(request)).as_json()


@POST("/api/v1/jobs", Access.OPERATE, status_code=202,
      summary="Queue a job (process media, download embeds, embed, cleanup, sync …)")
def submit_job(request: AnyRequest, data: JobIn) -> dict[str, Any]:
    the_archive = archive(request)
    the_archive.plugins.job_type(data.job_type)  # an unknown type: 404
    job_id = the_archive.submit(data.job_type, dict(data.kwargs), priority=data.priority,
                                actor=actor(request), client=client_of(request))
    return {"job_id": job_id}


@GET("/api/v1/job-types", Access.OPERATE, summary="The kinds of job the queue runs")
def job_types(request: AnyRequest) -> dict[str, Any]:
    specs = archive(request).plugins.job_types()
    return {"items": [{"name": spec.name, "queue": spec.queue,
                       "description": spec.description} for spec in specs.values()]}


@GET("/api/v1/subscriptions", Access.OPERATE,
     summary="What the daily sync refreshes: every source and targets synced before")
def subscriptions(request: AnyRequest) -> dict[str, Any]:
    return {"items": archive(request).subscriptions(actor=actor(request))}


@POST("/api/v1/jobs/{job_id:int}/retry", Access.OPERATE, status_code=202,
      summary="Run a failed or cancelled job again")
def retry_job(request: AnyRequest, job_id: int) -> dict[str, Any]:
    archive(request).retry_job(job_id, actor=actor(request), client=client_of(request))
    return {"job_id": job_id, "retried": True}


@POST("/api/v1/jobs/retry-failed", Access.OPERATE, status_code=202,
      summary="Run every failed job (of one type) again")
def retry_failed_jobs(request: AnyRequest, data: RetryFailedIn | None = None) -> dict[str, Any]:
    retried = archive(request).retry_failed_jobs(
        job_type=(data.job_type if data is not None else None), actor=actor(request),
        client=client_of(request))
    return {"job_ids": retried, "retried": len(retried)}


@POST("/api/v1/jobs/{job_id:int}/cancel", Access.OPERATE, status_code=200,
      summary="Cancel a job that has not finished")
def cancel_job(request: AnyRequest, job_id: int) -> dict[str, Any]:
    the_archive = archive(request)
    who = actor(request)
    the_archive.library.job(job_id, actor=who)  # 404 for an unknown id
    return {"job_id": job_id, "cancelled": the_archive.cancel_job(job_id, actor=who)}


# -- sources --------------------------------------------------------------------------------


@GET("/api/v1/sources", Access.OPERATE,
     summary="Sources: capabilities, credential state, counts, last sync, errors")
def list_sources(request: AnyRequest) -> dict[str, Any]:
    return {"items": archive(request).sources_overview(actor=actor(request))}


@POST("/api/v1/sources/{name:str}/sync", Access.OPERATE, status_code=202,
      summary="Sync now (these targets, or everything synced before)")
def sync_now(request: AnyRequest, name: str, data: SyncIn) -> dict[str, Any]:
    the_archive = archive(request)
    who = actor(request)
    the_archive.plugins.source(name)  # an unknown source: 404
    targets = data.targets or [target for entry in the_archive.subscriptions(actor=who)
                               if entry.get("source") == name
                               for target in entry.get("targets", [])]
    if not targets:
        from alejandria_web.errors import ApiError

        raise ApiError(400, "no_targets", f"nothing of {name} was synced before: say what "
                       "to sync in 'targets'")
    job_id = the_archive.submit("sync", {"source": name, "targets": targets}, actor=who,
                                client=client_of(request))
    return {"job_id": job_id, "targets": targets}


@PUT("/api/v1/sources/{name:str}/credentials", Access.OPERATE, status_code=200,
     summary="Set or replace a source's credentials (stored encrypted, never shown)")
def set_credentials(request: AnyRequest, name: str, data: CredentialsIn) -> dict[str, Any]:
    the_archive = archive(request)
    the_archive.plugins.source(name)
    the_archive.set_credentials(name, dict(data.secrets), account=data.account,
                                actor=actor(request), client=client_of(request))
    return {"source": name, "account": data.account, "fields": sorted(data.secrets)}


@DELETE("/api/v1/sources/{name:str}/credentials", Access.OPERATE,
        summary="Forget a source's credentials")
def delete_credentials(request: AnyRequest, name: str, account: str = "default") -> None:
    if not archive(request).delete_credentials(name, account=account, actor=actor(request),
                                               client=client_of(request)):
        raise NotFound(f"no credentials stored for {name} ({account})")


@GET("/api/v1/plugins", Access.OPERATE, summary="Installed plugins, and why any failed")
def list_plugins(request: AnyRequest) -> dict[str, Any]:
    plugins = archive(request).plugins
    return {"items": [info.as_dict() for info in plugins.plugins()],
            "broken": plugins.broken()}


# -- users ----------------------------------------------------------------------------------


@GET("/api/v1/users", Access.ADMIN, summary="Users")
def list_users(request: AnyRequest) -> dict[str, Any]:
    return {"items": [user.as_json() for user in
                      archive(request).accounts.list(actor=actor(request))]}


@POST("/api/v1/users", Access.ADMIN, summary="Create a user")
def create_user(request: AnyRequest, data: UserIn) -> dict[str, Any]:
    return archive(request).accounts.create(data.username, data.password, email=data.email,
                                            role=data.role, actor=actor(request),
                                            client=client_of(request)).as_json()


@GET("/api/v1/users/{user_id:int}", Access.ADMIN, summary="A user")
def get_user(request: AnyRequest, user_id: int) -> dict[str, Any]:
    return archive(request).accounts.get(user_id, actor=actor(request)).as_json()


@PATCH("/api/v1/users/{user_id:int}", Access.ADMIN,
       summary="Change a user's role, disable or enable them, set a new password")
def update_user(request: AnyRequest, user_id: int, data: UserPatch) -> dict[str, Any]:
    accounts = archive(request).accounts
    who, address = actor(request), client_of(request)
    user = accounts.get(user_id, actor=who)
    if data.role is not None:
        user = accounts.set_role(user_id, data.role, actor=who, client=address)
    if data.active is not None:
        user = (accounts.enable if data.active else accounts.disable)(
            user_id, actor=who, client=address)
        if not data.active:
            sessions_of(request).delete_for_user(user_id)
    if data.password is not None:
        accounts.set_password(user_id, data.password, actor=who, client=address)
        sessions_of(request).delete_for_user(user_id)
    return user.as_json()


@DELETE("/api/v1/users/{user_id:int}", Access.ADMIN, summary="Delete a user and their data")
def delete_user(request: AnyRequest, user_id: int) -> None:
    archive(request).accounts.delete(user_id, actor=actor(request), client=client_of(request))


@POST("/api/v1/users/{user_id:int}/reset-2fa", Access.ADMIN, status_code=200,
      summary="Turn a user's 2FA off (they lost their device)")
def reset_2fa(request: AnyRequest, user_id: int) -> dict[str, Any]:
    archive(request).accounts.reset_2fa(user_id, actor=actor(request),
                                        client=client_of(request))
    return {"user_id": user_id, "totp_enabled": False}


@POST("/api/v1/users/{user_id:int}/logout-everywhere", Access.ADMIN, status_code=200,
      summary="End every session of a user")
def end_user_sessions(request: AnyRequest, user_id: int) -> dict[str, Any]:
    archive(request).accounts.get(user_id, actor=actor(request))
    return {"ended": sessions_of(request).delete_for_user(user_id)}


@GET("/api/v1/tokens", Access.ADMIN, summary="Everyone's API tokens (never the tokens)")
def all_tokens(request: AnyRequest, user_id: int | None = None,
               include_revoked: bool = False) -> dict[str, Any]:
    found = archive(request).tokens.list(user_id, include_revoked=include_revoked,
                                         actor=actor(request))
    return {"items": [token.as_json() for token in found]}


@DELETE("/api/v1/tokens/{token_id:int}", Access.ADMIN, summary="Revoke anyone's token")
def revoke_any_token(request: AnyRequest, token_id: int) -> None:
    archive(request).tokens.revoke(token_id, actor=actor(request), client=client_of(request))


# -- audit ----------------------------------------------------------------------------------


@GET("/api/v1/audit", Access.ADMIN, summary="The audit log, newest first")
def audit_log(request: AnyRequest, user_id: int | None = None, since: datetime | None = None,
              action: str | None = None, before: int | None = None,
              limit: int = Parameter(ge=1, le=1000, default=100)) -> dict[str, Any]:
    """``before``: the entries older than that id (the last id of the page before)."""
    entries = archive(request).audit.entries(user_id=user_id, since=since, action=action,
                                             limit=limit, before=before, actor=actor(request))
    return {"items": [entry.as_json() for entry in entries]}


OPERATE_ROUTES = [list_jobs, get_job, submit_job, job_types, subscriptions, retry_job,
                  retry_failed_jobs, cancel_job, list_sources, sync_now, set_credentials,
                  delete_credentials, list_plugins]
ADMIN_ROUTES = [list_users, create_user, get_user, update_user, delete_user, reset_2fa,
                end_user_sessions, all_tokens, revoke_any_token, audit_log]
ROUTES = [*OPERATE_ROUTES, *ADMIN_ROUTES]

"""What an admin does over the API: jobs (queue, follow, retry, cancel), sources (overview,
credentials that are never shown back, sync now), users and the audit log."""

from __future__ import annotations

from typing import Any


def test_jobs_queue_run_and_are_listed(signed_in: Any) -> None:
    admin = signed_in("admin")
    queued = admin.post("/api/v1/jobs", json={"job_type": "noop"})
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["job_id"]
    detail = admin.get(f"/api/v1/jobs/{job_id}").json()
    assert detail["job_type"] == "noop" and detail["status"] == "completed"
    listed = admin.get("/api/v1/jobs", params={"status": "completed"}).json()
    assert job_id in [job["id"] for job in listed["items"]]
    assert listed["counts"]["sources"]["completed"] >= 1
    assert admin.post("/api/v1/jobs", json={"job_type": "no-such-job"}).status_code == 404
    names = {item["name"] for item in admin.get("/api/v1/job-types").json()["items"]}
    assert {"sync", "process_media", "embed", "noop"} <= names
    # a finished job cannot be cancelled; an unknown one is a 404
    assert admin.post(f"/api/v1/jobs/{job_id}/cancel").json()["cancelled"] is False
    assert admin.post("/api/v1/jobs/987654/cancel").status_code == 404


def test_sources_credentials_and_sync_now(signed_in: Any, catalogue: Any) -> None:
    admin = signed_in("admin")
    sources = {item["name"]: item for item in admin.get("/api/v1/sources").json()["items"]}
    assert sources["webtest"]["counts"] == {"creators": 1, "collections": 0, "posts": 2}
    assert sources["patreon"]["capabilities"]["needs_credentials"] is True
    secret = "session-cookie-value-that-must-not-come-back"
    answer = admin.put("/api/v1/sources/patreon/credentials",
                       json={"secrets": {"session_id": secret}})
    assert answer.status_code == 200 and secret not in answer.text
    listed = admin.get("/api/v1/sources").text
    assert secret not in listed and "session_id" in listed
    assert admin.delete("/api/v1/sources/patreon/credentials").status_code == 204
    assert admin.delete("/api/v1/sources/patreon/credentials").status_code == 404
    assert admin.post("/api/v1/sources/nope/sync", json={}).status_code == 404
    nothing = admin.post("/api/v1/sources/webtest/sync", json={})
    assert nothing.status_code == 400 and nothing.json()["error"]["code"] == "no_targets"
    synced = admin.post("/api/v1/sources/webtest/sync", json={"targets": ["all"]})
    assert synced.status_code == 202
    job = admin.get(f"/api/v1/jobs/{synced.json()['job_id']}").json()
    assert job["status"] == "completed", job
    audit = admin.get("/api/v1/audit", params={"limit": 50}).json()["items"]
    assert {"credentials.set", "credentials.delete"} <= {entry["action"] for entry in audit}
    assert secret not in str(audit)


def test_users_are_managed_by_admins_only(signed_in: Any, people: Any) -> None:
    admin, user = signed_in("admin"), signed_in("user")
    created = admin.post("/api/v1/users", json={
        "username": "dora", "password": "another long passphrase", "role": "readonly"})
    assert created.status_code == 201, created.text
    dora = created.json()["id"]
    assert admin.patch(f"/api/v1/users/{dora}", json={"role": "user"}).json()["role"] == "user"
    assert user.get("/api/v1/users").status_code == 403
    assert user.patch(f"/api/v1/users/{dora}", json={"role": "admin"}).status_code == 403
    # the last admin cannot demote themself
    last = admin.patch(f"/api/v1/users/{people['admin'].id}", json={"role": "user"})
    assert last.status_code == 409 and last.json()["error"]["code"] == "last_admin"
    assert admin.delete(f"/api/v1/users/{dora}").status_code == 204
    assert admin.get(f"/api/v1/users/{dora}").status_code == 404


def test_stats(signed_in: Any, catalogue: Any) -> None:
    body = signed_in("readonly").get("/api/v1/stats").json()
    assert body["counts"]["posts"] == 2


def test_admins_see_and_revoke_anyones_tokens(signed_in: Any, people: Any,
                                              archive: Any) -> None:
    admin, user = signed_in("admin"), signed_in("user")
    made = user.post("/api/v1/me/tokens", json={"name": "script", "scope": "read"}).json()
    listed = admin.get("/api/v1/tokens", params={"user_id": people["user"].id}).json()
    assert [token["id"] for token in listed["items"]] == [made["id"]]
    assert made["token"] not in str(listed)
    assert user.get("/api/v1/tokens").status_code == 403
    assert admin.delete(f"/api/v1/tokens/{made['id']}").status_code == 204
    scripted = user.get("/api/v1/posts", headers={"Authorization": f"Bearer {made['token']}"})
    assert scripted.status_code == 401
    assert admin.delete("/api/v1/tokens/987654").status_code == 404


def test_retry_failed_runs_every_failed_job_again(signed_in: Any, archive: Any,
                                                  register_plugin: Any) -> None:
    from alejandria import hookimpl
    from alejandria.errors import ItemRejected
    from alejandria.plugin_types import JobTypeSpec

    failures = {"a": 1, "b": 1}

    def fails_once(_context: Any, *, name: str, **_kwargs: Any) -> dict[str, Any]:
        if failures[name]:
            failures[name] -= 1
            raise ItemRejected(name, "not yet")
        return {}

    class FailsOnce:
        @hookimpl
        def register_job_types(self) -> list[JobTypeSpec]:
            return [JobTypeSpec(name="fails-once", function=fails_once, queue="media")]

    register_plugin(FailsOnce(), name="fails-once")
    admin = signed_in("admin")
    ids = [admin.post("/api/v1/jobs", json={"job_type": "fails-once",
                                            "kwargs": {"name": name}}).json()["job_id"]
           for name in ("a", "b")]
    assert [admin.get(f"/api/v1/jobs/{job}").json()["status"] for job in ids] == [
        "failed", "failed"]
    assert signed_in("user").post("/api/v1/jobs/retry-failed", json={}).status_code == 403

    answer = admin.post("/api/v1/jobs/retry-failed", json={})

    assert answer.status_code == 202, answer.text
    assert answer.json() == {"job_ids": ids, "retried": 2}
    assert [admin.get(f"/api/v1/jobs/{job}").json()["status"] for job in ids] == [
        "completed", "completed"]
    assert admin.post("/api/v1/jobs/retry-failed", json={"job_type": "noop"}).json()[
        "retried"] == 0
    audit = admin.get("/api/v1/audit", params={"action": "job.retry"}).json()["items"]
    assert sorted(int(entry["entity_id"]) for entry in audit) == ids
    older = admin.get("/api/v1/audit", params={"action": "job.retry",
                                               "before": audit[0]["id"]}).json()["items"]
    assert [entry["id"] for entry in older] == [audit[1]["id"]]

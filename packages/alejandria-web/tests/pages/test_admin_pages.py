"""The admin pages: an overview, sources and credentials, the job queue, users, the audit log
and the system's health, for admins only; every button calls the JSON API."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from alejandria import hookimpl
from alejandria.errors import ItemRejected
from alejandria.plugin_types import JobTypeSpec

PAGES = ["/admin", "/admin/sources", "/admin/jobs", "/admin/users", "/admin/audit",
         "/admin/system"]
SECRET = "patreon-session-cookie-that-must-never-come-back"


@pytest.fixture
def failing_jobs(register_plugin: Callable[..., None]) -> dict[str, int]:
    """A job type ``fails-once``: its first run of each ``name`` fails (``ItemRejected``),
    the next succeeds. The dict counts the failures still to come, by name."""
    failures: dict[str, int] = {}

    def fails_once(_context: Any, *, name: str, **_kwargs: Any) -> dict[str, Any]:
        if failures.setdefault(name, 1):
            failures[name] -= 1
            raise ItemRejected(name, "the file is encrypted")
        return {"name": name}

    class FailsOnce:
        @hookimpl
        def register_job_types(self) -> list[JobTypeSpec]:
            return [JobTypeSpec(name="fails-once", function=fails_once, queue="media",
                                description="fails the first time")]

    register_plugin(FailsOnce(), name="fails-once")
    return failures


def failed_job(archive: Any, name: str) -> int:
    """A job that really failed: queued and run (no broker: inline) through the queue."""
    job_id: int = archive.submit("fails-once", {"name": name})
    assert archive.jobs.get(job_id).status == "failed"
    return job_id


def status_of(archive: Any, job_id: int) -> str:
    return str(archive.jobs.get(job_id).status)


# -- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_each_admin_page_renders_for_an_admin(signed_in: Any, path: str) -> None:
    answer = signed_in("admin").get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert 'class="admin-nav"' in answer.text and 'aria-current="page"' in answer.text
    assert "/static/plugins/web/admin.js" in answer.text
    assert "style=" not in answer.text and "<script>" not in answer.text  # the CSP


@pytest.mark.parametrize("role", ["user", "readonly"])
@pytest.mark.parametrize("path", [*PAGES, "/admin/sources/patreon", "/admin/jobs/1"])
def test_others_get_a_403_page(signed_in: Any, role: str, path: str) -> None:
    answer = signed_in(role).get(path)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "Not allowed" in answer.text


@pytest.mark.parametrize("role", ["user", "readonly"])
def test_only_admins_see_the_admin_link(signed_in: Any, role: str) -> None:
    assert 'href="/admin"' in signed_in("admin").get("/").text
    assert 'href="/admin"' not in signed_in(role).get("/").text


def test_anonymous_goes_to_the_login_page(client: Any) -> None:
    answer = client.get("/admin/jobs", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fadmin%2Fjobs"


# -- jobs -----------------------------------------------------------------------------------


def test_a_failed_job_shows_its_reason_and_a_retry_button(signed_in: Any, archive: Any,
                                                          failing_jobs: Any) -> None:
    job_id = failed_job(archive, "broken.pdf")
    admin = signed_in("admin")

    page = admin.get("/admin/jobs").text

    row = page[page.index(f'id="job-{job_id}"'):]
    row = row[:row.index("</tr>")]
    assert "ItemRejected: broken.pdf: the file is encrypted" in row
    assert "state-fail" in row and "Failed" in row
    assert f'hx-post="/api/v1/jobs/{job_id}/retry"' in row
    assert f'hx-post="/api/v1/jobs/{job_id}/cancel"' not in row  # it has finished
    # the button's route really runs the job again (no broker: here and now)
    assert admin.post(f"/api/v1/jobs/{job_id}/retry", json={}).status_code == 202
    assert status_of(archive, job_id) == "completed"
    row = admin.get("/admin/jobs").text.split(f'id="job-{job_id}"')[1].split("</tr>")[0]
    assert "Completed" in row and "/retry" not in row and "ItemRejected" not in row


def test_the_job_page_shows_the_traceback_and_payload(signed_in: Any, archive: Any,
                                                      failing_jobs: Any) -> None:
    job_id = failed_job(archive, "broken.pdf")
    page = signed_in("admin").get(f"/admin/jobs/{job_id}").text
    assert "ItemRejected: broken.pdf: the file is encrypted" in page
    assert "Traceback" in page and "\"name\": \"broken.pdf\"" in page
    assert f'hx-post="/api/v1/jobs/{job_id}/retry"' in page
    assert signed_in("admin").get("/admin/jobs/987654").status_code == 404


def test_retry_all_failed_requeues_every_failed_job(signed_in: Any, archive: Any,
                                                    failing_jobs: Any) -> None:
    failed = [failed_job(archive, name) for name in ("a.pdf", "b.pdf", "c.pdf")]
    done = archive.submit("noop")
    admin = signed_in("admin")
    page = admin.get("/admin/jobs").text
    assert 'hx-post="/api/v1/jobs/retry-failed"' in page
    assert "Retry all 3 failed jobs" in page

    answer = admin.post("/api/v1/jobs/retry-failed", json={})

    assert answer.status_code == 202 and answer.json()["job_ids"] == failed
    assert [status_of(archive, job) for job in [*failed, done]] == ["completed"] * 4
    page = admin.get("/admin/jobs?status=failed").text
    assert "No jobs match this filter." in page
    assert "retry-failed" not in page  # nothing left to retry


def test_a_pending_job_can_be_cancelled(signed_in: Any, archive: Any) -> None:
    job_id = archive.jobs.create("noop", {}, queue="sources", priority=5, task_id="t-1")
    admin = signed_in("admin")
    row = admin.get("/admin/jobs").text.split(f'id="job-{job_id}"')[1].split("</tr>")[0]
    assert f'hx-post="/api/v1/jobs/{job_id}/cancel"' in row and "hx-confirm" in row
    assert admin.post(f"/api/v1/jobs/{job_id}/cancel", json={}).json()["cancelled"] is True
    assert "Cancelled" in admin.get(f"/admin/jobs/{job_id}").text


def test_running_jobs_show_their_progress(signed_in: Any, archive: Any) -> None:
    job_id = archive.jobs.create("noop", {}, queue="sources", priority=5, task_id="t-2")
    archive.jobs.started(job_id)
    archive.jobs.progress(job_id, 3, 8)
    page = signed_in("admin").get("/admin/jobs?status=running").text
    assert '<progress max="8" value="3"' in page and "3 / 8" in page


def test_jobs_filter_by_state_and_count_per_queue(signed_in: Any, archive: Any,
                                                  failing_jobs: Any) -> None:
    failed = failed_job(archive, "x.pdf")
    done = archive.submit("noop")
    admin = signed_in("admin")
    only_failed = admin.get("/admin/jobs", params={"status": "failed"}).text
    assert f'id="job-{failed}"' in only_failed and f'id="job-{done}"' not in only_failed
    only_done = admin.get("/admin/jobs", params={"status": "completed"}).text
    assert f'id="job-{done}"' in only_done and f'id="job-{failed}"' not in only_done
    everything = admin.get("/admin/jobs").text
    counts = everything[everything.index('class="counts-table"'):]
    counts = counts[:counts.index("</table>")]
    assert re.search(r'<th scope="row">media</th>.*?status=failed"[^>]*>1<', counts, re.S)
    assert re.search(r'<th scope="row">sources</th>.*?status=completed"[^>]*>1<', counts,
                     re.S)


def test_the_jobs_part_refreshes_itself_and_htmx_gets_only_that_part(
        signed_in: Any, archive: Any, failing_jobs: Any) -> None:
    failed = failed_job(archive, "x.pdf")
    admin = signed_in("admin")
    page = admin.get("/admin/jobs?status=failed").text
    assert re.search(r'<div id="jobs-part"[^>]*hx-get="/admin/jobs\?status=failed"'
                     r'[^>]*hx-trigger="every 3s, refresh"', page)

    part = admin.get("/admin/jobs?status=failed", headers={"HX-Request": "true"})

    assert part.status_code == 200
    body = part.text.strip()
    assert body.startswith('<div id="jobs-part"') and body.endswith("</div>")
    assert "<html" not in body and "site-header" not in body and "filter-form" not in body
    assert f'id="job-{failed}"' in body


def test_every_control_of_the_polled_jobs_part_keeps_its_focus(signed_in: Any, archive: Any,
                                                               failing_jobs: Any) -> None:
    """The part is swapped every few seconds; htmx gives the focus back only to an element
    with an id: a keyboard user on a link without one would be thrown to the page's top."""
    failed_job(archive, "a.pdf")
    archive.jobs.create("noop", {}, queue="sources", priority=5, task_id="t-focus")
    part = signed_in("admin").get("/admin/jobs", headers={"HX-Request": "true"}).text

    controls = re.findall(r"<(?:a|button)\b[^>]*>", part)
    assert len(controls) > 5
    assert [tag for tag in controls if not re.search(r'\sid="[^"]+"', tag)] == []
    ids = [re.search(r'\sid="([^"]+)"', tag).group(1) for tag in controls]  # type: ignore[union-attr]
    assert len(ids) == len(set(ids))


# -- sources --------------------------------------------------------------------------------


def test_sources_show_counts_capabilities_and_a_sync_button(signed_in: Any,
                                                            catalogue: Any) -> None:
    page = signed_in("admin").get("/admin/sources").text
    card = page[page.index('id="source-webtest"'):]
    card = card[:card.index("</article>")]
    assert re.search(r"<dt>Posts</dt><dd>2</dd>", card)
    assert re.search(r"<dt>Creators</dt><dd>1</dd>", card)
    assert "Enabled" in card and "Needs no credentials" in card
    assert 'hx-post="/api/v1/sources/webtest/sync"' in card
    assert "<dt>Last sync</dt>" in card and "<dt>Plugin</dt><dd>webtest-source</dd>" in card


def test_the_credential_form_never_contains_the_stored_secret(signed_in: Any) -> None:
    admin = signed_in("admin")
    before = admin.get("/admin/sources").text
    card = before[before.index('id="source-patreon"'):]
    assert "No credentials are stored" in card[:card.index("</article>")]
    assert re.search(r'<input id="source-patreon-session_id" name="session_id" '
                     r'type="password"', card)
    assert 'hx-put="/api/v1/sources/patreon/credentials"' in card
    assert 'hx-ext="admin-credentials"' in card
    assert admin.put("/api/v1/sources/patreon/credentials",
                     json={"secrets": {"session_id": SECRET}}).status_code == 200

    for path in ("/admin/sources", "/admin/sources/patreon", "/admin", "/admin/audit"):
        page = admin.get(path).text
        assert SECRET not in page, path
    card = admin.get("/admin/sources/patreon", headers={"HX-Request": "true"}).text
    assert card.lstrip().startswith('<article class="card source-card" id="source-patreon"')
    assert "session_id" in card and "Replace the credentials" in card
    assert 'hx-delete="/api/v1/sources/patreon/credentials?account=default"' in card
    assert "No credentials are stored" not in card
    assert re.search(r'<input id="source-patreon-session_id"[^>]*>', card)
    assert "value=" not in re.search(r'<input id="source-patreon-session_id"[^>]*>',
                                     card).group(0)


def test_old_credentials_get_an_expiry_warning(signed_in: Any, archive: Any) -> None:
    admin = signed_in("admin")
    admin.put("/api/v1/sources/patreon/credentials", json={"secrets": {"session_id": SECRET}})
    assert "may have expired" not in admin.get("/admin/sources/patreon").text
    with archive.engine.begin() as conn:
        conn.execute(text("UPDATE source_credentials SET updated_at = now() - interval "
                          "'45 days' WHERE source = 'patreon'"))
    page = admin.get("/admin/sources/patreon").text
    assert "set 45 days ago and may have expired" in page
    # one line names every source that needs attention (others may lack credentials too)
    assert re.search(r"\d+ needs? attention: [^<]*patreon", admin.get("/admin").text)


# -- users ----------------------------------------------------------------------------------


def test_users_are_listed_with_their_controls(signed_in: Any, people: Any,
                                              archive: Any) -> None:
    with archive.engine.begin() as conn:
        conn.execute(text("UPDATE users SET totp_enabled = true WHERE id = :id"),
                     {"id": people["user"].id})
    page = signed_in("admin").get("/admin/users").text
    for person in people.values():
        assert f'id="user-{person.id}"' in page and person.username in page
    alice = page.split(f'id="user-{people["user"].id}"')[1].split("</tr>")[0]
    assert f'hx-patch="/api/v1/users/{people["user"].id}"' in alice
    assert f'hx-post="/api/v1/users/{people["user"].id}/reset-2fa"' in alice
    assert '"active": false' in alice and "Disable" in alice
    bob = page.split(f'id="user-{people["other"].id}"')[1].split("</tr>")[0]
    assert "reset-2fa" not in bob  # no 2FA to reset
    assert 'hx-post="/api/v1/users"' in page and 'name="password" type="password"' in page


def test_a_created_user_appears_and_the_users_part_refreshes(signed_in: Any) -> None:
    admin = signed_in("admin")
    assert admin.post("/api/v1/users", json={"username": "dora", "password":
                                             "another long passphrase",
                                             "role": "readonly"}).status_code == 201
    [dora] = [user for user in admin.get("/api/v1/users").json()["items"]
              if user["username"] == "dora"]
    part = admin.get("/admin/users", headers={"HX-Request": "true"}).text.strip()
    assert part.startswith('<div id="users-part"') and "<html" not in part
    row = part.split(f'id="user-{dora["id"]}"')[1].split("</tr>")[0]
    assert "<strong>dora</strong>" in row
    assert '<option value="readonly" selected>' in row


def test_a_disabled_user_shows_as_disabled_with_an_enable_button(signed_in: Any,
                                                                people: Any) -> None:
    admin = signed_in("admin")
    bob = people["other"].id
    assert admin.patch(f"/api/v1/users/{bob}", json={"active": False}).status_code == 200
    row = admin.get("/admin/users").text.split(f'id="user-{bob}"')[1].split("</tr>")[0]
    assert "Disabled" in row and '"active": true' in row and "Enable" in row


def test_the_last_admin_cannot_be_demoted_and_the_page_shows_why(signed_in: Any,
                                                                people: Any) -> None:
    admin = signed_in("admin")
    page = admin.get("/admin/users").text
    root = page.split(f'id="user-{people["admin"].id}"')[1].split("</tr>")[0]
    assert "(you)" in root and "data-form-error" in root  # where the API's message shows
    answer = admin.patch(f"/api/v1/users/{people['admin'].id}", json={"role": "user"})
    assert answer.status_code == 409
    assert "last active admin" in answer.json()["error"]["message"]


def test_reset_2fa_from_the_page_turns_it_off(signed_in: Any, people: Any,
                                              archive: Any) -> None:
    alice = people["user"].id
    with archive.engine.begin() as conn:
        conn.execute(text("UPDATE users SET totp_enabled = true WHERE id = :id"),
                     {"id": alice})
    admin = signed_in("admin")
    assert admin.post(f"/api/v1/users/{alice}/reset-2fa", json={}).status_code == 200
    row = admin.get("/admin/users").text.split(f'id="user-{alice}"')[1].split("</tr>")[0]
    assert "reset-2fa" not in row and "Off" in row


# -- audit log ------------------------------------------------------------------------------


def test_the_audit_log_is_newest_first_filtered_and_paged(signed_in: Any, people: Any,
                                                          monkeypatch: Any) -> None:
    from alejandria_web.pages import admin as admin_pages

    admin = signed_in("admin")
    for name in ("ana", "bea", "cris"):
        admin.post("/api/v1/users", json={"username": name, "password":
                                          "another long passphrase"})
    admin.patch(f"/api/v1/users/{people['other'].id}", json={"role": "readonly"})

    page = admin.get("/admin/audit").text
    assert page.index("<code>user.role</code>") < page.index("<code>user.create</code>")
    assert "root" in page

    only_role = admin.get("/admin/audit", params={"action": "user.role"}).text
    assert "user.role" in only_role and "<code>user.create</code>" not in only_role
    about_bob = admin.get("/admin/audit", params={"user": people["other"].id}).text
    rows = about_bob[about_bob.index("<tbody>"):]
    assert "<code>user.role</code>" in rows and '<td data-label="Target">bob</td>' in rows
    assert not any(f">{name}</td>" in rows for name in ("ana", "bea", "cris"))

    everyone = admin.get("/admin/audit", params={"user": "", "action": ""})  # the form's
    assert everyone.status_code == 200 and "<code>user.create</code>" in everyone.text

    monkeypatch.setattr(admin_pages, "AUDIT_PER_PAGE", 2)
    first = admin.get("/admin/audit", params={"action": "user.create"}).text
    older = re.search(r'href="(/admin/audit\?action=user.create&amp;before=\d+)"', first)
    assert older, first
    second = admin.get(older.group(1).replace("&amp;", "&")).text
    assert "Newest" in second
    assert first.count("<code>user.create</code>") == 2
    assert second.count("<code>user.create</code>") >= 1


# -- system and overview --------------------------------------------------------------------


def test_the_system_page_shows_the_health_checks_and_versions(signed_in: Any) -> None:
    page = signed_in("admin").get("/admin/system").text
    for check in ("database", "disk", "workers", "pgvector"):
        assert f'<th scope="row">{check}</th>' in page
    assert re.search(r'<tr class="check-ok">\s*<th scope="row">database</th>', page)
    assert "state state-" in page
    assert "alejandria-core" in page and "alejandria-web" in page and "PostgreSQL" in page
    assert "noop" in page and "patreon" in page


def test_the_overview_links_each_section_with_the_status(signed_in: Any,
                                                        failing_jobs: Any,
                                                        archive: Any) -> None:
    failed_job(archive, "x.pdf")
    page = signed_in("admin").get("/admin").text
    for path in PAGES[1:]:
        assert f'href="{path}"' in page
    assert "System status" in page and 'href="/admin/jobs?status=failed"' in page
    assert '<span class="state state-fail">1</span>' in page


def test_an_admin_page_in_spanish(signed_in: Any, failing_jobs: Any, archive: Any) -> None:
    failed_job(archive, "x.pdf")
    admin = signed_in("admin")
    admin.patch("/api/v1/me/preferences", json={"language": "es"})
    page = admin.get("/admin/jobs").text
    assert "Trabajos" in page and "Fallido" in page and "Reintentar" in page
    assert "Usuarios" in admin.get("/admin/users").text

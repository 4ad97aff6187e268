"""The admin pages in a real browser: an admin retries a failed job and watches the jobs
table refresh itself as it runs; every admin page at desktop and phone width, with no
console error, no CSP refusal and no serious accessibility violation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from alejandria.api import Archive

from .conftest import (
    PHONE,
    LiveServer,
    describe,
    errors_of,
    login,
    run_axe,
    screenshot,
    settled,
)

PASSWORD = "correct horse battery staple"
PAGES = {"overview": "/admin", "sources": "/admin/sources", "jobs": "/admin/jobs",
         "users": "/admin/users", "audit": "/admin/audit", "system": "/admin/system"}


def failed_job(archive: Archive, reason: str = "cannot reach the broker: Connection "
               "refused") -> int:
    """A ``noop`` job the queue recorded as failed, the way a submit to an unreachable
    broker leaves it (``queue.submit.dispatch``): the live server knows only the built-in
    job types, and ``noop`` runs when retried."""
    job_id = archive.jobs.create("noop", {}, queue="sources", priority=5,
                                 task_id=str(uuid.uuid4()))
    archive.jobs.failed(job_id, ConnectionError(reason))
    return job_id


def job_row(page: Page, job_id: int) -> Any:
    return page.locator(f"#job-{job_id}")


def test_an_admin_retries_a_failed_job_and_sees_it_run(page: Page, live_server: LiveServer,
                                                       archive: Archive) -> None:
    archive.accounts.create("root", PASSWORD, role="admin")
    job_id = failed_job(archive)
    login(page, live_server.url, "root", PASSWORD)

    page.goto("/admin/jobs")
    row = job_row(page, job_id)
    expect(row.locator(".state")).to_have_text("Failed")
    expect(row.locator(".job-error")).to_contain_text("cannot reach the broker")

    # the table refreshes by itself: a job that fails meanwhile appears with no click
    later = failed_job(archive, "a second failure")
    expect(job_row(page, later)).to_be_visible(timeout=8_000)
    expect(page.locator("#retry-all")).to_have_text("Retry all 2 failed jobs")

    settled(page, "#jobs-part")  # the poll swapped the table in: its buttons answer once settled
    with page.expect_response(f"**/api/v1/jobs/{job_id}/retry") as answer:
        row.get_by_role("button", name=f"Retry job {job_id}").click()
    assert answer.value.status == 202
    expect(job_row(page, job_id).locator(".state")).to_have_text("Completed")
    expect(job_row(page, job_id).locator(".job-error")).to_be_empty()
    expect(job_row(page, job_id).get_by_role("button")).to_have_count(0)
    expect(page.locator(".toast")).to_contain_text("Job queued again")
    assert archive.jobs.get(job_id).status == "completed"
    expect(page.locator("#retry-all")).to_have_text("Retry 1 failed job")

    # retry all: a confirmation, then every failed job runs again
    page.once("dialog", lambda dialog: dialog.accept())
    settled(page, "#jobs-part")
    with page.expect_response("**/api/v1/jobs/retry-failed") as answer:
        page.locator("#retry-all").click()
    assert answer.value.json()["job_ids"] == [later]
    expect(job_row(page, later).locator(".state")).to_have_text("Completed")
    expect(page.locator("#retry-all")).to_have_count(0)
    screenshot(page, "admin-jobs-after-retry-1280")
    errors_of(page).assert_none()


def test_the_jobs_table_waits_while_the_tab_is_hidden(page: Page, live_server: LiveServer,
                                                      archive: Archive) -> None:
    archive.accounts.create("root", PASSWORD, role="admin")
    login(page, live_server.url, "root", PASSWORD)
    page.goto("/admin/jobs")
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url)
            if "/admin/jobs" in request.url and request.headers.get("hx-request") else None)
    page.evaluate("""() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
    }""")
    page.wait_for_timeout(3_500)
    assert polls == []  # hidden: no polling
    page.evaluate("""() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    page.wait_for_timeout(500)
    assert len(polls) == 1  # shown again: it catches up at once
    errors_of(page).assert_none()


def test_the_keyboard_focus_stays_put_while_the_jobs_table_refreshes(
        page: Page, live_server: LiveServer, archive: Archive) -> None:
    """The table is swapped every few seconds: a link or button with the focus has it
    again afterwards (htmx finds it by its id), so tabbing through it is possible."""
    archive.accounts.create("root", PASSWORD, role="admin")
    job_id = failed_job(archive)
    login(page, live_server.url, "root", PASSWORD)
    page.goto("/admin/jobs")
    for control in (page.locator(f"#job-{job_id} a").first, page.locator("#state-failed")):
        control.focus()
        focused = page.evaluate("document.activeElement.id")
        assert focused
        with page.expect_response(lambda answer: "/admin/jobs" in answer.url
                                  and answer.request.headers.get("hx-request") == "true"):
            pass  # the next poll
        page.wait_for_timeout(200)  # swapped and settled
        assert page.evaluate("document.activeElement.id") == focused
    errors_of(page).assert_none()


def fill_the_archive(archive: Archive) -> dict[str, int]:
    """Something on every admin page: users (one with 2FA, one disabled), stored and old
    credentials, failed, running and finished jobs, audit entries."""
    root = archive.accounts.create("root", PASSWORD, role="admin")
    alice = archive.accounts.create("alice", PASSWORD, email="alice@example.org",
                                    actor=root.actor)
    bob = archive.accounts.create("bob", PASSWORD, role="readonly", actor=root.actor)
    archive.accounts.disable(bob.id, actor=root.actor)
    archive.set_credentials("patreon", {"session_id": "a-secret-session-cookie"},
                            actor=root.actor, client="192.0.2.7")
    with archive.engine.begin() as conn:
        conn.execute(text("UPDATE users SET totp_enabled = true WHERE id = :id"),
                     {"id": alice.id})
        conn.execute(text("UPDATE source_credentials SET updated_at = now() - interval "
                          "'40 days'"))
    failed_job(archive)
    failed_job(archive, "SourceAuthError: Patreon no longer accepts the saved session "
                        "(expired or logged out): log in again and store the new cookie")
    archive.submit("noop", actor=root.actor)
    running = archive.jobs.create("sync", {"source": "patreon", "targets": ["someone"]},
                                  queue="sources", priority=5, task_id=str(uuid.uuid4()))
    archive.jobs.started(running)
    archive.jobs.progress(running, 14, 40)
    return {"root": root.id, "alice": alice.id, "bob": bob.id}


@pytest.mark.parametrize("width", ["desktop", "phone", "dark-phone"])
def test_every_admin_page_looks_right(width: str, new_page: Callable[..., Page],
                                      live_server: LiveServer, archive: Archive) -> None:
    fill_the_archive(archive)
    page = new_page() if width == "desktop" else new_page(
        *PHONE, is_mobile=True, has_touch=True, device_scale_factor=1,
        color_scheme="dark" if width == "dark-phone" else "light")
    login(page, live_server.url, "root", PASSWORD)
    size = {"desktop": "1280", "phone": "390", "dark-phone": "390-dark"}[width]
    for name, path in PAGES.items():
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, path
        expect(page.locator(".admin-nav [aria-current=page]")).to_have_count(1)
        assert "a-secret-session-cookie" not in page.content()
        if width != "desktop":  # nothing wider than the phone: the tables fold into cards
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{path} is {overflow}px wider than the phone"
        violations = run_axe(page)
        assert not violations, f"{path}:\n{describe(violations)}"
        screenshot(page, f"admin-{name}-{size}")
    errors_of(page).assert_none()


def test_a_job_page_and_the_spanish_jobs_page(page: Page, live_server: LiveServer,
                                              archive: Archive) -> None:
    fill_the_archive(archive)
    job_id = failed_job(archive, "the last one")
    login(page, live_server.url, "root", PASSWORD)
    page.goto(f"/admin/jobs/{job_id}")
    expect(page.locator(".job-error")).to_have_text("ConnectionError: the last one")
    screenshot(page, "admin-job-1280")
    page.goto("/admin/jobs?lang=es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trabajos")
    expect(page.locator(f"#job-{job_id} .state")).to_have_text("Fallido")
    screenshot(page, "admin-jobs-es-1280")
    errors_of(page).assert_none()


def test_a_user_sees_no_admin_link_and_a_403_page(page: Page, live_server: LiveServer,
                                                  archive: Archive) -> None:
    archive.accounts.create("alice", PASSWORD)
    login(page, live_server.url, "alice", PASSWORD)
    page.goto("/")
    expect(page.locator('a[href="/admin"]')).to_have_count(0)
    answer = page.goto("/admin/jobs")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")


def test_an_admin_sets_a_credential_and_manages_users_with_the_forms(
        page: Page, live_server: LiveServer, archive: Archive) -> None:
    root = archive.accounts.create("root", PASSWORD, role="admin")
    login(page, live_server.url, "root", PASSWORD)
    secret = "a-cookie-typed-into-the-form"

    page.goto("/admin/sources")
    card = page.locator("#source-patreon")
    expect(card.locator(".warnings")).to_contain_text("No credentials are stored")
    card.get_by_label("session_id").fill(secret)
    with page.expect_response("**/api/v1/sources/patreon/credentials") as answer:
        card.get_by_role("button", name="Save").click()
    assert answer.value.status == 200
    card = page.locator("#source-patreon")  # the card came back, refreshed
    expect(card).to_contain_text("default: session_id")
    expect(card.locator(".warnings")).to_have_count(0)
    assert secret not in page.content()
    assert [c.source for c in archive.credentials()] == ["patreon"]

    page.goto("/admin/users")
    form = page.locator(f"#user-{root.id} .role-form")
    form.get_by_label("Role of root").select_option("user")
    form.get_by_role("button", name="Change").click()
    expect(form.locator("[data-form-error]")).to_have_text(
        "This is the last active admin: make another user admin first.")
    assert archive.accounts.get(root.id).role == "admin"

    new_user = page.locator(".new-user form")
    new_user.get_by_label("Username").fill("dora")
    new_user.get_by_label("Password").fill("another long passphrase")
    new_user.get_by_label("Role").select_option("readonly")
    new_user.get_by_role("button", name="Create user").click()
    expect(page.locator("#users-part")).to_contain_text("dora")
    dora = archive.accounts.get("dora")
    assert dora.role == "readonly"
    expect(new_user.get_by_label("Username")).to_have_value("")  # the form was emptied
    screenshot(page, "admin-users-after-create-1280")
    # the refused demotion is logged by the browser and htmx (a 409); nothing else is
    problems = [line for line in errors_of(page).all() if "409" not in line]
    assert not problems, problems

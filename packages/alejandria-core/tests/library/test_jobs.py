"""``archive.library.jobs`` / ``job`` / ``job_counts``: for those who operate the archive, the
newest first, payload secrets hidden."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from alejandria.accounts.errors import PermissionDenied
from alejandria.errors import InvalidRequest, NotFound
from alejandria.redaction import forget_secrets, remember_secret

from .conftest import ADMIN, READONLY, USER
from .test_posts import walk

COOKIE = "session-cookie-0123456789abcdef"
TOKEN = "api-token-fedcba9876543210"
REGISTERED = "registered-secret-5555555555"


@pytest.fixture
def jobs(archive) -> Iterator[dict[str, int]]:
    """Three completed jobs, one failed; the failed one's payload holds secrets."""
    made: dict[str, int] = {}
    for n in range(3):
        with archive.recorded_job("sync", {"source": "files", "targets": [f"/books/{n}"]}) as job:
            job.result = {"posts": n}
        made[f"done-{n}"] = job.id
    remember_secret(REGISTERED)
    payload = {"source": "patreon", "targets": [f"https://example.com/feed?k={REGISTERED}"],
               "options": {"cookie": COOKIE, "page_size": 10, "empty_token": ""},
               "credentials": {"session_id": COOKIE, "api_key": TOKEN},
               "headers": [{"Authorization": f"Bearer {TOKEN}"}]}
    with pytest.raises(RuntimeError), archive.recorded_job("sync", payload) as job:
        raise RuntimeError("the site said no")
    made["failed"] = job.id
    yield made
    forget_secrets()


def test_jobs_newest_first_page_by_page(archive, jobs):
    page = archive.library.jobs(limit=200)
    ids = [job.id for job in page.items]
    assert ids == sorted(jobs.values(), reverse=True) and page.next is None
    assert walk(archive.library.jobs, 1) == ids
    assert walk(archive.library.jobs, 3) == ids
    newest = page.items[0]
    assert (newest.job_type, newest.status, newest.queue, newest.attempts) == (
        "sync", "failed", "sources", 1)
    assert "the site said no" in (newest.error_message or "")
    assert newest.created_at is not None and newest.completed_at is not None
    assert set(json.loads(json.dumps(newest.as_json()))) == {
        "id", "job_type", "status", "queue", "attempts", "max_attempts", "progress_current",
        "progress_total", "error_message", "created_at", "started_at", "completed_at"}


def test_jobs_filtered(archive, jobs):
    assert [j.id for j in archive.library.jobs(status="failed").items] == [jobs["failed"]]
    assert len(archive.library.jobs(status="completed", job_type="sync").items) == 3
    assert archive.library.jobs(job_type="process_media").items == []
    with pytest.raises(InvalidRequest, match="job status"):
        archive.library.jobs(status="exploded")


def test_one_job_in_full_with_its_secrets_hidden(archive, jobs):
    detail = archive.library.job(jobs["failed"], actor=ADMIN)
    dumped = json.dumps(detail.as_json())
    for secret in (COOKIE, TOKEN, REGISTERED):
        assert secret not in dumped
    assert detail.payload["options"] == {"cookie": "[redacted]", "page_size": 10,
                                         "empty_token": ""}
    assert detail.payload["credentials"] == "[redacted]"
    assert detail.payload["headers"] == [{"Authorization": "[redacted]"}]
    assert detail.payload["targets"] == ["https://example.com/feed?k=[redacted]"]
    assert detail.payload["source"] == "patreon"
    assert detail.traceback and "RuntimeError" in detail.traceback
    assert detail.result is None and detail.heartbeat_at is not None
    done = archive.library.job(jobs["done-2"])
    assert done.result == {"posts": 2} and done.payload == {"source": "files",
                                                            "targets": ["/books/2"]}
    assert {"payload", "result", "traceback", "next_retry_at", "heartbeat_at"} <= set(
        json.loads(dumped))


def test_job_counts_by_queue_and_status(archive, jobs):
    assert archive.library.job_counts() == {"sources": {"completed": 3, "failed": 1}}


def test_an_unknown_job_is_not_found(archive):
    with pytest.raises(NotFound, match="job 987654 not found"):
        archive.library.job(987654)


@pytest.mark.parametrize("who", [READONLY, USER])
def test_jobs_are_for_operators_only(archive, jobs, who):
    with pytest.raises(PermissionDenied):
        archive.library.jobs(actor=who)
    with pytest.raises(PermissionDenied):
        archive.library.job(jobs["failed"], actor=who)
    with pytest.raises(PermissionDenied):
        archive.library.job_counts(actor=who)


@pytest.mark.parametrize("who", [ADMIN, None])
def test_admins_and_the_installation_read_jobs(archive, jobs, who):
    assert len(archive.library.jobs(actor=who).items) == 4
    assert archive.library.job(jobs["failed"], actor=who).status == "failed"
    assert archive.library.job_counts(actor=who)["sources"]["failed"] == 1

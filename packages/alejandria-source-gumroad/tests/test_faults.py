"""Every way Gumroad says no, and what the user reads then (the README's table of faults)."""

from __future__ import annotations

import hashlib
import time

import pytest

from alejandria.api import Archive
from alejandria.testing import reads
from alejandria_source_gumroad.testing import GumroadFixture

#: demo_library's posts and stored files (5 product files and a cover).
POSTS, MEDIA = 5, 6

pytestmark = pytest.mark.parametrize("site", ["react"], indirect=True)


def test_429_waits_out_retry_after_then_completes(archive: Archive,
                                                  site: GumroadFixture) -> None:
    site.fail("/library", 429, headers={"Retry-After": "1"})
    start = time.monotonic()

    report = archive.sync("gumroad")

    assert report.ok, report.errors
    assert time.monotonic() - start >= 1.0
    assert (report.posts_written, report.media_stored) == (POSTS, MEDIA)


def test_429_and_5xx_on_files_and_pages_are_retried(archive: Archive,
                                                    site: GumroadFixture) -> None:
    site.fail("/attachments/", 429, times=2, host="files")  # no Retry-After: backoff
    site.fail("/d/", 503, times=2)
    site.fail("/r/", 502, times=1)

    report = archive.sync("gumroad")

    assert report.ok, report.errors
    assert (report.posts_written, report.media_stored) == (POSTS, MEDIA)


def test_a_retry_after_longer_than_we_wait_reports_the_rate_limit(archive: Archive,
                                                                  site: GumroadFixture) -> None:
    site.fail("/library", 429, headers={"Retry-After": "7200"})

    report = archive.sync("gumroad")

    assert not report.ok
    assert "7200 s" in report.errors[0].message
    assert reads.count(archive, "posts") == 0


def test_a_download_page_that_keeps_failing_is_an_error_and_the_rest_is_archived(
        archive: Archive, site: GumroadFixture) -> None:
    token = site.purchases[1].token  # the sketchbook
    site.fail(f"/d/{token}", 503, times=100)

    report = archive.sync("gumroad")

    assert not report.ok
    [error] = report.errors
    assert "Libro de bocetos" in error.message and "503" in error.message
    assert "prd_book:description" not in {p.external_id for p in reads.posts(archive)}
    assert reads.count(archive, "posts") == POSTS - 1

    site.faults.clear()
    again = archive.sync("gumroad")  # not in the cursor: tried again
    assert again.ok, again.errors
    assert reads.post(archive, "prd_book:description").title == "Libro de bocetos"


def test_an_email_confirmation_is_reported_and_the_other_purchases_go_on(
        archive: Archive, site: GumroadFixture) -> None:
    site.purchases[1].confirm_email = True

    report = archive.sync("gumroad")

    assert not report.ok
    [error] = report.errors
    assert "Libro de bocetos" in error.message
    assert "confirm the buyer's e-mail" in error.message and "sync again" in error.message
    assert reads.count(archive, "posts") == POSTS - 1


def test_a_download_page_moved_to_the_sellers_subdomain_is_followed_without_the_cookie(
        archive: Archive, site: GumroadFixture) -> None:
    site.purchases[2].on_seller_host = True  # the rain sounds

    report = archive.sync("gumroad")

    assert report.ok, report.errors
    assert {link.filename for link in reads.media_links(archive, "prd_sounds:description")} == {
        "Lluvia 1.mp3", "Lluvia 2.mp3"}
    moved = [r for r in site.sellers.requests if not r.path.startswith("/p/")]
    assert [r.path.split("/")[1] for r in moved] == ["d", "r", "r"]
    assert not any("cookie" in {name.lower() for name in r.headers}
                   for r in site.sellers.requests + site.files.requests)


def test_a_stamped_pdf_not_ready_is_asked_for_again_and_never_stored_as_html(
        archive: Archive, site: GumroadFixture) -> None:
    guide = site.purchases[0].product.files[1]
    guide.stamped, guide.stamp_pending = True, 2

    report = archive.sync("gumroad")

    assert report.ok, report.errors
    assert len([r for r in site.requests if guide.id in r.target]) == 3
    [link] = [m for m in reads.media_links(archive) if m.filename == "Guía de uso.pdf"]
    assert link.sha256 == hashlib.sha256(guide.data).hexdigest()
    assert all(m.mime_type != "text/html" for m in reads.media_files(archive))


def test_a_stamped_pdf_still_not_ready_is_left_for_the_next_sync(
        archive: Archive, site: GumroadFixture) -> None:
    guide = site.purchases[0].product.files[1]
    guide.stamped, guide.stamp_pending = True, 10  # past the 3 retries

    report = archive.sync("gumroad")

    assert any("still preparing this stamped PDF" in n.message for n in report.notices)
    assert "Guía de uso.pdf" not in {m.filename for m in reads.media_links(archive)}
    assert all(m.mime_type != "text/html" for m in reads.media_files(archive))

    guide.stamp_pending = 0
    again = archive.sync("gumroad")
    assert again.media_stored == 1
    assert "Guía de uso.pdf" in {m.filename for m in reads.media_links(archive)}


def test_a_file_whose_size_is_not_the_listed_one_is_refused(archive: Archive,
                                                            site: GumroadFixture) -> None:
    book = site.purchases[1].product.files[0]
    book.listed_size = len(book.data) + 500  # the page promises more than arrives

    report = archive.sync("gumroad")

    [note] = [n for n in report.notices if "Bocetos.pdf" in n.subject]
    assert f"lists {book.listed_size}" in note.message and "nothing stored" in note.message
    stored = {m.sha256 for m in reads.media_files(archive)}
    assert hashlib.sha256(book.data).hexdigest() not in stored

    book.listed_size = None
    again = archive.sync("gumroad")
    assert again.media_stored == 1


def test_a_stamped_pdf_may_differ_from_the_listed_size(archive: Archive,
                                                       site: GumroadFixture) -> None:
    guide = site.purchases[0].product.files[1]
    guide.stamped, guide.listed_size = True, len(guide.data) - 100

    report = archive.sync("gumroad")

    assert report.ok, report.errors
    assert report.media_stored == MEDIA


def test_the_session_expiring_midway_stops_the_sync_saying_log_in_again(
        archive: Archive, site: GumroadFixture) -> None:
    archive.sync("gumroad")
    site.expire_session()

    report = archive.sync("gumroad")

    assert not report.ok
    assert "log in" in report.errors[0].message
    assert site.app_session not in str(report.model_dump())
    assert reads.count(archive, "posts") == POSTS  # nothing archived is lost

"""Every way Patreon says no, and what the user reads then (see the README's table)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

import pytest

from alejandria.api import Archive
from alejandria.errors import SourceAuthError
from alejandria.models import MediaIn, PostIn
from alejandria.testing import reads
from alejandria_source_patreon.source import PatreonSource
from alejandria_source_patreon.testing import FakeCampaign, PatreonFixture

POSTS = 11


def test_429_waits_out_retry_after_then_completes(archive: Archive,
                                                  site: PatreonFixture) -> None:
    site.fail("/api/posts", 429, times=1, headers={"Retry-After": "1"})
    start = time.monotonic()

    report = archive.sync("patreon", "artista")

    assert report.ok, report.errors
    assert time.monotonic() - start >= 1.0
    assert reads.count(archive, "posts") == POSTS


def test_429_on_a_file_is_retried_too(archive: Archive, site: PatreonFixture) -> None:
    site.fail("/cdn/p/post/9012/", 429, times=2)  # no Retry-After: backoff with jitter

    report = archive.sync("patreon", "artista")

    assert report.ok, report.errors
    assert report.media_stored == 9


def test_a_retry_after_longer_than_we_wait_reports_the_rate_limit(archive: Archive,
                                                                  site: PatreonFixture) -> None:
    site.fail("/api/posts", 429, times=1, headers={"Retry-After": "7200"})

    report = archive.sync("patreon", "artista")

    assert not report.ok
    assert "rate limiting" in report.errors[0].message
    assert "7200 s" in report.errors[0].message


def test_server_errors_are_retried(archive: Archive, site: PatreonFixture) -> None:
    site.fail("/api/posts", 503, times=2)
    site.fail("/api/campaigns/", 500, times=1)

    report = archive.sync("patreon", "artista")

    assert report.ok, report.errors
    assert site.hits["/api/posts"] == 3 + 2


def test_a_server_that_keeps_failing_is_reported(archive: Archive, site: PatreonFixture) -> None:
    site.fail("/api/posts", 502, times=100)

    report = archive.sync("patreon", "artista", options={"max_retries": 2})

    assert not report.ok
    assert report.errors[0].message.startswith("Patreon keeps failing (HTTP 502)")
    assert site.hits["/api/posts"] == 3


def test_an_expired_cookie_says_log_in_again(archive: Archive, site: PatreonFixture) -> None:
    site.expire_session()

    report = archive.sync("patreon", "artista")

    assert not report.ok and report.targets == 0
    assert "log in to patreon.com" in report.errors[0].message
    assert "alejandria credentials set patreon" in report.errors[0].message
    assert reads.count(archive, "posts") == 0


def test_no_session_at_all_says_how_to_give_one(request: pytest.FixtureRequest,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALEJANDRIA_PATREON_SESSION_ID")
    archive: Archive = request.getfixturevalue("archive")  # settings are read when it opens

    report = archive.sync("patreon", "artista")

    assert "no Patreon session" in report.errors[0].message


def test_archived_posts_coming_back_locked_say_log_in_again(archive: Archive,
                                                            site: PatreonFixture) -> None:
    assert archive.sync("patreon", "artista").ok
    site.lock_everything = True  # current_user still answers, every post is locked

    report = archive.sync("patreon", "artista")

    assert not report.ok
    assert "came back locked" in report.errors[0].message
    assert "log in to patreon.com" in report.errors[0].message
    assert reads.count(archive, "posts") == POSTS  # nothing lost


def test_a_cloudflare_challenge_says_what_to_do(archive: Archive, site: PatreonFixture) -> None:
    site.cloudflare()

    report = archive.sync("patreon", "artista")

    message = report.errors[0].message
    assert "Cloudflare challenge (HTTP 403)" in message
    assert "requests_per_second" in message and "user_agent" in message


def test_an_outdated_client_says_to_update(archive: Archive, site: PatreonFixture) -> None:
    site.outdated_client()

    report = archive.sync("patreon", "artista")

    message = report.errors[0].message
    assert "outdated (HTTP 426" in message and "-o user_agent=" in message


def test_an_expired_next_page_link_restarts_the_listing(archive: Archive,
                                                        site: PatreonFixture) -> None:
    site.expire_cursors_after(1)  # the link handed out with page 1 fails when followed

    report = archive.sync("patreon", "artista")

    assert report.ok, report.errors
    assert reads.count(archive, "posts") == POSTS
    assert site.hits["/api/posts"] == 3 + 2  # page 1, expired page 2, then a fresh walk


def test_an_expired_file_signature_is_renewed_from_the_post(
        make_source: Callable[..., PatreonSource], site: PatreonFixture) -> None:
    source = make_source()
    source.authenticate()
    (target,) = source.resolve(["artista"])
    posts = [item for item in source.fetch(target, None) if isinstance(item, PostIn)]
    media: MediaIn = next(m for p in posts if p.external_id == "9010" for m in p.media)
    site.expire_signatures()

    with source.open_media(media) as stream:
        data = stream.read()

    assert data == site.campaigns["5001"].posts[9].images[0].data
    assert site.hits["/api/posts/9010"] == 1


def test_the_cookie_never_shows_in_logs_or_messages(archive: Archive, site: PatreonFixture,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    site.fail("/api/posts", 503, times=1)
    archive.sync("patreon", "artista")
    site.expire_session()

    report = archive.sync("patreon", "artista")

    assert site.session_id not in caplog.text
    assert all(site.session_id not in e.message for e in report.errors)
    assert site.session_id not in repr(report)


def test_an_expired_cookie_raises_the_auth_error_from_authenticate(
        make_source: Callable[..., PatreonSource], site: PatreonFixture) -> None:
    site.expire_session()
    with pytest.raises(SourceAuthError) as caught:
        make_source().authenticate()
    assert site.session_id not in str(caught.value)


def _files_of_first_post(campaign: FakeCampaign) -> set[str]:
    return {hashlib.sha256(item.data).hexdigest() for item in campaign.posts[0].files()}


def _stored(archive: Archive) -> set[str]:
    return {stored.sha256 for stored in reads.media_files(archive)}


@pytest.mark.parametrize("honor_range", [True, False], ids=["range", "no-range"])
def test_a_download_cut_off_midway_goes_on_from_where_it_stopped(
        archive: Archive, site: PatreonFixture, campaign: FakeCampaign,
        honor_range: bool) -> None:
    site.honor_range = honor_range  # without Range the whole file comes again, its start skipped
    site.cut_off("/cdn/p/post/9001/", times=2)

    report = archive.sync("patreon", "artista")

    assert report.ok, report.errors
    assert report.media_stored == 9
    asked = [headers.get("Range") for path, headers in site.requests
             if path.startswith("/cdn/p/post/9001/")]
    resumed = [value for value in asked if value]
    assert len(resumed) == 2 and all(value != "bytes=0-" for value in resumed)
    assert _files_of_first_post(campaign) <= _stored(archive)
    assert all(archive.media.verify(sha256) for sha256 in _stored(archive))


def test_a_download_that_keeps_breaking_off_is_noted_and_the_next_sync_fetches_it(
        archive: Archive, site: PatreonFixture, campaign: FakeCampaign) -> None:
    site.cut_off("/cdn/p/post/9001/", times=1000)

    failed = archive.sync("patreon", "artista")

    # one file that cannot be fetched costs neither its post nor the rest of the creator
    assert failed.ok, failed.errors
    assert any("broke off" in note.message and "next sync fetches it again" in note.message
               for note in failed.notices)
    assert not _files_of_first_post(campaign) & _stored(archive)  # nothing half-stored
    site.cut_offs.clear()

    # 9001 is on the listing's last page: the daily walk stops before it, a full walk finds
    # it marked incomplete and writes it again with its files
    again = archive.sync("patreon", "artista", options={"full_every_days": 0})

    assert again.ok, again.errors
    assert _files_of_first_post(campaign) <= _stored(archive)
    assert reads.count(archive, "media_files") == 9
    assert all(archive.media.verify(sha256) for sha256 in _stored(archive))

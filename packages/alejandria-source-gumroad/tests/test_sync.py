"""A whole Gumroad sync against the local Gumroad: source, pipeline and Postgres for real,
once per library format (the ``site`` fixture is parametrised: React and Inertia)."""

from __future__ import annotations

import hashlib

import pytest

from alejandria.api import Archive
from alejandria.testing import reads
from alejandria_source_gumroad.testing import GumroadFixture

#: demo_library: 3 purchases archived (one more is archived by the user): 3 descriptions, a
#: content page and an update post; 5 product files and a cover.
PRODUCTS, POSTS, FILES, MEDIA = 3, 5, 5, 6


def test_the_whole_library_is_archived_with_its_files(archive: Archive,
                                                      site: GumroadFixture) -> None:
    report = archive.sync("gumroad")

    assert report.ok, report.errors
    assert (report.posts_written, report.media_stored) == (POSTS, MEDIA)
    assert {(c.external_id, c.name) for c in reads.creators(archive)} == {
        ("sel_ana", "Ana Pinta"), ("sel_beto", "Beto Sound")}
    assert {c.external_id for c in reads.collections(archive)} == {
        "prd_brushes", "prd_book", "prd_sounds"}
    assert {p.external_id for p in reads.posts(archive)} == {
        "prd_brushes:description", "prd_book:description", "prd_sounds:description",
        "prd_brushes:page:pag_instalar", "update:upd_tormenta"}


def test_both_library_formats_archive_the_same_rows(archive: Archive,
                                                    site: GumroadFixture) -> None:
    """Each parametrised run (React, Inertia) must meet this one expectation."""
    archive.sync("gumroad")

    rows = sorted((link.post, link.filename, link.role, link.size)
                  for link in reads.media_links(archive))
    assert rows == [
        ("prd_book:description", "Bocetos.pdf", "attachment", 2026),
        ("prd_brushes:description", "Guía de uso.pdf", "attachment", 2023),
        ("prd_brushes:description", "prd_brushes.png", "cover", 1200),
        # embedded in the content page: that page's file (once, not the description's too)
        ("prd_brushes:page:pag_instalar", "Pinceles.brushset", "attachment", 5000),
        ("prd_sounds:description", "Lluvia 1.mp3", "attachment", 3000),
        ("prd_sounds:description", "Lluvia 2.mp3", "attachment", 3000),
    ]
    creators = {c.external_id: (c.name, c.url) for c in reads.creators(archive)}
    assert creators["sel_ana"] == ("Ana Pinta", "https://anapinta.gumroad.com")


def test_files_land_in_the_store_with_their_bytes_names_sizes_and_folders(
        archive: Archive, site: GumroadFixture) -> None:
    archive.sync("gumroad")

    served = {f.id: f for p in site.purchases for f in p.product.files}
    stored = {m.sha256 for m in reads.media_files(archive)}
    for purchase in site.purchases[:3]:
        for item in purchase.product.files:
            assert hashlib.sha256(item.data).hexdigest() in stored
    files = {f["name"]: f for f in reads.post(archive, "prd_brushes:description")
             .metadata["files"]}
    assert files["Guía de uso"] == {"file_id": "ZmlsZTI=", "name": "Guía de uso",
                                    "extension": "PDF", "size": len(served["ZmlsZTI="].data),
                                    "folder": "Extras"}
    [page_file] = reads.post(archive, "prd_brushes:page:pag_instalar").metadata["files"]
    assert page_file["name"] == "Pinceles" and page_file["folder"] is None


def test_the_description_is_made_safe_and_searchable(archive: Archive) -> None:
    archive.sync("gumroad")

    post = reads.post(archive, "prd_brushes:description")
    assert post.content_html is not None and "<strong>acuarela</strong>" in post.content_html
    assert "<script" not in post.content_html and "alert" not in post.content_html
    assert "Treinta pinceles de acuarela" in post.content_text
    hits = archive.search("pinceles acuarela", mode="fulltext")
    assert [hit.title for hit in hits] == ["Pinceles de acuarela"]


def test_a_rerun_makes_no_file_requests(archive: Archive, site: GumroadFixture) -> None:
    archive.sync("gumroad")
    site.reset_counts()

    again = archive.sync("gumroad")

    assert again.ok, again.errors
    assert (again.posts_written, again.media_stored) == (0, 0)
    assert site.file_requests == 0


def test_the_signed_url_host_never_sees_a_cookie(archive: Archive,
                                                 site: GumroadFixture) -> None:
    archive.sync("gumroad")

    assert len(site.files.requests) == MEDIA  # the files and the cover
    for request in site.files.requests + site.sellers.requests:
        assert not any(name.lower() == "cookie" for name in request.headers)
    assert len(site.sellers.requests) == 1  # the update post's page
    links = [r for r in site.requests if r.path.startswith("/r/")]
    assert len(links) == FILES
    assert all(site.app_session in r.headers.get("Cookie", "") for r in links)


def test_one_sellers_purchases_only(archive: Archive) -> None:
    report = archive.sync("gumroad", "betosound")

    assert report.ok, report.errors
    assert {p.external_id for p in reads.posts(archive)} == {"prd_sounds:description",
                                                             "update:upd_tormenta"}


def test_an_expired_session_is_a_clear_error_and_nothing_is_archived(
        archive: Archive, site: GumroadFixture) -> None:
    site.expire_session()

    report = archive.sync("gumroad")

    assert not report.ok
    [error] = report.errors
    assert "log in" in error.message and "alejandria credentials set gumroad" in error.message
    assert site.app_session not in error.message
    assert reads.table_counts(archive, "posts", "creators", "media_files") == {
        "posts": 0, "creators": 0, "media_files": 0}


@pytest.mark.parametrize("site", ["unknown"], indirect=True)
def test_an_unknown_page_format_is_a_clear_error_not_an_empty_archive(
        archive: Archive) -> None:
    report = archive.sync("gumroad")

    assert not report.ok
    [error] = report.errors
    assert "format this version cannot read" in error.message
    assert reads.count(archive, "posts") == 0


@pytest.mark.parametrize("site", ["inertia"], indirect=True)
def test_later_inertia_pages_are_asked_for_as_json(archive: Archive,
                                                   site: GumroadFixture) -> None:
    archive.sync("gumroad")

    library = [r for r in site.requests if r.path == "/library"]
    assert [(r.target, r.headers.get("X-Inertia")) for r in library] == [
        ("/library", None), ("/library?page=2", "true")]

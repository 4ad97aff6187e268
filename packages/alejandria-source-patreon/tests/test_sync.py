"""A whole Patreon sync against the local Patreon: source, pipeline and Postgres for real."""

from __future__ import annotations

from datetime import timedelta

from alejandria.api import Archive
from alejandria_source_patreon.testing import (
    EPOCH,
    FakeFile,
    FakePost,
    PatreonFixture,
    demo_campaign,
    image_bytes,
)

from .conftest import rows, scalar

#: demo_campaign: 12 posts, one locked for the patron's tier.
POSTS = 11
#: 2 gallery images (the post file repeats the first), a PDF, a legacy zip, an mp3, an inline
#: image and one image in each of the 3 plain posts.
FILES = 9


def test_first_sync_archives_every_post_and_file_once(archive: Archive,
                                                      site: PatreonFixture) -> None:
    report = archive.sync("patreon", "artista")

    assert report.ok, report.errors
    assert (report.posts_written, report.media_stored) == (POSTS, FILES)
    assert scalar(archive, "SELECT count(*) FROM posts") == POSTS
    assert scalar(archive, "SELECT count(*) FROM media_files") == FILES
    assert scalar(archive, "SELECT count(*) FROM post_media") == FILES
    assert len(list((archive.media.root).glob("??/??/*"))) == FILES
    # every file fetched once, the post file that repeats the first image not at all
    cdn = {path: n for path, n in site.hits.items() if path.startswith("/cdn/p/post/")}
    assert len(cdn) == FILES and set(cdn.values()) == {1}
    assert site.hits["/file"] == 1  # the legacy attachment link, redirected to the CDN
    gallery = rows(archive, "SELECT pm.role, pm.filename FROM post_media pm JOIN posts p "
                            "ON p.id = pm.post_id WHERE p.external_id = '9001' "
                            "ORDER BY pm.position")
    assert [tuple(row) for row in gallery] == [("image", "imagen-1.jpg"),
                                               ("image", "imagen-2.png")]
    assert any("locked for your tier" in n.message for n in report.notices)
    assert scalar(archive, "SELECT count(*) FROM posts WHERE external_id = '9008'") == 0


def test_each_kind_of_file_is_linked_with_its_role(archive: Archive) -> None:
    archive.sync("patreon", "artista")

    found = {(row.external_id, row.role, row.filename) for row in rows(
        archive, "SELECT p.external_id, pm.role, pm.filename FROM post_media pm "
                 "JOIN posts p ON p.id = pm.post_id")}
    assert {("9003", "attachment", "guia.pdf"), ("9003", "attachment", "pinceles.zip"),
            ("9004", "audio", "episodio1.mp3"), ("9007", "inline", "1.jpg")} <= found
    kinds = dict(rows(archive, "SELECT mime_type, count(*) FROM media_files GROUP BY 1"))
    assert kinds["application/pdf"] == 1 and kinds["audio/mpeg"] == 1


def test_text_comes_from_html_or_tiptap_and_is_made_safe(archive: Archive) -> None:
    archive.sync("patreon", "artista")

    posts = {row.external_id: row for row in rows(
        archive, "SELECT external_id, title, content_text, content_html FROM posts")}
    gallery, tiptap = posts["9001"], posts["9002"]
    assert gallery.content_text == "Bocetos de la semana con acuarela."
    assert "<script" not in gallery.content_html and "alert" not in gallery.content_html
    assert "Notas de la semana" in tiptap.content_text
    assert "ejercicios de perspectiva" in tiptap.content_text
    assert "primer punto" in tiptap.content_text
    assert "<h2>Notas de la semana</h2>" in tiptap.content_html
    assert "<strong>negrita</strong>" in tiptap.content_html
    assert 'href="https://example.org/x"' in tiptap.content_html
    hits = archive.search("perspectiva", mode="fulltext")
    assert [hit.title for hit in hits] == ["Notas solo en TipTap"]


def test_tiers_tags_collections_and_dates(archive: Archive) -> None:
    archive.sync("patreon", "artista")

    gallery = rows(archive, "SELECT tags, metadata, published_at FROM posts "
                            "WHERE external_id = '9001'")[0]
    assert gallery.tags == ["bocetos", "acuarela"]
    assert [tier["title"] for tier in gallery.metadata["tiers"]] == ["Bronce", "Oro"]
    assert gallery.metadata["post_type"] == "image_file"
    assert gallery.published_at == EPOCH
    public = rows(archive, "SELECT metadata FROM posts WHERE external_id = '9009'")[0]
    assert public.metadata["access"] == ["public"] and public.metadata["comment_count"] == 2
    members = rows(archive, "SELECT p.external_id FROM post_collections pc "
                            "JOIN posts p ON p.id = pc.post_id JOIN collections c "
                            "ON c.id = pc.collection_id WHERE c.title = 'Serie de cuadernos' "
                            "ORDER BY 1")
    assert [row.external_id for row in members] == ["9001", "9003"]
    creator = rows(archive, "SELECT name, metadata FROM creators")[0]
    assert creator.name == "Artista de Prueba"
    assert [t["title"] for t in creator.metadata["tiers"]] == ["Bronce", "Oro"]


def test_videos_are_handed_to_the_video_downloader(archive: Archive,
                                                   site: PatreonFixture) -> None:
    archive.sync("patreon", "artista")

    embeds = {row.key: row for row in rows(archive, "SELECT key, url, referer FROM media_embeds")}
    assert set(embeds) == {"youtube:dQw4w9WgXcQ", "patreon:video:9005"}
    assert embeds["youtube:dQw4w9WgXcQ"].url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    hls = embeds["patreon:video:9005"]
    assert hls.url.split("?")[0].endswith("/index.m3u8")
    assert hls.referer == site.base_url + "/"
    assert not any(path.startswith("/cdn/hls/") for path in site.hits)  # not streamed by us


def test_media_probes_read_the_served_images(alejandria_database_url: str, plugin_manager,
                                             tmp_path) -> None:
    from alejandria.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", database_url=alejandria_database_url,
                        download_embeds=False)
    with Archive.open(settings=settings, plugins=plugin_manager, migrate=False) as archive:
        archive.sync("patreon", "artista")
        sizes = rows(archive, "SELECT width, height FROM media_files WHERE kind = 'image'")
    assert len(sizes) == 6 and {(row.width, row.height) for row in sizes} == {(32, 32)}


def test_second_sync_fetches_no_file_and_writes_nothing(archive: Archive,
                                                        site: PatreonFixture) -> None:
    archive.sync("patreon", "artista")
    before = rows(archive, "SELECT id, content_hash, updated_at FROM posts ORDER BY id")
    cursor = rows(archive, "SELECT cursor, updated_at FROM sync_cursors")
    site.reset_counts()

    second = archive.sync("patreon", "artista")

    assert second.ok, second.errors
    assert second.writes == 0 and second.posts_written == 0
    assert site.media_requests == 0
    assert site.hits["/api/posts"] == 1  # the first page holds known posts: the walk stops
    assert rows(archive, "SELECT id, content_hash, updated_at FROM posts ORDER BY id") == before
    assert rows(archive, "SELECT cursor, updated_at FROM sync_cursors") == cursor


def test_new_posts_are_archived_by_the_daily_sync(archive: Archive, site: PatreonFixture) -> None:
    archive.sync("patreon", "artista")
    campaign = site.campaigns["5001"]
    campaign.posts.append(FakePost("9100", "Novedad", EPOCH + timedelta(days=30),
                                   content="<p>Recién salido.</p>",
                                   images=[FakeFile("nueva.png", image_bytes(77, "PNG"),
                                                    "image/png")]))
    site.reset_counts()

    report = archive.sync("patreon", "artista")

    assert (report.posts_written, report.media_stored) == (1, 1)
    assert site.media_requests == 1 and site.hits["/api/posts"] == 1
    assert scalar(archive, "SELECT count(*) FROM posts") == POSTS + 1


def test_an_edited_post_is_reimported_and_its_previous_version_kept(
        archive: Archive, site: PatreonFixture) -> None:
    archive.sync("patreon", "artista")
    post = next(p for p in site.campaigns["5001"].posts if p.id == "9012")
    post.content = "<p>Texto corregido de la entrada.</p>"
    post.edited_at = EPOCH + timedelta(days=40)
    site.reset_counts()

    report = archive.sync("patreon", "artista")

    assert report.posts_written == 1 and report.media_stored == 0
    assert site.media_requests == 0
    current = rows(archive, "SELECT id, content_text, edited_at FROM posts "
                            "WHERE external_id = '9012'")[0]
    assert current.content_text == "Texto corregido de la entrada."
    assert current.edited_at == post.edited_at
    versions = rows(archive, "SELECT content_text, edited_at FROM post_versions "
                             "WHERE post_id = :id", id=current.id)
    assert [(v.content_text, v.edited_at) for v in versions] == [
        ("Texto de la entrada 12.", None)]


def test_a_full_walk_finds_edits_to_old_posts(archive: Archive, site: PatreonFixture) -> None:
    archive.sync("patreon", "artista")
    oldest = next(p for p in site.campaigns["5001"].posts if p.id == "9001")
    oldest.title = "Galería de bocetos (revisada)"
    oldest.edited_at = EPOCH + timedelta(days=50)

    daily = archive.sync("patreon", "artista")
    full = archive.sync("patreon", "artista", options={"full_every_days": 0})

    assert daily.posts_written == 0  # beyond the first page: left for the full walk
    assert full.posts_written == 1 and full.media_stored == 0
    assert scalar(archive, "SELECT title FROM posts WHERE external_id = '9001'") == \
        "Galería de bocetos (revisada)"
    assert scalar(archive, "SELECT count(*) FROM post_versions") == 1


def test_a_file_that_fails_is_noted_and_only_it_is_fetched_next_time(archive: Archive,
                                                                     site: PatreonFixture) -> None:
    post = next(p for p in site.campaigns["5001"].posts if p.id == "9010")
    site.fail(f"/cdn/p/post/9010/{post.images[0].hash}", 404)

    first = archive.sync("patreon", "artista", options={"checkpoint_every": 2})

    # one missing file costs neither its post nor the rest of the creator
    assert first.ok, first.errors
    assert any("not found" in n.message and "retried on the next sync" in n.message
               for n in first.notices)
    assert scalar(archive, "SELECT count(*) FROM posts") == POSTS
    assert scalar(archive, "SELECT count(*) FROM media_files") == FILES - 1
    site.reset_counts()
    second = archive.sync("patreon", "artista", options={"checkpoint_every": 2})

    assert second.ok, second.errors
    assert scalar(archive, "SELECT count(*) FROM posts") == POSTS
    assert scalar(archive, "SELECT count(*) FROM media_files") == FILES
    assert scalar(archive, "SELECT count(*) FROM post_media") == FILES
    assert site.media_requests == 1  # stored files are not fetched again


def test_dry_run_lists_what_would_be_archived_and_writes_nothing(
        archive: Archive, site: PatreonFixture) -> None:
    report = archive.sync("patreon", "artista", options={"dry_run": True}, remember=False)

    assert report.ok and report.writes == 0
    assert scalar(archive, "SELECT count(*) FROM posts") == 0
    assert scalar(archive, "SELECT count(*) FROM sync_cursors") == 0
    assert site.media_requests == 0
    messages = [n.message for n in report.notices]
    assert messages[0].startswith(f"dry run: would archive {POSTS} new or edited post(s)")
    assert any("'Notas solo en TipTap'" in m for m in messages)


def test_filters_by_date_type_and_tier(archive: Archive) -> None:
    by_date = archive.sync("patreon", "artista",
                           options={"since": "2024-01-02", "until": "2024-01-04"})
    assert by_date.posts_written == 3  # 9002, 9003, 9004
    by_type = archive.sync("patreon", "artista", options={"types": "audio_file,video_embed"})
    assert by_type.posts_written == 1  # 9006; 9004 is stored already, nothing is rewritten
    by_tier = archive.sync("patreon", "artista", options={"tiers": "Oro"})
    assert {row.external_id for row in rows(archive, "SELECT external_id FROM posts")} == {
        "9001", "9002", "9003", "9004", "9006"}
    assert by_tier.posts_written == 1  # 9002 only (9001 is stored already)
    scopes = [row.scope for row in rows(archive, "SELECT scope FROM sync_cursors ORDER BY 1")]
    assert len(scopes) == 3 and all(scope.startswith("campaign:5001?") for scope in scopes)


def test_supported_syncs_every_creator_the_user_pays(archive: Archive,
                                                     site: PatreonFixture) -> None:
    other = site.add_campaign(demo_campaign(campaign_id="6001", vanity="otra", posts=3))
    other.name = "Otra Creadora"
    lapsed = site.add_campaign(demo_campaign(campaign_id="7001", vanity="antigua", posts=2))
    lapsed.patron_status = "former_patron"

    report = archive.sync("patreon", "supported")

    assert report.ok, report.errors
    assert report.targets == 2
    names = [row.name for row in rows(archive, "SELECT name FROM creators ORDER BY name")]
    assert names == ["Artista de Prueba", "Otra Creadora"]


def test_a_collection_url_syncs_its_posts(archive: Archive, site: PatreonFixture) -> None:
    report = archive.sync("patreon", f"{site.base_url}/collection/801")

    assert report.ok, report.errors
    assert {row.external_id for row in rows(archive, "SELECT external_id FROM posts")} == {
        "9001", "9003"}
    assert scalar(archive, "SELECT title FROM collections") == "Serie de cuadernos"


def test_comments_are_kept_when_asked_for(archive: Archive) -> None:
    archive.sync("patreon", "artista", options={"comments": True})

    metadata = scalar(archive, "SELECT metadata FROM posts WHERE external_id = '9009'")
    assert [c["body"] for c in metadata["comments"]] == ["¡Gracias!", "Genial"]


def test_files_are_also_fetched_one_at_a_time_when_asked(archive: Archive,
                                                         site: PatreonFixture) -> None:
    report = archive.sync("patreon", "artista", options={"media_workers": 0})

    assert (report.posts_written, report.media_stored) == (POSTS, FILES)
    assert site.media_requests == FILES + 1  # + the legacy link's redirect

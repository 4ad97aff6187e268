"""A whole Patreon sync against the local Patreon: source, pipeline and Postgres for real."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from alejandria.api import Archive
from alejandria.testing import reads
from alejandria_source_patreon.testing import (
    EPOCH,
    FakeFile,
    FakePost,
    PatreonFixture,
    demo_campaign,
    image_bytes,
)

if TYPE_CHECKING:
    from alejandria.sync.pipeline import ProgressEvent

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
    assert reads.table_counts(archive, "posts", "media_files", "post_media") == {
        "posts": POSTS, "media_files": FILES, "post_media": FILES}
    assert len(list((archive.media.root).glob("??/??/*"))) == FILES
    # every file fetched once, the post file that repeats the first image not at all
    cdn = {path: n for path, n in site.hits.items() if path.startswith("/cdn/p/post/")}
    assert len(cdn) == FILES and set(cdn.values()) == {1}
    assert site.hits["/file"] == 1  # the legacy attachment link, redirected to the CDN
    gallery = reads.media_links(archive, "9001")
    assert [(link.role, link.filename) for link in gallery] == [("image", "imagen-1.jpg"),
                                                                ("image", "imagen-2.png")]
    assert any("locked for your tier" in n.message for n in report.notices)
    assert "9008" not in {post.external_id for post in reads.posts(archive)}


def test_each_kind_of_file_is_linked_with_its_role(archive: Archive) -> None:
    archive.sync("patreon", "artista")

    found = {(link.post, link.role, link.filename) for link in reads.media_links(archive)}
    assert {("9003", "attachment", "guia.pdf"), ("9003", "attachment", "pinceles.zip"),
            ("9004", "audio", "episodio1.mp3"), ("9007", "inline", "1.jpg")} <= found
    kinds = Counter(stored.mime_type for stored in reads.media_files(archive))
    assert kinds["application/pdf"] == 1 and kinds["audio/mpeg"] == 1


def test_text_comes_from_html_or_tiptap_and_is_made_safe(archive: Archive) -> None:
    archive.sync("patreon", "artista")

    posts = {post.external_id: post for post in reads.posts(archive)}
    gallery, tiptap = posts["9001"], posts["9002"]
    assert gallery.content_text == "Bocetos de la semana con acuarela."
    assert gallery.content_html is not None and tiptap.content_html is not None
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

    gallery = reads.post(archive, "9001")
    assert gallery.tags == ("bocetos", "acuarela")
    assert [tier["title"] for tier in gallery.metadata["tiers"]] == ["Bronce", "Oro"]
    assert gallery.metadata["post_type"] == "image_file"
    assert gallery.published_at == EPOCH
    public = reads.post(archive, "9009")
    assert public.metadata["access"] == ["public"] and public.metadata["comment_count"] == 2
    (series,) = [c for c in reads.collections(archive) if c.title == "Serie de cuadernos"]
    assert sorted(series.posts) == ["9001", "9003"]
    creator = reads.creators(archive)[0]
    assert creator.name == "Artista de Prueba"
    assert [t["title"] for t in creator.metadata["tiers"]] == ["Bronce", "Oro"]


def test_videos_are_handed_to_the_video_downloader(archive: Archive,
                                                   site: PatreonFixture) -> None:
    archive.sync("patreon", "artista")

    embeds = {embed.key: embed for embed in reads.embeds(archive)}
    assert set(embeds) == {"youtube:dQw4w9WgXcQ", "patreon:video:9005"}
    assert embeds["youtube:dQw4w9WgXcQ"].url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    hls = embeds["patreon:video:9005"]
    assert hls.url.split("?")[0].endswith("/index.m3u8")
    assert hls.referer == site.base_url + "/"
    assert not any(path.startswith("/cdn/hls/") for path in site.hits)  # not streamed by us


def test_media_probes_read_the_served_images(open_archive: Callable[..., Archive]) -> None:
    archive = open_archive(process_media=True)

    archive.sync("patreon", "artista")

    images = reads.media_files(archive, kind="image")
    assert len(images) == 6 and {(image.width, image.height) for image in images} == {(32, 32)}


def test_second_sync_fetches_no_file_and_writes_nothing(archive: Archive,
                                                        site: PatreonFixture) -> None:
    archive.sync("patreon", "artista")
    before = reads.posts(archive)
    cursors = reads.sync_cursors(archive)
    site.reset_counts()

    second = archive.sync("patreon", "artista")

    assert second.ok, second.errors
    assert second.writes == 0 and second.posts_written == 0
    assert site.media_requests == 0
    assert site.hits["/api/posts"] == 1  # the first page holds known posts: the walk stops
    assert reads.posts(archive) == before
    assert reads.sync_cursors(archive) == cursors


def test_the_sync_counts_each_creators_posts_against_the_listing(
        archive: Archive, site: PatreonFixture) -> None:
    events: list[ProgressEvent] = []
    archive.sync("patreon", "artista", progress=events.append)
    again: list[ProgressEvent] = []
    archive.sync("patreon", "artista", progress=again.append)

    first = [(event.posts, event.posts_expected) for event in events if event.stage == "posts"]
    assert first[0] == (0, POSTS) and first[-1] == (POSTS, POSTS)  # the locked one left out
    # the next sync reads only the first page: its posts, all checked unchanged
    second = [(event.posts, event.posts_expected) for event in again if event.stage == "posts"]
    read = second[0][1]
    assert read is not None and 0 < read < POSTS and second[-1] == (read, read)


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
    assert reads.count(archive, "posts") == POSTS + 1


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
    current = reads.post(archive, "9012")
    assert current.content_text == "Texto corregido de la entrada."
    assert current.edited_at == post.edited_at
    versions = reads.post_versions(archive, "9012")
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
    assert reads.post(archive, "9001").title == "Galería de bocetos (revisada)"
    assert reads.count(archive, "post_versions") == 1


def test_a_file_that_fails_is_noted_and_only_it_is_fetched_next_time(archive: Archive,
                                                                     site: PatreonFixture) -> None:
    post = next(p for p in site.campaigns["5001"].posts if p.id == "9010")
    site.fail(f"/cdn/p/post/9010/{post.images[0].hash}", 404)

    first = archive.sync("patreon", "artista", options={"checkpoint_every": 2})

    # one missing file costs neither its post nor the rest of the creator
    assert first.ok, first.errors
    assert any("not found" in n.message and "retried on the next sync" in n.message
               for n in first.notices)
    assert reads.table_counts(archive, "posts", "media_files") == {
        "posts": POSTS, "media_files": FILES - 1}
    site.reset_counts()
    second = archive.sync("patreon", "artista", options={"checkpoint_every": 2})

    assert second.ok, second.errors
    assert reads.table_counts(archive, "posts", "media_files", "post_media") == {
        "posts": POSTS, "media_files": FILES, "post_media": FILES}
    assert site.media_requests == 1  # stored files are not fetched again


def test_dry_run_lists_what_would_be_archived_and_writes_nothing(
        archive: Archive, site: PatreonFixture) -> None:
    report = archive.sync("patreon", "artista", options={"dry_run": True}, remember=False)

    assert report.ok and report.writes == 0
    assert reads.table_counts(archive, "posts", "sync_cursors") == {
        "posts": 0, "sync_cursors": 0}
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
    assert {post.external_id for post in reads.posts(archive)} == {
        "9001", "9002", "9003", "9004", "9006"}
    assert by_tier.posts_written == 1  # 9002 only (9001 is stored already)
    scopes = [cursor.scope for cursor in reads.sync_cursors(archive)]
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
    names = sorted(creator.name for creator in reads.creators(archive))
    assert names == ["Artista de Prueba", "Otra Creadora"]


def test_a_collection_url_syncs_its_posts(archive: Archive, site: PatreonFixture) -> None:
    report = archive.sync("patreon", f"{site.base_url}/collection/801")

    assert report.ok, report.errors
    assert {post.external_id for post in reads.posts(archive)} == {"9001", "9003"}
    (collection,) = reads.collections(archive)
    assert collection.title == "Serie de cuadernos"


def test_comments_are_kept_when_asked_for(archive: Archive) -> None:
    archive.sync("patreon", "artista", options={"comments": True})

    metadata = reads.post(archive, "9009").metadata
    assert [c["body"] for c in metadata["comments"]] == ["¡Gracias!", "Genial"]


def test_files_are_also_fetched_one_at_a_time_when_asked(archive: Archive,
                                                         site: PatreonFixture) -> None:
    report = archive.sync("patreon", "artista", options={"media_workers": 0})

    assert (report.posts_written, report.media_stored) == (POSTS, FILES)
    assert site.media_requests == FILES + 1  # + the legacy link's redirect

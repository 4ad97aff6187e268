"""An imported Patreon post is the patreon source's post: a later ``sync patreon`` (the real
source, against the local Patreon) updates it in place instead of adding a copy, and knows
its files without downloading them again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alejandria.api import Archive
from alejandria.imports.service import run_import
from alejandria.testing import reads

from .import_trees import CDN, HASH_A, png, write_json

patreon_testing = pytest.importorskip("alejandria_source_patreon.testing")


@pytest.fixture
def alejandria_settings_overrides() -> dict[str, Any]:
    return {"process_media": False, "download_embeds": False}


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A local Patreon with campaign 5001 and its post 9001 (one image, CDN hash HASH_A)."""
    image = patreon_testing.FakeFile("imagen-1.png", png(1), "image/png", hash=HASH_A)
    post = patreon_testing.FakePost("9001", "Bocetos (editado)", patreon_testing.EPOCH,
                                    content="<p>Texto nuevo.</p>", post_type="image_file",
                                    images=[image], access=["public"])
    campaign = patreon_testing.FakeCampaign(id="5001", vanity="artista", name="Artista",
                                            posts=[post])
    with patreon_testing.PatreonFixture() as fixture:
        fixture.add_campaign(campaign)
        for name, value in {"BASE_URL": fixture.base_url, "SESSION_ID": fixture.session_id,
                            "REQUESTS_PER_SECOND": "0", "BACKOFF_S": "0.01"}.items():
            monkeypatch.setenv(f"ALEJANDRIA_PATREON_{name}", value)
        yield fixture


def legacy_input(root: Path) -> tuple[list[str], dict[str, Any]]:
    (root / "media").mkdir(parents=True)
    (root / "media" / "a.png").write_bytes(png(1))
    write_json(root / "creators.json", [{"id": "5001", "name": "Artista",
                                         "url": "https://www.patreon.com/artista"}])
    posts = write_json(root / "5001_posts_detailed.json", [{
        "post_id": "9001", "title": "Bocetos", "content": "<p>Texto viejo.</p>",
        "published_at": "2024-01-01T12:00:00Z",
        "media": [{"local_path": "media/a.png", "url": CDN.format(post=9001, hash=HASH_A)}]}])
    return [str(posts)], {"creators": str(root / "creators.json"), "media_root": str(root)}


def gallery_dl_input(root: Path) -> tuple[list[str], dict[str, Any]]:
    folder = root / "gallery-dl" / "patreon" / "Artista"
    folder.mkdir(parents=True)
    (folder / "9001_Bocetos_01.png").write_bytes(png(1))
    write_json(folder / "9001_Bocetos_01.png.json", {
        "id": 9001, "title": "Bocetos", "content": "<p>Texto viejo.</p>",
        "published_at": "2024-01-01T12:00:00.000+00:00", "category": "patreon",
        "campaign": {"name": "Artista", "avatar_photo_url": "https://c10.patreonusercontent.com"
                     "/4/patreon-media/p/campaign/5001/0123456789abcdef0123456789abcdef/1.png"},
        "creator": {"id": "77", "full_name": "Artista"},
        "num": 1, "hash": HASH_A, "type": "image", "filename": "imagen-1", "extension": "png"})
    return [str(root / "gallery-dl")], {}


@pytest.mark.parametrize(("importer", "make_input"), [("legacy", legacy_input),
                                                      ("gallery-dl", gallery_dl_input)])
def test_a_later_patreon_sync_updates_the_imported_post(
        importer: str, make_input: Callable[[Path], tuple[list[str], dict[str, Any]]],
        site: Any, open_archive: Callable[..., Archive], tmp_path: Path) -> None:
    archive = open_archive()  # after the site's settings are in the environment
    targets, options = make_input(tmp_path / "input")
    imported = run_import(archive.context, importer, targets, options=options)
    assert imported.ok, imported.lines()
    before = reads.post(archive, "9001", source="patreon")

    report = archive.sync("patreon", "artista")

    assert report.ok, report.errors
    [after] = reads.posts(archive, source="patreon")
    assert (after.id, after.external_id, after.creator) == (before.id, "9001", "5001")
    assert (before.title, after.title) == ("Bocetos", "Bocetos (editado)")
    assert after.content_text == "Texto nuevo."
    assert [creator.external_id for creator in reads.creators(archive)] == ["5001"]
    # the file was imported under the key the patreon source gives it: not downloaded again
    assert [link.key for link in reads.media_links(archive, "9001")] == [f"patreon:{HASH_A}"]
    assert not [path for path in site.hits if HASH_A in path]
    assert reads.count(archive, "media_files") == 1

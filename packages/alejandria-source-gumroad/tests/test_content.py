"""What a purchase holds besides its files: the description, rich-content pages (TipTap) and
update posts, made safe and searchable; the product's cover; pictures inside a page."""

from __future__ import annotations

import hashlib

from alejandria.api import Archive
from alejandria.testing import reads
from alejandria_source_gumroad.download import ProductFile
from alejandria_source_gumroad.rich_pages import render_page
from alejandria_source_gumroad.testing import GumroadFixture, file_bytes


def test_a_content_page_becomes_a_post_with_its_embedded_file(archive: Archive) -> None:
    archive.sync("gumroad")

    page = reads.post(archive, "prd_brushes:page:pag_instalar")
    assert page.title == "Cómo instalar"
    assert page.content_html is not None
    assert "<h2>Instalación</h2>" in page.content_html
    assert "<strong>brushset</strong>" in page.content_html
    assert "<strong>Pinceles.brushset</strong>" in page.content_html  # the file, in place
    assert "Pinta con agua limpia." in page.content_text
    assert "javascript" not in page.content_html and "Ayuda" in page.content_text
    hits = archive.search("agua limpia", mode="fulltext")
    assert [hit.title for hit in hits] == ["Cómo instalar"]


def test_an_update_post_is_read_from_the_sellers_page_once(archive: Archive,
                                                           site: GumroadFixture) -> None:
    archive.sync("gumroad")

    update = reads.post(archive, "update:upd_tormenta")
    assert update.title == "Nuevas grabaciones"
    assert update.content_html is not None and "<em>tormenta</em>" in update.content_html
    assert "onerror" not in update.content_html and "alert" not in update.content_html
    assert update.published_at is not None and update.published_at.year == 2024
    assert [m.collection for m in update.collections] == ["prd_sounds"]

    site.reset_counts()
    archive.sync("gumroad")
    assert site.sellers.requests == []  # an update already archived is not read again


def test_the_products_cover_is_archived_as_the_descriptions_cover(archive: Archive) -> None:
    archive.sync("gumroad")

    [cover] = [link for link in reads.media_links(archive) if link.role == "cover"]
    assert cover.post == "prd_brushes:description"
    stored = {m.sha256 for m in reads.media_files(archive)}
    assert hashlib.sha256(file_bytes("cover-brushes", 1200)).hexdigest() in stored


def test_an_edited_page_is_picked_up_by_the_next_sync(archive: Archive,
                                                      site: GumroadFixture) -> None:
    archive.sync("gumroad")
    [page] = site.purchases[0].product.pages
    page.nodes.append({"type": "paragraph", "content": [
        {"type": "text", "text": "Nuevo: pinceles de gouache."}]})
    page.updated_at = "2024-05-02T08:00:00Z"

    report = archive.sync("gumroad")

    assert report.ok, report.errors
    assert report.posts_written == 1
    post = reads.post(archive, "prd_brushes:page:pag_instalar")
    assert "pinceles de gouache" in post.content_text
    [before] = reads.post_versions(archive, "prd_brushes:page:pag_instalar")
    assert "gouache" not in before.content_text


def test_unknown_and_hostile_nodes_render_harmless() -> None:
    files = {"f1": ProductFile("f1", "Guía", "PDF", 10, "/r/x", ())}
    nodes = (
        {"type": "fileEmbedGroup", "attrs": {"name": "Descargas <b>"}, "content": [
            {"type": "fileEmbed", "attrs": {"id": "f1"}},
            {"type": "fileEmbed", "attrs": {"id": "deleted-file"}}]},
        {"type": "button", "attrs": {"href": "javascript:alert(1)"}, "content": [
            {"type": "text", "text": "Click"}]},
        {"type": "mediaEmbed", "attrs": {"url": "https://video.example/v/1", "title": "Vídeo"}},
        {"type": "image", "attrs": {"src": "https://img.example/a.png",
                                    "link": "https://x.example"}},
        {"type": "upsellCard", "attrs": {"productId": "other"}},
        {"type": "shortAnswer", "attrs": {"label": "Tu nombre"}},
        {"type": "paragraph", "content": [{"type": "text", "text": "<script>alert(2)</script>"}]},
        {"type": "wholeNewNode", "content": [{"type": "text", "text": "texto que queda"}]},
    )

    page = render_page(nodes, files)

    assert page.file_ids == ("f1",)
    assert "<h3>Descargas &lt;b&gt;</h3>" in page.html
    assert "<strong>Guía.pdf</strong>" in page.html
    assert "javascript" not in page.html and "Click" in page.text
    assert '<a href="https://video.example/v/1" rel="noopener noreferrer">Vídeo</a>' in page.html
    assert '<img src="https://img.example/a.png"' in page.html
    assert "Tu nombre" not in page.text and "other" not in page.html
    assert "<script" not in page.html and "alert(2)" in page.text  # text, escaped: harmless
    assert "texto que queda" in page.text


def test_deeply_nested_json_does_not_recurse_forever() -> None:
    node: dict[str, object] = {"type": "text", "text": "fondo"}
    for _ in range(5000):
        node = {"type": "blockquote", "content": [node]}

    page = render_page((node,), {})

    assert "fondo" not in page.text  # cut off past the depth limit, no RecursionError

"""The post page: the content made safe, images, files, players with their transcripts, a
book's pages, earlier versions, and my status, lists, note and highlights — mine alone, with
no control for a reader who may not change anything."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from alejandria.models import (
    Checkpoint,
    ChunkIn,
    CollectionIn,
    CollectionRef,
    CreatorIn,
    MediaIn,
    MediaKind,
    PostIn,
)
from alejandria.storage.passages import Passage, attach, store_passages
from alejandria.testing.memory import memory_plugin

#: The sample books (``alejandria sync pdf examples/books``).
BOOKS = Path(__file__).resolve().parents[4] / "examples" / "books"


def highlights_of(page: str) -> list[dict[str, Any]]:
    """The highlights the page gives its script (the panel's ``data-highlights``)."""
    found = re.search(r"data-highlights='([^']*)'", page)
    assert found, "no highlights panel"
    data: list[dict[str, Any]] = json.loads(html.unescape(found.group(1)))
    return data


def test_a_post_shows_its_content_files_and_transcript(catalogue: Any,
                                                       signed_in: Any) -> None:
    answer = signed_in("user").get(f"/posts/{catalogue.post_id}")
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert "script-src 'self' 'nonce-" in answer.headers["content-security-policy"]
    assert "<h1 id=\"post-title\">Carta natal</h1>" in page
    assert '<a href="/creators/' in page and "Ana Astróloga" in page
    assert '<span class="source-badge">webtest</span>' in page
    # the sanitised HTML, and nothing of what the sanitiser took out
    assert '<a href="https://example.com/ok" rel="noopener noreferrer nofollow">a fine link</a>' \
        in page
    for left_out in ("alert(", "onerror", "onload", "javascript:", "<iframe", "evil.example",
                     "style="):
        assert left_out not in page, left_out
    # the image opens in full; the files are downloads with their size and type
    assert f'href="/api/v1/media/{catalogue.image_id}/content" data-lightbox' in page
    assert f'/api/v1/media/{catalogue.html_id}/content?download=true' in page
    assert "pagina.html" in page and "text/html" in page
    # the player, and its transcript line by line, escaped
    assert (f'<audio id="player-{catalogue.audio_id}" class="media-player" controls '
            f'preload="metadata" src="/api/v1/media/{catalogue.audio_id}/content"') in page
    assert f'data-transcript-for="{catalogue.audio_id}"' in page
    assert 'data-seek="1.5" aria-label="Play from 0:02">0:02</button>' in page
    assert '<span class="line-text" data-hl-at="5">mundo --&gt; &lt;b&gt;fin&lt;/b&gt;</span>' \
        in page
    assert "/static/plugins/web/post.js" in page


def test_a_plain_text_post_is_its_text_escaped(archive: Any, register_plugin: Any,
                                               signed_in: Any) -> None:
    register_plugin(memory_plugin("plain", [
        CreatorIn(external_id="c", name="C"),
        PostIn(external_id="t", creator_external_id="c", title="<b>Título</b>",
               text="Línea uno <script>alert(1)</script>\nLínea dos",
               url="javascript:alert(1)", tags=("a&b",)),
        Checkpoint()]))
    archive.sync("plain", "all", remember=False)
    post_id = _post_id(archive, "t")

    page = signed_in("user").get(f"/posts/{post_id}").text

    assert "&lt;b&gt;Título&lt;/b&gt;" in page
    assert ('<div class="plain-text" data-hl-at="0">Línea uno &lt;script&gt;alert(1)'
            '&lt;/script&gt;\nLínea dos</div>') in page
    assert "javascript:" not in page  # an original URL that is not http(s) is left out
    assert 'href="/posts?tag=a%26b">#a&amp;b</a>' in page


def test_a_file_the_source_removed_is_marked_and_still_served(archive: Any,
                                                              register_plugin: Any,
                                                              signed_in: Any) -> None:
    """A post's ``metadata["gone_upstream"]`` names media keys the source no longer offers
    (Gumroad's removed files): the page marks them, and the archive's copy still plays and
    downloads."""
    register_plugin(memory_plugin("shop", [
        CreatorIn(external_id="c", name="C"),
        PostIn(external_id="p", creator_external_id="c", title="Sonidos",
               media=(MediaIn(key="kept", filename="lluvia-1.mp3", kind=MediaKind.AUDIO),
                      MediaIn(key="gone", filename="lluvia-2.mp3", kind=MediaKind.AUDIO),
                      MediaIn(key="gone-zip", filename="extras.zip")),
               metadata={"gone_upstream": ["gone", "gone-zip"]}),
        Checkpoint()], blobs={"kept": b"ID3 kept", "gone": b"ID3 gone", "gone-zip": b"PK zip"}))
    archive.sync("shop", "all", remember=False)
    post_id = _post_id(archive, "p")
    reader = signed_in("user")

    page = reader.get(f"/posts/{post_id}").text
    detail = reader.get(f"/api/v1/posts/{post_id}").json()

    badge = '<span class="gone-badge" title="The source removed this file after it was ' \
        'archived: this copy is the one left.">No longer at the source</span>'
    assert page.count(badge) == 2
    assert re.search(r'lluvia-2\.mp3</span>\s*<span class="gone-badge"', page)
    assert re.search(r'extras\.zip\s*<span class="gone-badge"', page)
    assert not re.search(r'lluvia-1\.mp3</span>\s*<span class="gone-badge"', page)
    gone = {media["filename"]: media["gone_upstream"] for media in detail["media"]}
    assert gone == {"lluvia-1.mp3": False, "lluvia-2.mp3": True, "extras.zip": True}
    [zip_id] = [m["media_id"] for m in detail["media"] if m["filename"] == "extras.zip"]
    assert reader.get(f"/api/v1/media/{zip_id}/content").content == b"PK zip"


def main_of(page: str) -> str:
    """The page's ``<main>`` (the header's log-out button is not the page's control)."""
    return page[page.index("<main"):page.index("</main>")]


def test_readonly_reads_with_no_controls(catalogue: Any, signed_in: Any) -> None:
    page = main_of(signed_in("readonly").get(f"/posts/{catalogue.post_id}").text)
    assert "Carta natal" in page and "data-transcript-for" in page
    for control in ("hx-put", "hx-post", "hx-delete", "<textarea", "data-list-toggle",
                    'id="highlight-button"', 'id="post-text"', "My note", "My lists"):
        assert control not in page, control
    assert signed_in("readonly").get(f"/posts/{catalogue.post_id}/part/note").text.strip() == ""


def test_my_status_lists_note_and_highlights_are_mine_alone(catalogue: Any,
                                                             signed_in: Any) -> None:
    alice = signed_in("user")
    post = catalogue.post_id
    assert alice.put(f"/api/v1/posts/{post}/status", json={"status": "completed"}
                     ).status_code == 200
    favourites = alice.post("/api/v1/lists", json={"name": "Favoritos"}).json()
    alice.post("/api/v1/lists", json={"name": "Para luego"})
    assert alice.put(f"/api/v1/lists/{favourites['id']}/posts/{post}").status_code == 204
    assert alice.put(f"/api/v1/posts/{post}/note",
                     json={"markdown": "Muy **clave** <img src=x onerror=alert(1)>"}
                     ).status_code == 200
    made = alice.post(f"/api/v1/posts/{post}/highlights", json={"quote": "los planetas"})
    assert made.status_code == 201, made.text
    on_transcript = alice.post(f"/api/v1/posts/{post}/highlights", json={
        "quote": "mundo", "start": 5, "media_id": catalogue.audio_id})
    assert on_transcript.status_code == 201, on_transcript.text

    page = alice.get(f"/posts/{post}").text
    assert '<option value="completed" selected>Completed</option>' in page
    assert re.search(rf'id="list-{favourites["id"]}" data-list-toggle '
                     rf'data-list-id="{favourites["id"]}" checked>', page)
    assert "Para luego" in page  # a list to add it to
    assert "<strong>clave</strong>" in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # written, so shown as text
    assert 'name="markdown"' in page and "Muy **clave**" in page
    assert [(h["target"], h["quote"], h["start"]) for h in highlights_of(page)] == [
        ("text", "los planetas", len("La carta natal explica ")), ("transcript", "mundo", 5)]
    # the post's text, for the script to anchor a selection of its HTML in
    assert re.search(r'<script type="application/json" id="post-text" nonce="[^"]+">'
                     r'"La carta natal explica los planetas."</script>', page)

    bob = signed_in("other").get(f"/posts/{post}").text
    assert '<option value="unread" selected>Unread</option>' in bob
    for private in ("Favoritos", "Para luego", "clave"):
        assert private not in bob, private
    assert highlights_of(bob) == []


def test_the_parts_a_change_refreshes(catalogue: Any, signed_in: Any) -> None:
    alice = signed_in("user")
    post = catalogue.post_id
    alice.put(f"/api/v1/posts/{post}/note", json={"markdown": "_nota_"})
    made = alice.post("/api/v1/lists", json={"name": "Lecturas"}).json()
    alice.put(f"/api/v1/lists/{made['id']}/posts/{post}")
    headers = {"HX-Request": "true"}

    note = alice.get(f"/posts/{post}/part/note", headers=headers)
    lists = alice.get(f"/posts/{post}/part/lists", headers=headers).text
    highlights = alice.get(f"/posts/{post}/part/highlights", headers=headers).text
    status = alice.get(f"/posts/{post}/part/status", headers=headers).text

    assert note.status_code == 200 and "<html" not in note.text
    assert "<em>nota</em>" in note.text and 'hx-put="/api/v1/posts/' in note.text
    assert f'data-list-id="{made["id"]}" checked' in lists
    assert highlights_of(highlights) == []
    assert 'hx-put="/api/v1/posts/' in status and "<option" in status
    missing = alice.get(f"/posts/{post}/part/nothing")
    assert missing.status_code == 404 and "<html" in missing.text
    assert alice.get("/posts/987654").status_code == 404


def test_earlier_versions_are_listed_and_read_only(archive: Any, register_plugin: Any,
                                                   signed_in: Any) -> None:
    edited = [CreatorIn(external_id="c", name="C"),
              PostIn(external_id="e", creator_external_id="c", title="Primera",
                     text="Lo que decía antes.",
                     html="<p>Lo que decía <b>antes</b>.<script>alert(1)</script></p>"),
              Checkpoint()]
    plugin = memory_plugin("edits", edited)
    register_plugin(plugin, name="edits-source")
    archive.sync("edits", "all", remember=False)
    plugin.spec.factory.items = [edited[0], PostIn(
        external_id="e", creator_external_id="c", title="Segunda", text="Lo de ahora.",
        html="<p>Lo de ahora.</p>"), Checkpoint()]
    archive.sync("edits", "all", remember=False)
    post_id = _post_id(archive, "e")
    alice = signed_in("user")

    page = alice.get(f"/posts/{post_id}").text
    found = re.search(rf'href="/posts/{post_id}/versions/(\d+)">Primera</a>', page)
    assert found and "Earlier versions" in page and "Lo de ahora." in page
    version = alice.get(f"/posts/{post_id}/versions/{found.group(1)}").text

    assert "<p>Lo que decía <b>antes</b>.</p>" in version and "alert" not in version
    assert f'<a href="/posts/{post_id}">See the current version</a>' in version
    assert "hx-put" not in version and "post.js" not in version
    assert alice.get(f"/posts/{post_id}/versions/987654").status_code == 404


def _post_id(archive: Any, external_id: str) -> int:
    with archive.engine.connect() as conn:
        return int(conn.execute(text("SELECT id FROM posts WHERE external_id = :e"),
                                {"e": external_id}).scalar_one())


@pytest.fixture
def book(archive: Any, register_plugin: Callable[..., None]) -> dict[str, int]:
    """A book of two chapters (one chunk per page, as the ``pdf`` source stores them), and a
    post with a PDF attached whose passages were extracted."""
    items = [
        CreatorIn(external_id="ana", name="Ana"),
        CollectionIn(external_id="libro", creator_external_id="ana", title="El libro"),
        PostIn(external_id="c1", creator_external_id="ana", title="Capítulo uno",
               text="Primera página.\n\nSegunda página: el sol en Leo.",
               chunks=(ChunkIn(text="Primera página.", page=1),
                       ChunkIn(text="Segunda página: el sol en Leo.", page=2)),
               collections=(CollectionRef(external_id="libro", position=0),)),
        PostIn(external_id="c2", creator_external_id="ana", title="Capítulo dos",
               text="Tercera página.", chunks=(ChunkIn(text="Tercera página.", page=3),),
               collections=(CollectionRef(external_id="libro", position=1),)),
        PostIn(external_id="adjunto", creator_external_id="ana", title="Con un PDF",
               text="Va un PDF.",
               media=(MediaIn(key="pdf", filename="guia.pdf", mime_type="application/pdf",
                              kind=MediaKind.DOCUMENT),)),
        Checkpoint(),
    ]
    register_plugin(memory_plugin("books", items, {"pdf": b"%PDF-1.4\n%%EOF\n"}),
                    name="books-source")
    archive.sync("books", "all", remember=False)
    with archive.engine.begin() as conn:
        ids = dict(conn.execute(text("SELECT external_id, id FROM posts")).all())
        media = conn.execute(text("SELECT media_id FROM post_media WHERE key = 'pdf'")
                             ).scalar_one()
        store_passages(conn, media, [Passage("Hoja uno <b>del</b> PDF.", 1, "simple"),
                                     Passage("Hoja dos.", 2, "simple")])
        attach(conn, media)
    return {**ids, "media": media}


def test_a_book_chapter_reads_page_by_page(book: dict[str, int], signed_in: Any) -> None:
    alice = signed_in("user")
    made = alice.post(f"/api/v1/posts/{book['c1']}/highlights",
                      json={"quote": "el sol en Leo", "page": 2})
    assert made.status_code == 201, made.text

    page = alice.get(f"/posts/{book['c1']}").text

    assert '<section class="book-page" id="page-2" aria-labelledby="page-2-title">' in page
    assert '<a class="chip" href="#page-1">p. 1</a>' in page
    assert ('data-hl-root data-hl-target="page" data-hl-page="2"><div class="plain-text" '
            'data-hl-at="0">Segunda página: el sol en Leo.</div>') in page
    assert 'class="post-content' not in page  # its text is its pages, shown once
    # the book's chapters, this one current, and the next one
    assert f'<a href="/posts/{book["c1"]}" aria-current="page">Capítulo uno</a>' in page
    assert f'href="/posts/{book["c2"]}" rel="next">Capítulo dos' in page
    assert [(h["target"], h["page"], h["start"]) for h in highlights_of(page)] == [
        ("page", 2, len("Segunda página: "))]
    assert "Open the PDF" not in page  # no file of the book was stored with its chapters


def test_an_attached_pdf_opens_at_each_page(book: dict[str, int], signed_in: Any) -> None:
    page = signed_in("readonly").get(f"/posts/{book['adjunto']}").text

    assert '<details class="post-section document-text" id="document-text">' in page
    assert f'href="/api/v1/media/{book["media"]}/content#page=2"' in page
    assert "Hoja uno &lt;b&gt;del&lt;/b&gt; PDF." in page
    assert "guia.pdf" in page and "application/pdf" in page
    assert 'data-hl-target="text"><div class="plain-text" data-hl-at="0">Va un PDF.' in page


def test_a_synced_pdf_books_pages_open_its_pdf_at_each_page(archive: Any,
                                                             signed_in: Any) -> None:
    """The ``pdf`` source keeps the book's PDF with each chapter: the chapter's pages link to
    it at their page, and the file is shown once, as the book's, not as an attachment."""
    book = BOOKS / "astrologia-para-principiantes.pdf"
    assert archive.sync("pdf", book, remember=False).ok
    with archive.engine.connect() as conn:
        held = conn.execute(text(
            "SELECT pm.post_id, pm.media_id FROM post_media pm JOIN posts p "
            "ON p.id = pm.post_id WHERE p.source = 'pdf' AND pm.role = 'original' "
            "ORDER BY p.id")).all()
    (book_id,) = {media_id for _post, media_id in held}  # one file for every chapter
    chapter = held[1].post_id
    numbers = [found.page for found in archive.library.pages(chapter)]
    assert numbers

    answer = signed_in("readonly").get(f"/posts/{chapter}")

    assert answer.status_code == 200, answer.text
    page = main_of(answer.text)
    for number in numbers:
        assert (f'<section class="book-page" id="page-{number}" '
                f'aria-labelledby="page-{number}-title">') in page
        assert (f'<a class="page-open" href="/api/v1/media/{book_id}/content#page={number}" '
                f'target="_blank" rel="noopener">Open the PDF at page {number}</a>') in page
    assert page.count('class="page-open"') == len(numbers)
    # the book's file, once, as the book's; the attachments list does not repeat it
    assert '<h2 id="original-title">The book’s PDF</h2>' in page
    assert page.count(f"/api/v1/media/{book_id}/content?download=true") == 1
    assert f'<a href="/api/v1/media/{book_id}/content" target="_blank"' in page
    assert "astrologia-para-principiantes.pdf" in page
    assert 'id="files-title"' not in page
    # the link serves the book's own bytes, as a PDF the browser opens
    served = signed_in("readonly").get(f"/api/v1/media/{book_id}/content")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/pdf")
    assert served.content == book.read_bytes()

    reader = signed_in("user")
    reader.patch("/api/v1/me/preferences", json={"language": "es"})
    spanish = reader.get(f"/posts/{chapter}").text
    assert "El PDF del libro" in spanish
    assert f"Abrir el PDF en la página {numbers[0]}" in spanish


def test_the_post_page_in_spanish(catalogue: Any, signed_in: Any) -> None:
    alice = signed_in("user")
    alice.patch("/api/v1/me/preferences", json={"language": "es"})
    page = alice.get(f"/posts/{catalogue.post_id}").text
    for spanish in ("Transcripción", "Mi nota", "Mis listas", "Subrayar", "Sin leer",
                    "Reproducir desde 0:02", "Descargar"):
        assert spanish in page, spanish

"""Ready-made creators for tests and benchmarks: ``demo_campaign`` has every kind of post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alejandria_source_patreon.testing.fakes import (
    FakeCampaign,
    FakeFile,
    FakePost,
    JsonDict,
    image_bytes,
    tiny_pdf,
)

EPOCH = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def tiptap(*paragraphs: str) -> JsonDict:
    """A TipTap document: a heading, bold text, a link, a list and the given paragraphs."""
    return {"type": "doc", "content": [
        {"type": "heading", "attrs": {"level": 2},
         "content": [{"type": "text", "text": "Notas de la semana"}]},
        *({"type": "paragraph", "content": [{"type": "text", "text": text}]}
          for text in paragraphs),
        {"type": "paragraph", "content": [
            {"type": "text", "text": "negrita", "marks": [{"type": "bold"}]},
            {"type": "text", "text": " y "},
            {"type": "text", "text": "un enlace",
             "marks": [{"type": "link", "attrs": {"href": "https://example.org/x"}}]}]},
        {"type": "bulletList", "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": "primer punto"}]}]}]},
    ]}


def demo_campaign(*, campaign_id: str = "5001", vanity: str = "artista", posts: int = 12,
                  page_style: str = "next_data") -> FakeCampaign:
    """A creator whose posts cover every kind Patreon has (see the tests for the counts)."""
    campaign = FakeCampaign(id=campaign_id, vanity=vanity, name="Artista de Prueba",
                            tiers={"t1": ("Bronce", 300), "t2": ("Oro", 1000)},
                            collections={"801": "Serie de cuadernos"}, page_style=page_style)
    seed = int(campaign_id) * 100

    def img(n: int, fmt: str = "JPEG") -> FakeFile:
        ext = "jpg" if fmt == "JPEG" else "png"
        return FakeFile(f"imagen-{n}.{ext}", image_bytes(seed + n, fmt), f"image/{ext}"
                        .replace("jpg", "jpeg"))

    day = timedelta(days=1)
    first = img(1)
    offset = (int(campaign_id) - 5001) * 1000  # 9001... for the default campaign

    def pid(number: int) -> str:
        return str(9000 + offset + number)

    made = [
        FakePost(pid(1), "Galería de bocetos", EPOCH, post_type="image_file",
                 content="<p>Bocetos de la semana <script>alert(1)</script>con acuarela.</p>",
                 images=[first, img(2, "PNG")], post_file=first, tags=["bocetos", "acuarela"],
                 access=["t1", "t2"], collections=["801"]),
        FakePost(pid(2), "Notas solo en TipTap", EPOCH + day, content=None,
                 content_json=tiptap("El cuaderno de notas trae ejercicios de perspectiva."),
                 access=["t2"]),
        FakePost(pid(3), "Archivos del mes", EPOCH + 2 * day, post_type="text_only",
                 content="<p>Descarga los <em>archivos</em> adjuntos.</p>",
                 attachments=[FakeFile("guia.pdf", tiny_pdf("Guia de pinceles"),
                                       "application/pdf")],
                 legacy_attachments=[FakeFile("pinceles.zip", b"PK\x03\x04" + b"z" * 200,
                                              "application/zip")],
                 collections=["801"]),
        FakePost(pid(4), "Podcast episodio 1", EPOCH + 3 * day, post_type="audio_file",
                 content="<p>Hablamos de color.</p>",
                 audio=FakeFile("episodio1.mp3", b"ID3" + b"\x00" * 400, "audio/mpeg")),
        FakePost(pid(5), "Vídeo del taller", EPOCH + 4 * day, post_type="video_external_file",
                 content="<p>El taller completo.</p>", hls_video=True),
        FakePost(pid(6), "Entrevista en YouTube", EPOCH + 5 * day, post_type="video_embed",
                 content="<p>Mirad la entrevista.</p>",
                 embed_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        FakePost(pid(7), "Imagen en el texto", EPOCH + 6 * day,
                 content="<p>Una imagen dentro del texto:</p>", inline_images=[img(7)]),
        FakePost(pid(8), "Solo para Oro", EPOCH + 7 * day, content="<p>Secreto.</p>",
                 teaser="Un adelanto", locked=True, access=["t2"]),
        FakePost(pid(9), "Aviso público", EPOCH + 8 * day, content="<p>Para todos.</p>",
                 access=["public"], comments=["¡Gracias!", "Genial"]),
    ]
    for number in range(len(made), posts):
        made.append(FakePost(pid(number + 1), f"Entrada {number + 1}",
                             EPOCH + (number + 1) * day, post_type="image_file",
                             content=f"<p>Texto de la entrada {number + 1}.</p>",
                             images=[img(100 + number)]))
    campaign.posts = made[:posts]
    return campaign

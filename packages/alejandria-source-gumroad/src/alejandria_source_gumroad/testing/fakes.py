"""What the local Gumroad sells: sellers, products with files (in folders), purchases."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeSeller:
    id: str
    username: str
    name: str


@dataclass
class FakeFile:
    """A product file. ``id`` is obfuscated like Gumroad's (URL-safe); ``name`` has no
    extension, ``extension`` is upper case, as the download page shows them."""

    id: str
    name: str
    extension: str
    data: bytes
    mimetype: str = "application/octet-stream"
    folder: str | None = None
    #: ``pdf_stamp_enabled``: the buyer's copy is stamped, so its size may differ from the
    #: listed one.
    stamped: bool = False
    #: How many more times its link redirects back to the download page (a stamped PDF
    #: Gumroad is still preparing) before it serves the file.
    stamp_pending: int = 0
    #: The size the download page lists, when it is not the size of ``data``.
    listed_size: int | None = None

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.extension.lower()}"


@dataclass
class FakePage:
    """A rich-content page: a title and a TipTap document (its top-level nodes)."""

    id: str
    title: str
    nodes: list[dict[str, Any]]
    updated_at: str = "2024-03-01T10:00:00Z"


@dataclass
class FakeUpdate:
    """An update post the seller sent to buyers, shown on the seller's subdomain."""

    id: str
    slug: str
    subject: str
    message_html: str
    published_at: str = "2024-04-01T09:00:00Z"


@dataclass
class FakeProduct:
    id: str
    permalink: str
    name: str
    seller: FakeSeller
    description_html: str = ""
    files: list[FakeFile] = field(default_factory=list)
    native_type: str = "digital"
    updated_at: str = "2024-03-01T10:00:00Z"
    pages: list[FakePage] = field(default_factory=list)
    updates: list[FakeUpdate] = field(default_factory=list)
    #: The cover picture (served by the file host), or None.
    cover: bytes | None = None


@dataclass
class FakePurchase:
    id: str
    product: FakeProduct
    is_archived: bool = False
    #: Gumroad wants the buyer's e-mail confirmed before it shows the files.
    confirm_email: bool = False
    #: Its download page is served on the seller's subdomain (``/d/`` redirects there).
    on_seller_host: bool = False
    #: The 32-hex token of its download page ``/d/<token>``.
    token: str = field(default_factory=lambda: secrets.token_hex(16))


def file_bytes(label: str, size: int = 3000) -> bytes:
    """Deterministic, distinct bytes for a file."""
    seed = hashlib.sha256(label.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def tiny_pdf(label: str) -> bytes:
    return b"%PDF-1.4\n% " + label.encode() + b"\n" + file_bytes(label, 2000) + b"\n%%EOF\n"


def demo_library() -> list[FakePurchase]:
    """Two sellers, three products bought (files at the top and in folders, a cover, a
    rich-content page that embeds a file, an update post) and one archived purchase: 3
    purchases archived by default, with 5 posts (3 descriptions, a page, an update) and 6
    files (5 product files and a cover)."""
    ana = FakeSeller("sel_ana", "anapinta", "Ana Pinta")
    beto = FakeSeller("sel_beto", "betosound", "Beto Sound")
    brushes = FakeProduct(
        "prd_brushes", "pinceles", "Pinceles de acuarela", ana,
        description_html=("<h2>Pinceles</h2><p>Treinta pinceles de <strong>acuarela</strong> "
                          "para Procreate.</p><script>alert(1)</script>"),
        files=[FakeFile("ZmlsZTE=", "Pinceles", "BRUSHSET", file_bytes("brushset", 5000)),
               FakeFile("ZmlsZTI=", "Guía de uso", "PDF", tiny_pdf("guia"),
                        "application/pdf", folder="Extras")],
        pages=[FakePage("pag_instalar", "Cómo instalar", install_page("ZmlsZTE="))],
        cover=file_bytes("cover-brushes", 1200))
    book = FakeProduct(
        "prd_book", "libro", "Libro de bocetos", ana,
        description_html="<p>Un libro de bocetos en PDF.</p>",
        files=[FakeFile("ZmlsZTM=", "Bocetos", "PDF", tiny_pdf("bocetos"), "application/pdf")])
    sounds = FakeProduct(
        "prd_sounds", "sonidos", "Sonidos de lluvia", beto,
        description_html="<p>Grabaciones de lluvia en el bosque.</p>",
        files=[FakeFile("ZmlsZTQ=", "Lluvia 1", "MP3", file_bytes("lluvia1"), "audio/mpeg",
                        folder="Audio"),
               FakeFile("ZmlsZTU=", "Lluvia 2", "MP3", file_bytes("lluvia2"), "audio/mpeg",
                        folder="Audio")],
        updates=[FakeUpdate("upd_tormenta", "nuevas-grabaciones", "Nuevas grabaciones",
                            "<p>Añadí una <em>tormenta</em> de verano.</p>"
                            "<img src=x onerror=alert(1)>")])
    old = FakeProduct("prd_old", "viejo", "Producto archivado", beto,
                      description_html="<p>Archivado.</p>",
                      files=[FakeFile("ZmlsZTY=", "Viejo", "ZIP", file_bytes("viejo"))])
    return [FakePurchase("pur_1", brushes), FakePurchase("pur_2", book),
            FakePurchase("pur_3", sounds), FakePurchase("pur_4", old, is_archived=True)]


def install_page(file_id: str) -> list[dict[str, Any]]:
    """A content page as Gumroad's editor saves it: text with marks, a file embed, a license
    key block, and a link a hostile seller made a script."""
    return [
        {"type": "heading", "attrs": {"level": 2}, "content": [
            {"type": "text", "text": "Instalación"}]},
        {"type": "paragraph", "content": [
            {"type": "text", "text": "Abre Procreate e importa el "},
            {"type": "text", "marks": [{"type": "bold"}], "text": "brushset"},
            {"type": "text", "text": ". "},
            {"type": "text", "marks": [{"type": "link", "attrs": {
                "href": "javascript:alert(1)"}}], "text": "Ayuda"}]},
        {"type": "fileEmbed", "attrs": {"id": file_id, "uid": "emb-1"}},
        {"type": "licenseKey"},
        {"type": "paragraph", "content": [
            {"type": "text", "text": "Pinta con agua limpia."}]},
    ]


def many_purchases(count: int, *, file_size: int = 20_000) -> list[FakePurchase]:
    """``count`` purchases of one seller, one file each (the crash and bench libraries)."""
    seller = FakeSeller("sel_many", "muchos", "Muchos Productos")
    return [FakePurchase(f"pur_m{n}", FakeProduct(
        f"prd_m{n}", f"m{n}", f"Producto {n}", seller,
        description_html=f"<p>Producto número {n}.</p>",
        files=[FakeFile(f"bWFueS{n}", f"Archivo {n}", "BIN",
                        file_bytes(f"many-{n}", file_size))])) for n in range(count)]

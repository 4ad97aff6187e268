"""What the local Gumroad sells: sellers, products with files (in folders), purchases."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field


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

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.extension.lower()}"


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


@dataclass
class FakePurchase:
    id: str
    product: FakeProduct
    is_archived: bool = False
    #: The 32-hex token of its download page ``/d/<token>``.
    token: str = field(default_factory=lambda: secrets.token_hex(16))


def file_bytes(label: str, size: int = 3000) -> bytes:
    """Deterministic, distinct bytes for a file."""
    seed = hashlib.sha256(label.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def tiny_pdf(label: str) -> bytes:
    return b"%PDF-1.4\n% " + label.encode() + b"\n" + file_bytes(label, 2000) + b"\n%%EOF\n"


def demo_library() -> list[FakePurchase]:
    """Two sellers, three products bought (files at the top and in folders) and one archived
    purchase: 3 purchases archived by default, with 5 files."""
    ana = FakeSeller("sel_ana", "anapinta", "Ana Pinta")
    beto = FakeSeller("sel_beto", "betosound", "Beto Sound")
    brushes = FakeProduct(
        "prd_brushes", "pinceles", "Pinceles de acuarela", ana,
        description_html=("<h2>Pinceles</h2><p>Treinta pinceles de <strong>acuarela</strong> "
                          "para Procreate.</p><script>alert(1)</script>"),
        files=[FakeFile("ZmlsZTE=", "Pinceles", "BRUSHSET", file_bytes("brushset", 5000)),
               FakeFile("ZmlsZTI=", "Guía de uso", "PDF", tiny_pdf("guia"),
                        "application/pdf", folder="Extras")])
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
                        folder="Audio")])
    old = FakeProduct("prd_old", "viejo", "Producto archivado", beto,
                      description_html="<p>Archivado.</p>",
                      files=[FakeFile("ZmlsZTY=", "Viejo", "ZIP", file_bytes("viejo"))])
    return [FakePurchase("pur_1", brushes), FakePurchase("pur_2", book),
            FakePurchase("pur_3", sounds), FakePurchase("pur_4", old, is_archived=True)]

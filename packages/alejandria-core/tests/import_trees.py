"""Small input trees for the importer tests: the old system's JSON files and a gallery-dl
download tree, written as real files with real (tiny) images."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

#: A Patreon CDN hash (the 32-hex key of a file) and a URL carrying it.
HASH_A = "3d99f5f5b635428ca237fedf0f223f1a"
HASH_B = "be3d8eb994ae44eca4baffcdc6dd25fc"
CDN = "https://c10.patreonusercontent.com/4/patreon-media/p/post/{post}/{hash}/eyJ3Ijo2MjB9/1.jpg"


def png(seed: int, size: int = 8) -> bytes:
    """A small, valid, distinct PNG."""
    from PIL import Image

    rng = random.Random(seed)
    image = Image.frombytes("RGB", (size, size), rng.randbytes(size * size * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def legacy_tree(root: Path) -> Path:
    """The old system's project folder: two creators (one with a numeric id, one named by its
    vanity with a ``campaign_id``), posts written by two versions of the scripts, a media
    file shared by both creators, one missing on disk, unknown keys, and nothing broken."""
    media = root / "data" / "media"
    (media / "artista").mkdir(parents=True)
    (media / "luna").mkdir(parents=True)
    (media / "artista" / "a.png").write_bytes(png(1))
    (media / "artista" / "b.png").write_bytes(png(2))
    (media / "luna" / "shared.png").write_bytes(png(1))  # the same bytes as artista/a.png
    write_json(root / "config" / "creators.json", [
        {"id": "5001", "name": "Artista", "url": "https://www.patreon.com/artista"},
        {"id": "luna", "campaign_id": 6001, "name": "Luna", "url": "https://www.patreon.com/luna",
         "mood": "sunny"},
    ])
    write_json(root / "data" / "processed" / "5001_posts_detailed.json", [
        {"post_id": "9001", "title": "Bocetos", "content": "<p>Hola <b>mundo</b></p>",
         "published_at": "2024-01-01T12:00:00Z", "tags": ["bocetos", "acuarela"],
         "url": "https://www.patreon.com/posts/bocetos-9001",
         "media": [{"local_path": "data/media/artista/a.png", "type": "image",
                    "url": CDN.format(post=9001, hash=HASH_A) + "?token-time=1"}]},
        # an older script: other names for the same fields, and a key nobody maps
        {"id": 9002, "name": "Variantes", "body": "Texto sin marcas.",
         "date": "2024-01-02 10:00:00",
         "media_files": [{"file_path": "data/media/artista/b.png", "kind": "image"},
                         {"local_path": "data/media/artista/missing.png"}],
         "sparkle": True},
    ])
    write_json(root / "data" / "processed" / "luna_posts_detailed.json", {"posts": [
        {"post_id": "7001", "title": "Luna", "content_text": "Noche.",
         "media": [{"local_path": "data/media/luna/shared.png"}], "sparkle": False},
    ]})
    return root


def truncate(path: Path) -> None:
    """Cut a JSON file off in the middle, as a crash while writing it did."""
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def gallery_dl_tree(root: Path) -> Path:
    """``gallery-dl/`` as ``--write-metadata`` leaves it: a Patreon post of two files, a post
    whose file is missing, a cut-off sidecar, a file without a sidecar, and a pixiv post."""
    patreon = root / "gallery-dl" / "patreon" / "Artista"
    campaign = {"name": "Artista", "url": "https://www.patreon.com/artista",
                "avatar_photo_url": "https://c10.patreonusercontent.com/4/patreon-media/p/"
                                    "campaign/5001/cadc16f03fa1460f9185505b0a858c1b/eyJ3IjoyMDB9"
                                    "/1.png?token-time=2145916800&token-hash=x"}
    post = {"id": 9001, "title": "Bocetos", "content": "<p>Bocetos <em>nuevos</em></p>",
            "published_at": "2024-01-01T12:00:00.000+00:00", "date": "2024-01-01 12:00:00",
            "url": "https://www.patreon.com/posts/bocetos-9001", "post_type": "image_file",
            "tags": ["bocetos"], "like_count": 7, "campaign": campaign,
            "creator": {"id": "77", "full_name": "Artista", "vanity": "artista"},
            "category": "patreon", "subcategory": "creator"}
    files = [("9001_Bocetos_01.png", 1, HASH_A, "image", png(1)),
             ("9001_Bocetos_02.png", 2, HASH_B, "image", png(2))]
    for name, num, file_hash, kind, data in files:
        (patreon / name).parent.mkdir(parents=True, exist_ok=True)
        (patreon / name).write_bytes(data)
        write_json(patreon / f"{name}.json", {**post, "num": num, "hash": file_hash, "type": kind,
                                              "filename": f"imagen-{num}", "extension": "png"})
    gone = {**post, "id": 9002, "title": "Sin archivo", "num": 1, "hash": "a" * 32,
            "type": "attachment", "filename": "guia", "extension": "pdf"}
    write_json(patreon / "9002_Sin archivo_01.pdf.json", gone)
    cut = write_json(patreon / "9003_Roto_01.png.json", {**post, "id": 9003, "num": 1,
                                                         "hash": "b" * 32, "type": "image",
                                                         "filename": "x", "extension": "png"})
    (patreon / "9003_Roto_01.png").write_bytes(png(3))
    truncate(cut)
    (patreon / "stray.png").write_bytes(png(4))
    pixiv = root / "gallery-dl" / "pixiv" / "123 someone"
    pixiv.mkdir(parents=True)
    (pixiv / "456_p0.png").write_bytes(png(5))
    write_json(pixiv / "456_p0.png.json", {
        "id": 456, "title": "Paisaje", "caption": "Un paisaje", "date": "2023-05-01 08:00:00",
        "user": {"id": 123, "name": "Someone", "account": "someone"}, "tags": ["paisaje"],
        "num": 0, "category": "pixiv", "subcategory": "artworks", "extension": "png",
        "filename": "456_p0"})
    return root / "gallery-dl"

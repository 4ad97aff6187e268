"""The content a local Patreon serves: files, posts, campaigns, and a few small real files."""

from __future__ import annotations

import io
import itertools
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JsonDict = dict[str, Any]
_ids = itertools.count(1000)
#: The size segments of Patreon CDN paths (base64 JSON): the original and a 620 px rendition.
ORIGINAL = "eyJ3IjoxMDgwfQ%3D%3D"
SMALL = "eyJ3Ijo2MjB9"


def image_bytes(seed: int, fmt: str = "JPEG", size: int = 32) -> bytes:
    """A small, valid, distinct image (noise, so that every seed gives other bytes)."""
    from PIL import Image

    rng = random.Random(seed)
    image = Image.frombytes("RGB", (size, size), rng.randbytes(size * size * 3))
    out = io.BytesIO()
    image.save(out, format=fmt, quality=85) if fmt == "JPEG" else image.save(out, format=fmt)
    return out.getvalue()


def tiny_pdf(text: str) -> bytes:
    """A valid one-page PDF showing ``text`` (ASCII), with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 20 50 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


@dataclass
class FakeFile:
    name: str
    data: bytes
    mimetype: str
    hash: str = field(default_factory=lambda: secrets.token_hex(16))
    id: str = field(default_factory=lambda: str(next(_ids)))


@dataclass
class FakePost:
    id: str
    title: str
    published_at: datetime
    content: str | None = "<p>Hello.</p>"
    content_json: JsonDict | None = None
    teaser: str = ""
    post_type: str = "text_only"
    edited_at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    #: Tier ids that may see the post; "public" or "patrons" for everyone / every patron.
    access: list[str] = field(default_factory=lambda: ["patrons"])
    images: list[FakeFile] = field(default_factory=list)
    attachments: list[FakeFile] = field(default_factory=list)
    legacy_attachments: list[FakeFile] = field(default_factory=list)
    audio: FakeFile | None = None
    #: The post file; for image posts Patreon repeats the first image here.
    post_file: FakeFile | None = None
    #: A Patreon-hosted video (HLS): the post file is an m3u8 playlist.
    hls_video: bool = False
    inline_images: list[FakeFile] = field(default_factory=list)
    embed_url: str | None = None
    collections: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    locked: bool = False
    #: Media resources listed with any URL as their ``download_url``: (file name, URL), for
    #: links a hostile or broken post holds (another host, a redirect loop, ``file:``).
    linked_media: list[tuple[str, str]] = field(default_factory=list)
    #: Files the CDN serves for this post that the API does not list (the post's HTML may
    #: link them, e.g. by a relative ``src``).
    unlisted_files: list[FakeFile] = field(default_factory=list)

    def files(self) -> list[FakeFile]:
        found = [*self.images, *self.attachments, *self.legacy_attachments,
                 *self.inline_images, *self.unlisted_files]
        extra = [self.audio, self.post_file]
        return found + [item for item in extra if item is not None and item not in found]


@dataclass
class FakeCampaign:
    id: str
    vanity: str
    name: str
    tiers: dict[str, tuple[str, int]] = field(default_factory=dict)
    posts: list[FakePost] = field(default_factory=list)
    collections: dict[str, str] = field(default_factory=dict)
    #: How the creator page embeds the campaign id: next_data, next_f, bootstrap, api_link,
    #: media_path, or none.
    page_style: str = "next_data"
    patron_status: str | None = "active_patron"


@dataclass
class Fault:
    path: str
    status: int
    remaining: int
    headers: dict[str, str]
    body: bytes
    content_type: str




def find_post(campaigns: dict[str, FakeCampaign], post_id: str) -> tuple[FakeCampaign, FakePost]:
    """The post with ``post_id`` and its campaign; ``KeyError`` when no campaign has it."""
    for campaign in campaigns.values():
        for post in campaign.posts:
            if post.id == post_id:
                return campaign, post
    raise KeyError(post_id)

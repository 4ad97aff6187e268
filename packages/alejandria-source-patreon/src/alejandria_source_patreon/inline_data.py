"""``data:`` images in a post's HTML (``<img src="data:image/png;base64,...">``).

Nothing is fetched for them: the bytes are part of the post, already read with the API answer
(whose decoded size core caps). So a small one is stored from its bytes like any other inline
image (``MediaIn.data``), not lost to the sanitiser, which drops ``data:`` sources from the
HTML. One that is too large, not an image, or does not decode is kept as a ``MediaIn`` whose
``url`` holds only ``data:<type>`` and whose ``metadata["refused"]`` says why: ``open_media``
refuses it (``URLRefused``), so the sync notes it under the post's name instead of silently
dropping it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import mimetypes
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

#: The largest data: image stored (decoded bytes). Pasted screenshots fit; anything larger
#: in a post's HTML is not a picture a creator meant to inline.
MAX_INLINE_DATA_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class InlineData:
    """A ``data:`` image: its key, media type and file name, and either its bytes or why it
    is refused."""

    key: str
    media_type: str
    filename: str
    data: bytes | None = None
    refused: str | None = None


def is_data_url(src: str) -> bool:
    return src[:5].lower() == "data:"


def read_data_url(src: str, position: int) -> InlineData:
    """The image a ``data:`` URL holds (``position``: its place in the post, for its name)."""
    header, comma, payload = src[5:].partition(",")
    params = [part.strip() for part in header.split(";")]
    media_type = (params[0] or "text/plain").lower()
    key = "patreon:data:" + hashlib.sha256(src.encode("utf-8", "replace")).hexdigest()
    extension = mimetypes.guess_extension(media_type) or ".bin"
    filename = f"inline-{position + 1}{extension}"

    def refuse(why: str) -> InlineData:
        return InlineData(key, media_type, filename, refused=why)

    if not comma:
        return refuse("not a valid data: URL")
    if not media_type.startswith("image/"):
        return refuse(f"an inline {media_type}, not an image")
    if len(payload) > MAX_INLINE_DATA_BYTES * 4 // 3 + 16:  # too large even before decoding
        return refuse(_too_large(len(payload) * 3 // 4))
    try:
        data = unquote_to_bytes(payload)
        if "base64" in (param.lower() for param in params[1:]):
            data = b"".join(data.split())  # line breaks in the HTML attribute
            data = base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        return refuse("an inline image that does not decode")
    if len(data) > MAX_INLINE_DATA_BYTES:
        return refuse(_too_large(len(data)))
    if not data:
        return refuse("an empty inline image")
    digest = hashlib.sha256(data).hexdigest()
    return InlineData(f"patreon:data:{digest}", media_type, filename, data=data)


def _too_large(size: int) -> str:
    return (f"an inline image of about {_size(size)}, over the {_size(MAX_INLINE_DATA_BYTES)} "
            "stored from a post's own HTML")


def _size(size: int) -> str:
    return f"{size // (1024 * 1024):,} MB" if size >= 1024 * 1024 else f"{size // 1024:,} KB"

"""The local Patreon's CDN: signed file URLs, the files behind them, legacy ``/file`` links.

Every URL handed out carries a fresh ``token-time`` (a serial number), so a test can expire
all the URLs handed out so far (``expire_signatures``) as Patreon's tokens time out.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Protocol

from alejandria_source_patreon.testing.fakes import (
    ORIGINAL,
    FakeCampaign,
    FakeFile,
    FakePost,
    find_post,
    image_bytes,
)
from alejandria_source_patreon.testing.wire import Response


class CdnSite(Protocol):
    """What the CDN reads of the fixture: where it listens and what it serves, and how slow."""

    campaigns: dict[str, FakeCampaign]
    media_delay_s: float

    @property
    def base_url(self) -> str: ...


class Cdn:
    def __init__(self, site: CdnSite) -> None:
        self._site = site
        self._lock = threading.Lock()
        self._serial = 0
        self._valid_from = 0

    def signed(self, path: str) -> str:
        """A URL for ``/cdn/<path>`` with a signature of its own."""
        with self._lock:
            self._serial += 1
            serial = self._serial
        return (f"{self._site.base_url}/cdn/{path}?token-time={serial}"
                f"&token-hash={secrets.token_urlsafe(12)}")

    def file_url(self, post: FakePost, item: FakeFile, rendition: str = ORIGINAL) -> str:
        """A signed CDN URL: a new token on every call, the same hash for every rendition."""
        extension = item.name.rsplit(".", 1)[-1] if "." in item.name else "bin"
        return self.signed(f"p/post/{post.id}/{item.hash}/{rendition}/1.{extension}")

    def expire_signatures(self) -> None:
        """Every URL handed out so far is refused (403)."""
        with self._lock:
            self._valid_from = self._serial + 1

    def legacy_file(self, query: dict[str, str]) -> Response:
        """``/file?h=<post>&i=<attachment>``: a redirect to the attachment's CDN URL."""
        _campaign, post = find_post(self._site.campaigns, query["h"])
        item = next(f for f in post.legacy_attachments if f.id == query["i"])
        return 302, b"", {"Location": self.file_url(post, item)}

    def serve(self, path: str, query: dict[str, str]) -> Response:
        """The file (or HLS playlist, or campaign image) at ``/cdn/...``, whole; 403 when its
        signature has expired; ``KeyError`` when there is no such file."""
        if self._site.media_delay_s:
            time.sleep(self._site.media_delay_s)
        if int(query.get("token-time", "0")) < self._valid_from:
            return 403, b"<Error>Request has expired</Error>", {"Content-Type": "text/xml"}
        if "/hls/" in path:
            playlist = b"#EXTM3U\n#EXT-X-ENDLIST\n"
            return 200, playlist, {"Content-Type": "application/vnd.apple.mpegurl"}
        if path.startswith("/cdn/p/post/"):
            post_id, file_hash = path.split("/")[4:6]
            for campaign in self._site.campaigns.values():
                for post in campaign.posts:
                    if post.id != post_id:
                        continue
                    for item in post.files():
                        if item.hash == file_hash:
                            return 200, item.data, {"Content-Type": item.mimetype}
        if path.startswith("/cdn/p/campaign/"):
            return 200, image_bytes(0, "PNG", 8), {"Content-Type": "image/png"}
        raise KeyError(path)

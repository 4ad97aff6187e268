"""Walking ``/api/posts`` page by page, following ``links.next``.

The whole listing is read before any file is downloaded: Patreon's next-page links expire
(after about 30 minutes), so a walk interleaved with slow downloads would break off. A link
that has expired anyway (HTTP 400/410) restarts the walk from a fresh first page; posts
already read are kept, so a restart costs only the pages re-read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from alejandria.errors import SourceError
from alejandria_source_patreon import queries
from alejandria_source_patreon.client import ExpiredLink, PatreonClient
from alejandria_source_patreon.jsonapi import Document
from alejandria_source_patreon.posts import ParsedPost, parse_post

log = logging.getLogger(__name__)

MAX_RESTARTS = 3
#: A walk stops after this many pages whatever happens (a server that loops its links).
MAX_PAGES = 100_000

#: Called with each page's posts; True stops the walk after that page.
StopRule = Callable[[list[ParsedPost]], bool]


def walk_posts(client: PatreonClient, campaign_id: str, *, stop: StopRule,
               collection_id: str | None = None, label: str = "") -> list[ParsedPost]:
    """Every post the listing yields until ``stop`` says enough, each once, in listing order."""
    params = queries.posts_listing(campaign_id, collection_id)
    base_url = client.config.base_url
    seen: dict[str, ParsedPost] = {}
    url: str | None = None
    restarts = pages = 0
    subject = label or f"campaign {campaign_id}"
    while pages < MAX_PAGES:
        pages += 1
        try:
            if url is None:
                payload = client.api("posts", params, subject=f"the posts of {subject}")
            else:
                payload = client.follow(url, subject=f"page {pages} of the posts of {subject}")
        except ExpiredLink:
            restarts += 1
            if restarts > MAX_RESTARTS:
                raise SourceError(f"{subject}: Patreon's next-page links keep expiring before "
                                  "they are read; try again later") from None
            log.info("patreon: next-page link of %s expired; listing again", subject)
            url = None
            continue
        document = Document(payload)
        page = [parse_post(document, resource, campaign_id, base_url)
                for resource in document.data if resource.get("type") == "post"]
        for post in page:
            seen.setdefault(post.id, post)
        if not document.next_url or stop(page):
            break
        url = document.next_url
    return list(seen.values())

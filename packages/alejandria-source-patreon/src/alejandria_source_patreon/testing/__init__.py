"""A local Patreon for tests and benchmarks: a real HTTP server on loopback.

It speaks Patreon's JSON:API as the site does: ``/api/current_user`` with memberships,
``/api/campaigns/<id>`` with tiers, ``/api/posts`` pages with ``included`` media, attachments,
access rules, tiers, tags and collections and expiring ``links.next`` cursors, single posts,
comments, ``/api/collection/<id>``, creator pages in several generations of markup, legacy
``/file?h=&i=`` redirects and a CDN whose URLs carry a fresh signature on every listing and
that answers ``Range: bytes=N-``. It counts requests per path and injects faults on demand
(429 with ``Retry-After``, 5xx, Cloudflare's 403, 426, an expired session, expired cursors
and signatures, downloads cut off halfway).

    with PatreonFixture() as site:
        campaign = site.add_campaign(demo_campaign())
        # the source's settings: ALEJANDRIA_PATREON_BASE_URL=site.base_url,
        # ALEJANDRIA_PATREON_SESSION_ID=site.session_id

Modules: ``server`` (the fixture: state, faults, counts, routing), ``api`` (the JSON:API
documents), ``cdn`` (signed file URLs and the files), ``pages`` (creator pages), ``wire``
(writing responses), ``fakes`` (the content types) and ``content`` (ready-made creators).
"""

from alejandria_source_patreon.testing.content import EPOCH, demo_campaign, tiptap
from alejandria_source_patreon.testing.fakes import (
    FakeCampaign,
    FakeFile,
    FakePost,
    image_bytes,
    tiny_pdf,
)
from alejandria_source_patreon.testing.pages import creator_page
from alejandria_source_patreon.testing.server import PatreonFixture

__all__ = [
    "EPOCH",
    "FakeCampaign",
    "FakeFile",
    "FakePost",
    "PatreonFixture",
    "creator_page",
    "demo_campaign",
    "image_bytes",
    "tiny_pdf",
    "tiptap",
]

"""A local Gumroad for tests and benchmarks: real HTTP servers on loopback.

It serves ``/library`` in both formats Gumroad has used (React-on-Rails ``LibraryPage``
props, or the Inertia ``Library/Index`` page, paginated, raw JSON to ``X-Inertia: true``),
download pages ``/d/<token>`` with files and folders, file links that redirect to signed URLs
on a second server, product pages and ``/login`` for an expired session. Shapes:
``/work/shared/research/gumroad-pages.md``.

    with GumroadFixture(format="inertia", page_size=2) as site:
        site.add(*demo_library())
        # the source's settings: ALEJANDRIA_GUMROAD_BASE_URL=site.base_url,
        # ALEJANDRIA_GUMROAD_APP_SESSION=site.app_session, and site.files.host allowed
"""

from alejandria_source_gumroad.testing.fakes import (
    FakeFile,
    FakePage,
    FakeProduct,
    FakePurchase,
    FakeSeller,
    FakeUpdate,
    demo_library,
    file_bytes,
    many_purchases,
)
from alejandria_source_gumroad.testing.server import GumroadFixture

__all__ = ["FakeFile", "FakePage", "FakeProduct", "FakePurchase", "FakeSeller", "FakeUpdate",
           "GumroadFixture", "demo_library", "file_bytes", "many_purchases"]

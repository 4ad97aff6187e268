"""A real TeX-made PDF: Debian's Developer's Reference (package ``developers-reference``).

pypdf glues the words of this file together ("AcopyoftheGNUGeneralPublicLicense..."); PDFium
keeps the spaces. The check: (almost) no runs of 22+ letters on any page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from alejandria.models import PostIn, SyncItem
from alejandria.testing import require

DEVREF = Path("/usr/share/developers-reference/developers-reference.pdf")
LONG_RUN = re.compile(r"[^\W\d_]{22,}")


@pytest.fixture(scope="module")
def devref() -> Path:
    require(DEVREF.exists(), f"{DEVREF} is missing; install it with: "
            "sudo apt-get update && sudo apt-get install -y developers-reference")
    return DEVREF


def test_words_keep_their_spaces_and_chapters_follow_the_outline(
    devref: Path, fetch_all: Callable[..., list[SyncItem]]
) -> None:
    posts = [item for item in fetch_all(devref) if isinstance(item, PostIn)]
    pages = [chunk for post in posts for chunk in post.chunks]
    text = "\n".join(chunk.text for chunk in pages)

    assert len(pages) > 100
    long_runs = LONG_RUN.findall(text)
    assert len(long_runs) <= 3, long_runs  # e.g. the identifier "AutomaticDebugPackages"
    flat = " ".join(text.split())
    assert "A copy of the GNU General Public License is available as" in flat
    assert "Getting started" in text

    titles = [post.title for post in posts]
    assert titles[0] == "Front matter"
    assert "Applying to Become a Member" in titles
    assert "Best Packaging Practices" in titles
    chapter = next(post for post in posts if post.title == "Applying to Become a Member")
    assert "Getting started" in chapter.text
    assert [chunk.page for chunk in chapter.chunks] == list(
        range(chapter.metadata["first_page"], chapter.metadata["last_page"] + 1)
    )

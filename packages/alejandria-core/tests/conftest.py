"""Shared fixtures: an in-memory source whose content each test writes."""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from alejandria import hookimpl
from alejandria.errors import ItemRejected
from alejandria.models import JsonDict, MediaIn, SyncItem, SyncTarget
from alejandria.plugin_types import BaseSource, SourceContext, SourceSpec

# the local HTTP site of the alejandria.net tests, and a client of it
from .net_site import make_client, site, sleeps  # noqa: F401


class MemorySource(BaseSource):
    """Serves ``content[target]`` (a list of items, or an exception to raise) for each target;
    an exception in the list is raised when the stream reaches it.

    ``blobs`` holds streamed media bytes by key; ``opened`` records every media fetch.
    """

    content: dict[str, list[SyncItem] | Exception] = {}
    blobs: dict[str, bytes] = {}
    opened: list[str] = []

    def __init__(self, context: SourceContext) -> None:
        self.context = context

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        for target in targets:
            yield SyncTarget(scope=target, label=target, locator=target)

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        items = self.content.get(target.locator)
        if items is None:
            raise ItemRejected(target.label, "no such target")
        if isinstance(items, Exception):
            raise items
        for item in items:
            if isinstance(item, Exception):  # the source fails at this point of the stream
                raise item
            yield item

    def open_media(self, media: MediaIn) -> contextlib.AbstractContextManager[BinaryIO]:
        self.opened.append(media.key)
        return contextlib.closing(io.BytesIO(self.blobs[media.key]))


class MemoryPlugin:
    @hookimpl
    def register_sources(self) -> list[SourceSpec]:
        return [SourceSpec(name="memory", factory=MemorySource)]


@pytest.fixture
def memory_source(register_plugin: Callable[..., None]) -> Iterator[type[MemorySource]]:
    MemorySource.content = {}
    MemorySource.blobs = {}
    MemorySource.opened = []
    MemorySource.media_concurrency = 1
    register_plugin(MemoryPlugin(), name="memory-test")
    yield MemorySource


def count_rows(archive: Any, table: str) -> int:
    from sqlalchemy import text

    with archive.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def count() -> Callable[[Any, str], int]:
    """``count(archive, "posts")``: rows in a table."""
    return count_rows


@pytest.fixture
def server_root() -> Iterator[Path]:
    """A folder for an embedded Postgres of the test's own, outside pytest's temporary root.

    Run as root, pgserver runs Postgres as its own user and opens the folders above the data
    dir to it; any other pytest session that starts meanwhile makes pytest's root private
    again (0700), and the server can then neither finish initdb nor write its control file at
    shutdown (seen with two runs at once: "could not open file .../global/pg_control:
    Permission denied").
    """
    root = Path(tempfile.mkdtemp(prefix="alejandria-test-server-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)

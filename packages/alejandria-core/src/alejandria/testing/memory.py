"""A source whose content a test or a benchmark sets in memory: ``memory_plugin(name, items,
blobs)`` registers a source called ``name`` that yields ``items`` (creators, posts, …) for any
target and streams media bytes from ``blobs`` by key. Each call makes its own source class, so
several can be registered at once; the class is the spec's ``factory``, whose ``items`` and
``blobs`` a test may replace (an edited post, a second sync)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, BinaryIO, ClassVar

from alejandria import hookimpl
from alejandria.models import JsonDict, MediaIn, SyncTarget
from alejandria.plugin_types import BaseSource, SourceContext, SourceSpec


class MemorySource(BaseSource):
    items: ClassVar[list[Any]] = []
    blobs: ClassVar[dict[str, bytes]] = {}

    def __init__(self, context: SourceContext) -> None:
        self.context = context

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        for target in targets:
            yield SyncTarget(scope=target, label=target, locator=target)

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[Any]:
        yield from self.items

    def open_media(self, media: MediaIn) -> contextlib.AbstractContextManager[BinaryIO]:
        return contextlib.closing(io.BytesIO(self.blobs[media.key]))


class _MemoryPlugin:
    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec

    @hookimpl
    def register_sources(self) -> list[SourceSpec]:
        return [self.spec]


def memory_plugin(name: str, items: Sequence[Any] = (),
                  blobs: Mapping[str, bytes] | None = None) -> Any:
    """A plugin object to register (``register_plugin(memory_plugin(...))``)."""
    source = type(f"MemorySource_{name}", (MemorySource,),
                  {"items": list(items), "blobs": dict(blobs or {})})
    return _MemoryPlugin(SourceSpec(name=name, factory=source))

"""The media job types: ``process_media`` (processors over files lacking their output, on the
``media`` queue, or on a processor's own queue) and ``download_embeds`` (embedded videos)."""

from __future__ import annotations

from typing import Any

from alejandria.context import ArchiveContext
from alejandria.media.processing import process_media as run_processors
from alejandria.media.video.embeds import download_embeds as download
from alejandria.queue.runner import Progress, quiet


def process_media(context: ArchiveContext, *, processor: str | None = None,
                  processors: list[str] | None = None, source: str | None = None,
                  progress: Progress = quiet) -> dict[str, Any]:
    """``processor`` (one name) or ``processors`` (names) restrict the run; neither: all."""
    names = processors if processor is None else [processor, *(processors or [])]
    return run_processors(context, processors=names, source=source,
                          progress=lambda done, total, _label: progress(done, total)).as_dict()


def download_embeds(context: ArchiveContext, progress: Progress = quiet) -> dict[str, Any]:
    report = download(context)
    return {"downloaded": report.downloaded, "reused": report.reused,
            "rescheduled": report.rescheduled,
            "failed": [error.model_dump() for error in report.failed]}

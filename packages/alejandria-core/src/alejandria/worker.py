"""The worker process's composition: a Celery app whose workers open one archive per process
(plugins load once) and run every job with its context.

``alejandria worker`` starts one; ``celery -A alejandria.worker flower`` points Celery's own
tools (Flower, ``inspect``) at the same app. Importing this module reads the settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alejandria.api import Archive
from alejandria.queue.celery_app import make_celery
from alejandria.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

    from alejandria.context import ArchiveContext


def make_worker_app(settings: Settings) -> Celery:
    """The app ``alejandria worker`` runs: jobs run on ``Archive.open(settings=settings)``."""

    def open_context() -> ArchiveContext:
        return Archive.open(settings=settings).context

    return make_celery(settings, open_host=open_context)


def __getattr__(name: str) -> object:
    # ``celery -A alejandria.worker`` looks for ``app``; built on first access, not at import
    if name == "app":
        return make_worker_app(Settings())
    raise AttributeError(f"module 'alejandria.worker' has no attribute {name!r}")

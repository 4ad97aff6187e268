"""A module-level Celery app for tools that want ``-A``: ``celery -A alejandria.queue.app
flower`` shows Alejandria's workers and tasks. Importing it reads the settings."""

from __future__ import annotations

from alejandria.queue.celery_app import make_celery
from alejandria.settings import Settings

app = make_celery(Settings())

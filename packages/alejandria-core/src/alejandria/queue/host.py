"""What the queue needs of an open archive to run jobs: its settings, the job ledger and the
registered job types. ``alejandria.context.ArchiveContext`` is one; the queue never imports the
services its jobs call, so the dependency runs one way: services submit jobs, jobs call them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from alejandria.plugin_types import JobTypeSpec
    from alejandria.queue.ledger import JobStore
    from alejandria.settings import Settings


class JobHost(Protocol):
    """An open archive as the queue sees it; job functions receive it as their first argument."""

    @property
    def settings(self) -> Settings: ...

    @property
    def jobs(self) -> JobStore: ...

    @property
    def engine(self) -> Engine: ...

    def job_type(self, name: str) -> JobTypeSpec:
        """The job type called ``name``; ``UnknownName`` when none is registered."""
        ...

"""When beat runs the daily jobs: the hour saved in ``system_config`` (``alejandria beat
--hour``), else ``ALEJANDRIA_DAILY_SYNC_HOUR``."""

from __future__ import annotations

from alejandria.context import ArchiveContext
from alejandria.storage.config_store import read_value, write_value

SCHEDULE_KEY = "schedule"


def daily_sync_hour(context: ArchiveContext, *, save: int | None = None) -> int:
    """The hour (0-23) of the daily sync; ``save`` stores a new one first."""
    with context.engine.begin() as conn:
        if save is not None:
            write_value(conn, SCHEDULE_KEY, {"daily_sync_hour": save},
                        description="when beat runs daily jobs")
        saved = read_value(conn, SCHEDULE_KEY)
    return int((saved or {}).get("daily_sync_hour", context.settings.daily_sync_hour))

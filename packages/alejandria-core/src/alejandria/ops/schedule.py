"""When beat runs the daily jobs: the hour saved in ``system_config`` (``alejandria beat
--hour``), else ``ALEJANDRIA_DAILY_SYNC_HOUR``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from alejandria.context import ArchiveContext
from alejandria.storage.schema import system_config

SCHEDULE_KEY = "schedule"


def daily_sync_hour(context: ArchiveContext, *, save: int | None = None) -> int:
    """The hour (0-23) of the daily sync; ``save`` stores a new one first."""
    with context.engine.begin() as conn:
        if save is not None:
            value = {"daily_sync_hour": save}
            conn.execute(insert(system_config).values(
                key=SCHEDULE_KEY, value=value, description="when beat runs daily jobs")
                .on_conflict_do_update(index_elements=[system_config.c.key],
                                       set_={"value": value}))
        saved = conn.execute(select(system_config.c.value)
                             .where(system_config.c.key == SCHEDULE_KEY)).scalar_one_or_none()
    return int((saved or {}).get("daily_sync_hour", context.settings.daily_sync_hour))

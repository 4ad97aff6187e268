"""Beat backs the archive up on ``ALEJANDRIA_BACKUP_SCHEDULE``: a ``backup`` job."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alejandria.backup.location import Location
from alejandria.errors import ConfigurationError
from alejandria.queue.broker import beat_schedule
from alejandria.settings import Settings

from .backup_helpers import alejandria_settings_overrides, fill  # noqa: F401 (fixture)


def test_beat_backs_up_only_when_a_schedule_is_set(tmp_path):
    assert "backup" not in beat_schedule(Settings(data_dir=tmp_path))
    entry = beat_schedule(Settings(data_dir=tmp_path, backup_schedule="30  4 * * 1-5"))["backup"]
    assert entry["args"] == ["backup"]
    assert entry["schedule"].hour == {4} and entry["schedule"].minute == {30}
    assert entry["schedule"].day_of_week == {1, 2, 3, 4, 5}


def test_a_bad_schedule_names_the_setting(tmp_path):
    with pytest.raises(ValidationError, match="five fields"):
        Settings(data_dir=tmp_path, backup_schedule="every day")
    with pytest.raises(ConfigurationError, match="ALEJANDRIA_BACKUP_SCHEDULE"):
        beat_schedule(Settings(data_dir=tmp_path, backup_schedule="99 4 * * *"))


def test_the_backup_job_backs_up_into_the_configured_location(archive, memory_source, open_archive,
                                                              tmp_path):
    fill(archive, memory_source)
    scheduled = open_archive(backup_dir=tmp_path / "nightly")

    job_id = scheduled.submit("backup")

    job = scheduled.jobs.get(job_id)
    assert job.status == "completed", job.error
    assert job.result["blobs"]["copied"] == 4 and job.result["missing"] == []
    assert len(Location(tmp_path / "nightly").snapshots()) == 1

"""The commands as a user runs them: ``backup``, ``backup verify``, ``restore``, ``export``."""

from __future__ import annotations

import pytest

from .backup_helpers import alejandria_settings_overrides, fill  # noqa: F401 (fixture)


@pytest.mark.slow
def test_backup_verify_restore_export_commands(archive, memory_source, alejandria_cli,
                                               tmp_path):
    fill(archive, memory_source)
    to = tmp_path / "backups"

    made = alejandria_cli("backup", "--to", to, "--json")
    assert made.returncode == 0, made.stderr
    assert made.json()["blobs"]["copied"] == 4

    checked = alejandria_cli("backup", "verify", to, "--json")
    assert checked.returncode == 0, checked.stderr
    assert checked.json()["ok"] and checked.json()["database_restored"]

    refused = alejandria_cli("restore", to)
    assert refused.returncode == 2
    assert "the archive is not empty" in refused.stderr and "--force" in refused.stderr

    exported = alejandria_cli("export", tmp_path / "out")
    assert exported.returncode == 0, exported.stderr
    assert "exported 3 posts and 4 files" in exported.stdout
    assert "s3cret" not in made.stdout + checked.stdout + refused.stderr + exported.stdout

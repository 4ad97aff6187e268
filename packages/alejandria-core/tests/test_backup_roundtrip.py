"""Backup -> wipe -> restore gives the same archive; restore refuses to overwrite by accident
and puts the archive back when it fails half-way."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from alejandria.backup import BackupError
from alejandria.backup.create import create_backup
from alejandria.backup.location import Location
from alejandria.backup.manifest import DUMP_NAME, read_manifest, write_manifest
from alejandria.backup.restore import SAFETY_DIR, restore_backup
from alejandria.models import Checkpoint, CreatorIn, PostIn
from alejandria.storage.credentials import KEY_FILE_NAME, CredentialStore

from .accounts_helpers import PASSWORD
from .backup_helpers import SECRET, alejandria_settings_overrides, fill, picture  # noqa: F401


@pytest.fixture
def empty_database_url(alejandria_server_url: str,
                       alejandria_template_url: str) -> Iterator[str]:
    """A second fresh, migrated, empty database (the archive to restore into)."""
    admin = create_engine(alejandria_server_url, isolation_level="AUTOCOMMIT",
                          poolclass=NullPool)
    template = make_url(alejandria_template_url).database
    name = f"alejandria_restore_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(alejandria_server_url).set(database=name) \
            .render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_backup_wipe_restore_gives_the_same_archive(archive, memory_source, open_archive,
                                                    empty_database_url, tmp_path):
    filled = fill(archive, memory_source)
    before = picture(archive)
    backups = tmp_path / "backups"

    made = create_backup(archive.context, to=backups)
    assert made.ok and made.blobs.copied == 4  # three media files and one thumbnail
    archive.close()

    # the wipe: a new, empty database and a new data dir holding only the same secret key
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    shutil.copy2(archive.settings.data_dir / KEY_FILE_NAME, restored_dir / KEY_FILE_NAME)
    target = open_archive(database_url=empty_database_url, data_dir=restored_dir)
    assert target.stats()["posts"] == 0

    report = restore_backup(target.context, backups)

    assert report.warnings == [] and report.safety_copy is None
    assert not (restored_dir / SAFETY_DIR).exists() or not any((restored_dir / SAFETY_DIR)
                                                               .iterdir())
    after = picture(target)
    assert after["tables"] == before["tables"]  # every row: counts, users, personal data, ...
    assert after["media"] == before["media"]  # every media SHA-256, by hashing the files
    assert set(after["media"]) == {name for name in after["media"]
                                   if after["media"][name] == name}
    assert after["derived"] == before["derived"]
    assert after["searches"] == before["searches"] and after["searches"]["carta natal"]
    # credentials are still encrypted in the database, and the same key reads them
    with target.engine.connect() as conn:
        ciphertext = bytes(conn.execute(text("SELECT ciphertext FROM source_credentials"))
                           .scalar_one())
    assert SECRET["session_id"].encode() not in ciphertext
    assert CredentialStore(target.engine, restored_dir).get("memory") == SECRET
    # users sign in with their password; their personal data is theirs again
    from alejandria.accounts.service import build_services

    services = build_services(target.engine, target.settings)
    user = services.accounts.authenticate("ana", PASSWORD)
    assert user.id == filled.user_id
    personal = target.personal(user)
    assert [lst.name for lst in personal.lists.list()] == ["Favoritas"]
    assert [note.markdown for note in personal.notes.list()] == ["Revisar *abril*."]


def test_restore_warns_when_the_secret_key_differs(archive, memory_source, open_archive,
                                                   empty_database_url, tmp_path):
    fill(archive, memory_source)
    create_backup(archive.context, to=tmp_path / "backups")
    target = open_archive(database_url=empty_database_url, data_dir=tmp_path / "other-key")
    CredentialStore(target.engine, tmp_path / "other-key").set("other", {"x": "y"})  # new key
    with target.engine.begin() as conn:
        conn.execute(text("DELETE FROM source_credentials"))

    report = restore_backup(target.context, tmp_path / "backups")

    assert len(report.warnings) == 1 and "another secret key" in report.warnings[0]


def test_restore_refuses_an_archive_with_content(archive, memory_source, tmp_path, count):
    fill(archive, memory_source)
    create_backup(archive.context, to=tmp_path / "backups")

    with pytest.raises(BackupError, match=r"not empty \(1 creators, 3 posts.*--force"):
        restore_backup(archive.context, tmp_path / "backups")
    assert count(archive, "posts") == 3


def test_forced_restore_that_fails_puts_the_archive_back(archive, memory_source, open_archive,
                                                         empty_database_url, tmp_path):
    fill(archive, memory_source)
    made = create_backup(archive.context, to=tmp_path / "backups")
    # a dump cut short while it was written, its manifest written after it all the same
    dump = made.snapshot / DUMP_NAME
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size * 2 // 3])
    manifest = read_manifest(made.snapshot)
    from alejandria.backup.blobs import hash_file

    manifest.dump_size, manifest.dump_sha256 = dump.stat().st_size, hash_file(dump)
    write_manifest(made.snapshot, manifest)

    other = open_archive(database_url=empty_database_url, data_dir=tmp_path / "other")
    memory_source.content["o"] = [CreatorIn(external_id="bo", name="Bo"),
                                  PostIn(external_id="kept", creator_external_id="bo",
                                         title="Lo que había antes", text="sigue aquí"),
                                  Checkpoint()]
    assert other.sync("memory", "o").ok

    with pytest.raises(BackupError, match="put back as it was") as failed:
        restore_backup(other.context, made.snapshot, force=True)

    assert "restore-safety" in str(failed.value)
    assert [hit.title for hit in other.search("sigue")] == ["Lo que había antes"]
    assert other.stats()["posts"] == 1


def test_forced_restore_replaces_the_archive_and_keeps_a_safety_copy(
        archive, memory_source, open_archive, empty_database_url, tmp_path):
    fill(archive, memory_source)
    create_backup(archive.context, to=tmp_path / "backups")
    other = open_archive(database_url=empty_database_url, data_dir=tmp_path / "other")
    memory_source.content["o"] = [CreatorIn(external_id="bo", name="Bo"),
                                  PostIn(external_id="gone", creator_external_id="bo",
                                         title="Reemplazado", text="adiós"), Checkpoint()]
    assert other.sync("memory", "o").ok

    report = restore_backup(other.context, tmp_path / "backups", force=True)

    assert report.safety_copy is not None and (report.safety_copy / DUMP_NAME).is_file()
    assert other.stats()["posts"] == 3
    assert other.search("adiós") == []


def test_restore_of_a_backup_lacking_a_blob_changes_nothing(archive, memory_source,
                                                            open_archive, empty_database_url,
                                                            tmp_path):
    fill(archive, memory_source)
    made = create_backup(archive.context, to=tmp_path / "backups")
    lost = next(iter(made.manifest.media))
    Location(tmp_path / "backups").blob_path(lost).unlink()
    target = open_archive(database_url=empty_database_url, data_dir=tmp_path / "t")

    with pytest.raises(BackupError, match=f"lacks 1 of its blob.*{lost}.*backup verify"):
        restore_backup(target.context, tmp_path / "backups")
    assert target.stats()["posts"] == 0


def test_backup_is_consistent_json(archive, memory_source, tmp_path):
    fill(archive, memory_source)
    made = create_backup(archive.context, to=tmp_path / "backups")
    data = json.loads((made.snapshot / "manifest.json").read_text())
    assert data["counts"]["posts"] == 3 and len(data["media"]) == 3
    assert data["key_fingerprint"] and SECRET["session_id"] not in json.dumps(data)

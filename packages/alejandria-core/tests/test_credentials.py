"""Per-source secrets: encrypted at rest, never shown, used by syncs that are given none."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator, Sequence

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from alejandria import hookimpl
from alejandria.cli.main import cli
from alejandria.errors import ConfigurationError
from alejandria.models import Checkpoint, JsonDict, SyncItem, SyncTarget
from alejandria.plugin_types import BaseSource, SourceContext, SourceSpec
from alejandria.storage.credentials import KEY_FILE_NAME, CredentialStore, Secrets, fernet_key

SECRET = "s3cr3t-session-value-1234"


@pytest.fixture
def store(archive, monkeypatch) -> CredentialStore:
    monkeypatch.delenv("ALEJANDRIA_SECRET_KEY", raising=False)
    return CredentialStore(archive.engine, archive.settings.data_dir)


def test_secrets_round_trip_and_are_encrypted_at_rest(store, archive) -> None:
    store.set("patreon", {"session_id": SECRET})

    assert store.get("patreon") == {"session_id": SECRET}
    assert store.get("gumroad") is None
    with archive.engine.connect() as conn:
        blob = bytes(conn.execute(text("SELECT ciphertext FROM source_credentials")).scalar_one())
    assert SECRET.encode() not in blob


def test_the_key_file_is_created_once_readable_only_by_its_owner(store, archive) -> None:
    key_file = archive.settings.data_dir / KEY_FILE_NAME
    assert store.get("patreon") is None and not key_file.exists()

    store.set("patreon", {"session_id": SECRET})
    first = key_file.read_text()
    store.set("patreon", {"session_id": "other"})

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text() == first


def test_a_key_from_the_environment_is_used_instead_of_the_file(archive) -> None:
    env = {"ALEJANDRIA_SECRET_KEY": "a long passphrase, not a Fernet key"}
    with_env = CredentialStore(archive.engine, archive.settings.data_dir, env=env)
    with_env.set("patreon", {"session_id": SECRET})

    assert with_env.get("patreon") == {"session_id": SECRET}
    assert not (archive.settings.data_dir / KEY_FILE_NAME).exists()
    other = CredentialStore(archive.engine, archive.settings.data_dir,
                            env={"ALEJANDRIA_SECRET_KEY": "another passphrase"})
    with pytest.raises(ConfigurationError) as caught:
        other.get("patreon")
    assert "cannot be decrypted" in str(caught.value)
    assert "alejandria credentials set patreon" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_fernet_key_is_used_as_it_is() -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key()
    assert fernet_key(key.decode()) == key
    assert fernet_key("passphrase") != fernet_key("passphrase2")


def test_list_and_delete_never_show_values(store) -> None:
    store.set("patreon", {"session_id": SECRET})

    listed = store.list()

    assert [(c.source, c.fields) for c in listed] == [("patreon", ("session_id",))]
    assert SECRET not in repr(listed)
    assert SECRET not in repr(Secrets(session_id=SECRET))
    assert store.delete("patreon") is True
    assert store.delete("patreon") is False
    assert store.get("patreon") is None


class Recorder(BaseSource):
    seen: list[JsonDict | None] = []

    def __init__(self, context: SourceContext) -> None:
        Recorder.seen.append(context.credentials)

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        for target in targets:
            yield SyncTarget(scope=target, label=target, locator=target)

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        yield Checkpoint()


class RecorderPlugin:
    @hookimpl
    def register_sources(self) -> list[SourceSpec]:
        return [SourceSpec(name="recorder", factory=Recorder)]


def test_sync_uses_stored_credentials_unless_given_some(archive, store, register_plugin) -> None:
    register_plugin(RecorderPlugin(), name="recorder-test")
    Recorder.seen = []
    archive.sync("recorder", "x")
    store.set("recorder", {"token": SECRET})
    archive.sync("recorder", "x")
    archive.sync("recorder", "x", credentials={"token": "given"})

    assert Recorder.seen == [None, {"token": SECRET}, {"token": "given"}]


@pytest.fixture
def run(alejandria_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ALEJANDRIA_DATABASE_URL", alejandria_database_url)
    monkeypatch.setenv("ALEJANDRIA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ALEJANDRIA_SECRET_KEY", raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def test_cli_set_prompts_hidden_and_never_prints_the_secret(run, caplog) -> None:
    caplog.set_level(logging.DEBUG)

    stored = run("credentials", "set", "files", input=SECRET + "\n")
    listed = run("credentials", "list", "--json")

    assert stored.exit_code == 0, stored.output
    assert "stored files credentials (token), encrypted" in stored.output
    assert SECRET not in stored.output and SECRET not in listed.output
    assert SECRET not in caplog.text
    assert [(item["source"], item["fields"]) for item in json.loads(listed.output)] == [
        ("files", ["token"])]


def test_cli_set_from_env_then_delete(run, monkeypatch) -> None:
    missing = run("credentials", "set", "files", "--from-env")
    monkeypatch.setenv("ALEJANDRIA_FILES_TOKEN", SECRET)
    stored = run("credentials", "set", "files", "--from-env")
    deleted = run("credentials", "delete", "files")
    again = run("credentials", "delete", "files")

    assert missing.exit_code == 1 and "ALEJANDRIA_FILES_TOKEN is not set" in missing.output
    assert stored.exit_code == 0 and SECRET not in stored.output
    assert deleted.exit_code == 0 and "deleted files credentials" in deleted.output
    assert again.exit_code == 1 and "no stored credentials for 'files'" in again.output

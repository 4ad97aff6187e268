"""Credentials keyed by (source, account): two accounts of one source, and an archive from
before accounts existed keeps its secrets as the default account."""

from __future__ import annotations

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from alejandria.cli.main import cli
from alejandria.storage.credentials import CredentialStore
from alejandria.storage.migrate import alembic_config


@pytest.fixture
def store(archive, monkeypatch) -> CredentialStore:
    monkeypatch.delenv("ALEJANDRIA_SECRET_KEY", raising=False)
    return CredentialStore(archive.engine, archive.settings.data_dir)


def test_two_accounts_of_one_source_are_kept_apart(store):
    store.set("patreon", {"session_id": "mine"})
    store.set("patreon", {"session_id": "my-partner's"}, account="ana")

    assert store.get("patreon") == {"session_id": "mine"}
    assert store.get("patreon", account="ana") == {"session_id": "my-partner's"}
    assert [(c.source, c.account) for c in store.list()] == [("patreon", "ana"),
                                                             ("patreon", "default")]
    assert store.delete("patreon", account="ana")
    assert store.get("patreon", account="ana") is None
    assert store.get("patreon") == {"session_id": "mine"}


def test_the_cli_names_the_account(archive, store, monkeypatch):
    monkeypatch.setenv("ALEJANDRIA_DATABASE_URL", archive.settings.database_url
                       .get_secret_value())
    monkeypatch.setenv("ALEJANDRIA_DATA_DIR", str(archive.settings.data_dir))
    monkeypatch.setenv("ALEJANDRIA_FILES_TOKEN", "t0k3n")
    runner = CliRunner()

    stored = runner.invoke(cli, ["credentials", "set", "files", "--from-env", "--no-check",
                                 "--account", "work"])
    listed = runner.invoke(cli, ["credentials", "list", "--json"])
    missing = runner.invoke(cli, ["credentials", "delete", "files"])

    assert stored.exit_code == 0, stored.output
    assert "account 'work'" in stored.output and "t0k3n" not in stored.output
    assert '"account": "work"' in listed.output
    assert missing.exit_code != 0 and "no stored credentials for 'files'" in missing.output
    assert store.get("files", account="work") == {"token": "t0k3n"}


def test_secrets_stored_before_accounts_existed_become_the_default_account(
        alejandria_server_url, tmp_path, monkeypatch):
    """An archive at revision 0005 upgrades with its credentials readable as before."""
    from sqlalchemy import text

    from alejandria.storage.migrate import upgrade

    monkeypatch.delenv("ALEJANDRIA_SECRET_KEY", raising=False)
    name = f"alejandria_cred_{tmp_path.name[-8:].lower()}".replace("-", "_")
    admin = create_engine(alejandria_server_url, isolation_level="AUTOCOMMIT",
                          poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(admin.url.set(database=name), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), "0005")
        with engine.begin() as conn:  # what the store of 0005 wrote: one row per source
            conn.execute(text("INSERT INTO source_credentials (source, ciphertext) "
                              "VALUES ('patreon', :blob)"),
                         {"blob": _encrypted(tmp_path, {"session_id": "old"})})

        upgrade(engine)

        assert CredentialStore(engine, tmp_path).get("patreon") == {"session_id": "old"}
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _encrypted(data_dir, secrets) -> bytes:
    import json

    from cryptography.fernet import Fernet

    from alejandria.storage.credentials import load_key

    key = load_key(data_dir, create=True)
    assert key is not None
    return bytes(Fernet(key).encrypt(json.dumps(secrets).encode()))

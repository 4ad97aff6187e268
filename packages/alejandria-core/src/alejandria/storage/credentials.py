"""Per-source secrets (a session cookie, an API token), stored encrypted in the database.

Each account's secrets at a source are one JSON object encrypted with Fernet (AES-128-CBC +
HMAC-SHA256), keyed by (source, account): ``default`` unless a user keeps several accounts of
one source.
The key comes from ``ALEJANDRIA_SECRET_KEY`` when set (a Fernet key, or any passphrase, which
is stretched into one), otherwise from ``secret.key`` in the data dir, created on first use
with mode 0600. The database alone is not enough to read a secret: a leaked dump or backup
without the key file reveals nothing.

Secrets never appear in logs, errors or ``repr``: ``Secrets`` hides its values, and errors
name only the source.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from alejandria.errors import ConfigurationError
from alejandria.storage.audit import Trigger, record_trigger
from alejandria.storage.schema import source_credentials

SECRET_KEY_ENV = "ALEJANDRIA_SECRET_KEY"
KEY_FILE_NAME = "secret.key"


class Secrets(dict[str, Any]):
    """A source's secrets: a dict whose ``repr`` never shows the values."""

    def __repr__(self) -> str:
        return f"Secrets({', '.join(sorted(self))})"

    __str__ = __repr__


#: The account name when none is given.
DEFAULT_ACCOUNT = "default"


@dataclass(frozen=True)
class StoredCredential:
    """What ``list`` shows about stored credentials: never the values."""

    source: str
    fields: tuple[str, ...]
    updated_at: datetime
    account: str = DEFAULT_ACCOUNT


def _fernet(key: bytes) -> Any:
    from cryptography.fernet import Fernet

    return Fernet(key)


def fernet_key(value: str) -> bytes:
    """``value`` itself when it is a Fernet key, else a key derived from it (a passphrase)."""
    raw = value.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(b"alejandria-credentials:" + raw).digest())


def load_key(data_dir: Path, env: Mapping[str, str] | None = None, *, create: bool) -> bytes | None:
    """The encryption key: from ``ALEJANDRIA_SECRET_KEY``, else the data dir's key file.

    With ``create`` a missing key file is made (0600, atomically: a concurrent process that
    wins the race is used instead); without it, a missing file gives None.
    """
    env = os.environ if env is None else env
    if env.get(SECRET_KEY_ENV):
        return fernet_key(env[SECRET_KEY_ENV])
    path = data_dir / KEY_FILE_NAME
    if path.is_file():
        return fernet_key(path.read_text())
    if not create:
        return None
    from cryptography.fernet import Fernet

    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return fernet_key(path.read_text())
    with os.fdopen(fd, "w") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return fernet_key(path.read_text())


class CredentialStore:
    """Reads and writes the encrypted ``source_credentials`` rows."""

    def __init__(self, engine: Engine, data_dir: Path,
                 env: Mapping[str, str] | None = None) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.env = env

    def set(self, source: str, secrets: Mapping[str, Any], *,
            account: str = DEFAULT_ACCOUNT, trigger: Trigger | None = None) -> None:
        """Store (or replace) the secrets of one account at ``source``; with ``trigger``, an
        audit row naming the source, the account and the field names (never a value)."""
        key = load_key(self.data_dir, self.env, create=True)
        assert key is not None
        token = _fernet(key).encrypt(json.dumps(dict(secrets), sort_keys=True).encode())
        stmt = insert(source_credentials).values(source=source, account=account,
                                                 ciphertext=token)
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[source_credentials.c.source, source_credentials.c.account],
                set_={"ciphertext": token, "updated_at": func.now()}))
            if trigger is not None:
                record_trigger(conn, trigger, "credentials.set", entity_type="credentials",
                               entity_id=f"{source}/{account}",
                               changes={"source": source, "account": account,
                                        "fields": sorted(secrets)})

    def get(self, source: str, *, account: str = DEFAULT_ACCOUNT) -> Secrets | None:
        """The secrets of one account at ``source``, or None when none are stored."""
        with self.engine.connect() as conn:
            token = conn.execute(select(source_credentials.c.ciphertext).where(
                source_credentials.c.source == source,
                source_credentials.c.account == account)).scalar_one_or_none()
        if token is None:
            return None
        return Secrets(self._decrypt(source, bytes(token)))

    def delete(self, source: str, *, account: str = DEFAULT_ACCOUNT,
               trigger: Trigger | None = None) -> bool:
        """Forget the secrets of one account at ``source``; False when there were none. With
        ``trigger``, a deletion leaves an audit row naming the source and the account."""
        with self.engine.begin() as conn:
            result = conn.execute(delete(source_credentials).where(
                source_credentials.c.source == source,
                source_credentials.c.account == account))
            if result.rowcount and trigger is not None:
                record_trigger(conn, trigger, "credentials.delete", entity_type="credentials",
                               entity_id=f"{source}/{account}",
                               changes={"source": source, "account": account})
        return bool(result.rowcount)

    def list(self) -> list[StoredCredential]:
        """Which accounts of which sources have stored secrets, with their field names (never
        the values)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(source_credentials).order_by(
                source_credentials.c.source, source_credentials.c.account)).all()
        return [StoredCredential(row.source, tuple(sorted(self._decrypt(row.source,
                                                                         bytes(row.ciphertext)))),
                                 row.updated_at, row.account)
                for row in rows]

    def _decrypt(self, source: str, token: bytes) -> dict[str, Any]:
        from cryptography.fernet import InvalidToken

        key = load_key(self.data_dir, self.env, create=False)
        hint = (f"set them again with 'alejandria credentials set {source}', or restore the "
                f"key ({SECRET_KEY_ENV} or {self.data_dir / KEY_FILE_NAME})")
        if key is None:
            raise ConfigurationError(f"the stored credentials of {source!r} cannot be read: "
                                     f"the secret key is missing; {hint}")
        try:
            value = json.loads(_fernet(key).decrypt(token))
        except InvalidToken:
            raise ConfigurationError(
                f"the stored credentials of {source!r} cannot be decrypted with this secret "
                f"key; {hint}") from None
        if not isinstance(value, dict):
            raise ConfigurationError(f"the stored credentials of {source!r} are damaged; {hint}")
        return value

"""TOTP two-factor authentication (pyotp): enrol, confirm, verify, recovery codes, disable.

Enrolling stores a new secret that is not used until the user confirms one code from their
app; confirming enables 2FA and returns ten single-use recovery codes, shown once and stored
as SHA-256 hashes (80 random bits each: a fast hash is enough). A code is accepted one time
step (30 s) early or late, and a time step already used is refused (replay). Secrets are
encrypted with the key of the source credentials (``storage.credentials``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
from sqlalchemy import Connection, Row, delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from alejandria.accounts import audit
from alejandria.accounts.clock import Clock, utc_now
from alejandria.accounts.errors import AccountConflict, BadCredentials, TotpInvalid
from alejandria.accounts.passwords import Passwords
from alejandria.accounts.roles import Permission, require, require_self_or_admin
from alejandria.errors import ConfigurationError, NotFound
from alejandria.models import Actor
from alejandria.storage.credentials import load_key
from alejandria.storage.schema import user_recovery_codes, users

ISSUER = "Alejandria"
RECOVERY_CODES = 10
STEP_S = 30


@dataclass(frozen=True)
class Enrollment:
    """What the user needs to add the account to an authenticator app (shown once)."""

    secret: str
    uri: str
    qr_svg: str

    def __repr__(self) -> str:
        return "Enrollment(secret=***, uri=***, qr_svg=...)"


def _hash_code(code: str) -> str:
    normal = code.strip().replace("-", "").replace(" ", "").lower()
    return hashlib.sha256(normal.encode()).hexdigest()


def new_recovery_code() -> str:
    """Four groups of four base32 characters: 80 random bits."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def looks_like_recovery_code(code: str) -> bool:
    return len(code.strip().replace("-", "").replace(" ", "")) == 16


class Totp:
    """2FA of the accounts in ``users``."""

    def __init__(self, engine: Engine, data_dir: Path, passwords: Passwords, *,
                 now: Clock = utc_now) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.passwords = passwords
        self.now = now

    # -- enrolling ---------------------------------------------------------------------------

    def enrol(self, user_id: int, *, actor: Actor | None = None,
              client: str | None = None) -> Enrollment:
        """Start enrolment: a new secret, its provisioning URI and QR code (SVG). 2FA stays
        off until ``confirm`` gets a code made with it."""
        require_self_or_admin(actor, user_id)
        secret = pyotp.random_base32(32)
        with self.engine.begin() as conn:
            row = self._row(conn, user_id)
            if row.totp_enabled:
                raise AccountConflict("two-factor authentication is already on; disable it "
                                      "first")
            conn.execute(update(users).where(users.c.id == user_id).values(
                totp_secret=self._encrypt(secret), totp_last_step=None))
        uri = pyotp.TOTP(secret).provisioning_uri(name=row.username, issuer_name=ISSUER)
        return Enrollment(secret=secret, uri=uri, qr_svg=_qr_svg(uri))

    def pending(self, user_id: int, *, actor: Actor | None = None) -> Enrollment | None:
        """The enrolment ``enrol`` started and ``confirm`` has not finished (its secret, URI
        and QR code, to show again: a page reloaded halfway), or None. Changes nothing."""
        require_self_or_admin(actor, user_id)
        with self.engine.connect() as conn:
            row = conn.execute(select(users.c.username, users.c.totp_enabled,
                                      users.c.totp_secret).where(users.c.id == user_id)).first()
        if row is None:
            raise NotFound(f"no user {user_id}")
        if row.totp_enabled or row.totp_secret is None:
            return None
        secret = self._decrypt(row.totp_secret)
        uri = pyotp.TOTP(secret).provisioning_uri(name=row.username, issuer_name=ISSUER)
        return Enrollment(secret=secret, uri=uri, qr_svg=_qr_svg(uri))

    def confirm(self, user_id: int, code: str, *, actor: Actor | None = None,
                client: str | None = None) -> list[str]:
        """Turn 2FA on once ``code`` matches the enrolled secret; the recovery codes (shown
        once). ``TotpInvalid`` when the code does not match."""
        require_self_or_admin(actor, user_id)
        with self.engine.begin() as conn:
            row = self._row(conn, user_id)
            if row.totp_enabled:
                raise AccountConflict("two-factor authentication is already on")
            if row.totp_secret is None:
                raise AccountConflict("start with enrol: no two-factor secret is pending")
            step = self._matching_step(self._decrypt(row.totp_secret), code)
            if step is None:
                raise TotpInvalid()
            conn.execute(update(users).where(users.c.id == user_id).values(
                totp_enabled=True, totp_last_step=step))
            codes = self._replace_recovery_codes(conn, user_id)
            audit.record(conn, "2fa.enrol", actor=actor, client=client, entity_type="user",
                         entity_id=user_id, at=self.now())
        return codes

    def disable(self, user_id: int, password: str, code: str, *, actor: Actor | None = None,
                client: str | None = None) -> None:
        """Turn 2FA off: needs the password and a current code (or a recovery code)."""
        require_self_or_admin(actor, user_id)
        with self.engine.connect() as conn:
            row = self._row(conn, user_id)
        if not self.passwords.verify(row.password_hash, password):
            raise BadCredentials()
        if not row.totp_enabled:
            raise AccountConflict("two-factor authentication is not on")
        if not self.check_code(user_id, code):
            raise TotpInvalid()
        with self.engine.begin() as conn:
            self._clear(conn, user_id)
            audit.record(conn, "2fa.disable", actor=actor, client=client, entity_type="user",
                         entity_id=user_id, at=self.now())

    def reset(self, user_id: int, *, actor: Actor | None = None,
              client: str | None = None) -> None:
        """An admin turns a user's 2FA off (a lost phone); audited."""
        require(actor, Permission.ADMIN)
        with self.engine.begin() as conn:
            row = self._row(conn, user_id)
            self._clear(conn, user_id)
            audit.record(conn, "2fa.reset", actor=actor, client=client, entity_type="user",
                         entity_id=user_id, changes={"was_enabled": bool(row.totp_enabled)},
                         at=self.now())

    # -- verifying ---------------------------------------------------------------------------

    def check_code(self, user_id: int, code: str) -> bool:
        """Accept a current TOTP code (a step not used before) or an unused recovery code,
        and spend it."""
        if looks_like_recovery_code(code):
            return self._use_recovery_code(user_id, code)
        with self.engine.begin() as conn:
            row = self._row(conn, user_id)
            if not row.totp_enabled or row.totp_secret is None:
                return False
            step = self._matching_step(self._decrypt(row.totp_secret), code)
            if step is None:
                return False
            # only a newer step than the last one used: a replay (or a race) updates nothing
            used = conn.execute(update(users).where(
                users.c.id == user_id,
                or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
            ).values(totp_last_step=step))
            return bool(used.rowcount)

    def recovery_codes_left(self, user_id: int, *, actor: Actor | None = None) -> int:
        require_self_or_admin(actor, user_id)
        with self.engine.connect() as conn:
            return len(conn.execute(select(user_recovery_codes.c.id).where(
                user_recovery_codes.c.user_id == user_id,
                user_recovery_codes.c.used_at.is_(None))).all())

    # -- helpers -----------------------------------------------------------------------------

    def _matching_step(self, secret: str, code: str) -> int | None:
        code = code.strip().replace(" ", "")
        if not code.isdigit():
            return None
        totp = pyotp.TOTP(secret)
        now_step = int(self.now().timestamp()) // STEP_S
        for step in (now_step - 1, now_step, now_step + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                return step
        return None

    def _use_recovery_code(self, user_id: int, code: str) -> bool:
        with self.engine.begin() as conn:
            used = conn.execute(update(user_recovery_codes).where(
                user_recovery_codes.c.user_id == user_id,
                user_recovery_codes.c.code_hash == _hash_code(code),
                user_recovery_codes.c.used_at.is_(None),
            ).values(used_at=self.now()))
            return bool(used.rowcount)

    def _replace_recovery_codes(self, conn: Connection, user_id: int) -> list[str]:
        conn.execute(delete(user_recovery_codes).where(user_recovery_codes.c.user_id == user_id))
        codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
        conn.execute(insert(user_recovery_codes),
                     [{"user_id": user_id, "code_hash": _hash_code(c)} for c in codes])
        return codes

    def _clear(self, conn: Connection, user_id: int) -> None:
        conn.execute(update(users).where(users.c.id == user_id).values(
            totp_enabled=False, totp_secret=None, totp_last_step=None))
        conn.execute(delete(user_recovery_codes).where(user_recovery_codes.c.user_id == user_id))

    @staticmethod
    def _row(conn: Connection, user_id: int) -> Row[Any]:
        row = conn.execute(select(users).where(users.c.id == user_id).with_for_update()).first()
        if row is None:
            raise NotFound(f"no user {user_id}")
        return row

    def _encrypt(self, secret: str) -> str:
        from cryptography.fernet import Fernet

        key = load_key(self.data_dir, create=True)
        assert key is not None
        return Fernet(key).encrypt(secret.encode()).decode()

    def _decrypt(self, token: str) -> str:
        from cryptography.fernet import Fernet, InvalidToken

        key = load_key(self.data_dir, create=False)
        hint = "an admin can reset the user's 2FA ('alejandria users reset-2fa')"
        if key is None:
            raise ConfigurationError(f"the two-factor secret cannot be read: the secret key "
                                     f"is missing; {hint}")
        try:
            return Fernet(key).decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigurationError(f"the two-factor secret cannot be decrypted with this "
                                     f"secret key; {hint}") from None


def _qr_svg(uri: str) -> str:
    import segno

    return str(segno.make(uri, error="m").svg_inline(scale=4))

"""Account passwords: argon2id hashes (argon2-cffi), rehashed when the parameters change.

Verifying against an unknown username costs the same as against a known one (a dummy hash
made with the same parameters is verified instead), so timing does not tell which names exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from alejandria.settings import Settings

#: Shortest password accepted from a user.
MIN_LENGTH = 8


@dataclass
class Passwords:
    """Hashes and verifies passwords with one set of argon2id parameters."""

    hasher: PasswordHasher
    _dummy: str | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        return cls(PasswordHasher(time_cost=settings.password_time_cost,
                                  memory_cost=settings.password_memory_kib,
                                  parallelism=settings.password_parallelism,
                                  hash_len=32, salt_len=16, type=Type.ID))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored``; with no ``stored`` hash (an unknown
        user) a dummy hash is verified so the answer (False) takes as long."""
        if stored is None:
            self._verify(self._dummy_hash(), password)
            return False
        return self._verify(stored, password)

    def needs_rehash(self, stored: str) -> bool:
        """True when ``stored`` was made with other parameters (or another argon2 type)."""
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy


def check_strength(password: str) -> None:
    """Refuse passwords too short to be worth hashing (ValueError says why)."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")


def generate_password() -> str:
    """A random password to print once (about 120 bits)."""
    return secrets.token_urlsafe(15)

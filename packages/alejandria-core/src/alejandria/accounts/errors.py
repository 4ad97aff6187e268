"""Typed account errors. Login errors never say whether the username exists."""

from __future__ import annotations

from alejandria.errors import AlejandriaError


class AccountError(AlejandriaError):
    """Base class of the account errors."""


class LoginError(AccountError):
    """A login was refused."""


class BadCredentials(LoginError):
    """Unknown user, wrong password or a disabled account: the same error for all three."""

    def __init__(self) -> None:
        super().__init__("invalid username or password")


class TotpRequired(LoginError):
    """The password is right and the account has 2FA: ask for a code."""

    def __init__(self) -> None:
        super().__init__("a two-factor code is required")


class TotpInvalid(LoginError):
    """The 2FA code (or recovery code) is wrong, expired or already used."""

    def __init__(self) -> None:
        super().__init__("invalid two-factor code")


class AccountLocked(LoginError):
    """Too many failed logins for this account or address; try again in ``retry_after`` s."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(f"too many failed logins; try again in {self.retry_after} s")


class PermissionDenied(AccountError):
    """The acting user's role does not allow this."""


class LastAdmin(AccountError):
    """The change would leave the archive without an active admin."""

    def __init__(self) -> None:
        super().__init__("this is the last active admin: make another user admin first")


class InvalidToken(AccountError):
    """An API token that is unknown, revoked, expired, or whose owner is disabled."""

    def __init__(self) -> None:
        super().__init__("invalid API token")


class AccountConflict(AccountError):
    """A username or e-mail already taken, or a state change that does not apply."""

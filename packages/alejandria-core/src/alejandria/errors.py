"""Errors users can act on.

Each error is raised at the edge where we know what went wrong and carries a message that the
CLI and web turn into one readable line. Nothing here may include secrets in its message.
"""

from __future__ import annotations


class AlejandriaError(Exception):
    """Base class of every error Alejandria reports to a user."""


class ConfigurationError(AlejandriaError):
    """Settings are missing or inconsistent (bad URL, unknown language, ...)."""


class DatabaseUnavailable(AlejandriaError):
    """The database cannot be reached or started."""


class PluginError(AlejandriaError):
    """A plugin is broken or conflicts with another plugin."""


class DuplicatePluginName(PluginError):
    """Two plugins registered the same name for the same kind of thing."""

    def __init__(self, kind: str, name: str, first: str, second: str) -> None:
        core = [who for who in (first, second) if "package alejandria-core" in who]
        if core:  # core's names are taken: the plugin must change
            other = second if core[0] == first else first
            hint = (f"rename it in {other}, or disable that plugin with "
                    "ALEJANDRIA_DISABLED_PLUGINS")
        else:
            hint = "uninstall one of them or disable it with ALEJANDRIA_DISABLED_PLUGINS"
        super().__init__(f"two plugins register the {kind} {name!r}: {first} and {second}; "
                         f"{hint}")
        self.kind = kind
        self.name = name
        self.plugins = (first, second)


class UnknownName(AlejandriaError):
    """A source, backend or processor was asked for by a name nobody registered."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        choices = ", ".join(sorted(known)) or "none installed"
        super().__init__(f"unknown {kind} {name!r} (available: {choices})")
        self.kind = kind
        self.name = name


class SourceError(AlejandriaError):
    """A source failed to fetch something."""


class SourceAuthError(SourceError):
    """Credentials are missing, invalid or expired: the user has to log in again."""


class RateLimited(SourceError):
    """The remote site asked us to slow down; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ItemRejected(SourceError):
    """One item (a file, a post) cannot be archived; the rest of the sync goes on.

    ``subject`` names the item (a path, a URL) so the user knows which one failed.
    """

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(f"{subject}: {reason}")
        self.subject = subject
        self.reason = reason


class MediaError(AlejandriaError):
    """Storing or reading a media file failed."""


class SearchUnavailable(AlejandriaError):
    """A search mode cannot run here; the message says why and what to do."""


class EmbeddingError(AlejandriaError):
    """An embedder could not turn text into vectors (API refused, model missing, ...)."""

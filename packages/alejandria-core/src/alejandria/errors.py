"""Errors users can act on.

Each error is raised at the edge where we know what went wrong and carries a message that the
CLI and web turn into one readable line. Nothing here may include secrets in its message.
"""

from __future__ import annotations

from typing import Any


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


class NotFound(AlejandriaError):
    """What was asked for by id (a media file, a post, a job) does not exist."""


class InvalidRequest(AlejandriaError, ValueError):
    """A request's arguments cannot be answered: a malformed or foreign page cursor, an
    unknown sort order or filter value. The message names the argument at fault. Also a
    ``ValueError``, so callers that validate arguments that way catch it too."""


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

    ``subject`` names the item (a path, a URL) so the user knows which one failed. Raised by
    ``open_media`` for one file, ``retry=False`` says the file is gone for good (a 404 or 410
    the site confirms): the post is stored without it and the next sync does not try again.
    """

    def __init__(self, subject: str, reason: str, *, retry: bool = True) -> None:
        super().__init__(f"{subject}: {reason}")
        self.subject = subject
        self.reason = reason
        self.retry = retry


class URLRefused(SourceError):
    """A URL that is not fetched, and not retried: not http(s), not a URL at all, a private
    or loopback address a remote source must not reach, a redirect loop."""


class MediaError(AlejandriaError):
    """Storing or reading a media file failed."""


class TooLarge(MediaError):
    """A file or a response is over its size limit; the message names the setting to raise."""


class StorageFull(MediaError):
    """Too little free disk space to store more: the whole sync stops (every other file would
    fail the same way); the message says how much is free and what to do."""


class SearchUnavailable(AlejandriaError):
    """A search mode cannot run here; the message says why and what to do."""


class EmbeddingError(AlejandriaError):
    """An embedder could not turn text into vectors (API refused, model missing, ...)."""


def describe(exc: BaseException) -> str:
    """One line a user can read for any error, safe to print, log and store.

    Our own errors say what to do already. A database error keeps only the database's reason:
    SQLAlchemy's text carries the SQL statement and its parameters (a signed URL, a post's
    text), which belong neither in ``--json`` output nor in a stored ``last_error``. Anything
    else is an unexpected error, named by its type. Registered secrets are redacted.
    """
    from alejandria.redaction import redact

    if isinstance(exc, AlejandriaError):
        message = str(exc)
    elif type(exc).__name__ == "ValidationError" and hasattr(exc, "errors"):  # pydantic's
        message = _invalid_item(exc)
    elif hasattr(exc, "statement") and hasattr(exc, "orig"):  # sqlalchemy.exc.StatementError
        original = getattr(exc, "orig", None)
        reason = str(original).strip().splitlines()[0] if original else type(exc).__name__
        message = f"the database refused it: {reason}"
    else:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        message = f"unexpected error: {type(exc).__name__}" + (f": {text}" if text else "")
    return redact(message)


#: Fields that name an item in a message, in the order they are looked for.
_NAMING_FIELDS = ("external_id", "key", "title", "name")


def _invalid_item(exc: Any) -> str:
    """A pydantic error on an item a source built, on one line: the item (its external id or
    title, when pydantic kept what the item was given: a missing field) and each field at
    fault with the value it was given."""
    problems = exc.errors(include_url=False)
    named = ""
    for problem in problems:
        given = problem.get("input")
        if isinstance(given, dict):
            found = [f"{field} {str(given[field])[:60]!r}" for field in _NAMING_FIELDS
                     if isinstance(given.get(field), str | int)]
            named = f" ({', '.join(found[:2])})" if found else ""
            break
    fields = "; ".join(
        f"{'.'.join(map(str, problem.get('loc', ()))) or 'value'}: {problem.get('msg', '')}"
        + ("" if isinstance(problem.get("input"), dict) else
           f" (given {repr(problem.get('input'))[:60]})")
        for problem in problems[:3])
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    return (f"the source built an invalid {getattr(exc, 'title', 'item')}{named}: "
            f"{fields}{more}")

"""Keeping secrets out of what users and logs see.

A secret (a session cookie, an API token) can come back in text we did not write: a server
that echoes the cookie in an error detail, a library's exception holding a URL. Whoever holds a
secret registers it here once (``HttpClient`` registers the cookies it sends, the values of each
``name=value`` pair too); every message that reaches a user, a log line, the JSON output or a
stored ``last_error`` goes through ``redact``, which hides every registered value. Values shorter
than ``MIN_SECRET_LENGTH`` are not registered: hiding "1" everywhere would wreck messages and
such a value is no secret.
"""

from __future__ import annotations

import threading

#: Shorter values are not treated as secrets.
MIN_SECRET_LENGTH = 8
#: What a secret is replaced with.
REDACTED = "[redacted]"

_lock = threading.Lock()
_secrets: set[str] = set()


def remember_secret(value: str | None) -> None:
    """Hide ``value`` from every message ``redact`` cleans from now on (this process)."""
    if not value:
        return
    candidates = {value.strip()}
    # a Cookie header: "a=1; session_id=abc..." -- each value alone may be echoed back
    for pair in value.split(";"):
        _name, sep, cookie_value = pair.strip().partition("=")
        if sep:
            candidates.add(cookie_value.strip())
    with _lock:
        _secrets.update(item for item in candidates if len(item) >= MIN_SECRET_LENGTH)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``[redacted]``."""
    if not _secrets or not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # the longest first: no partial hits
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def forget_secrets() -> None:
    """Forget every registered secret (tests)."""
    with _lock:
        _secrets.clear()

"""My account: password, language and theme, two-factor authentication (with its QR code),
recovery codes, my sessions and my API tokens.

The page only reads; every button calls ``/api/v1/me/*`` (see ``api/me.py``). What could take
the account over (password, 2FA, tokens, ending sessions) is shown in a browser session only,
as the API allows it only there. The 2FA part is a fragment of its own: the "set up" button
``POST``s ``/api/v1/me/2fa/enrol`` and refreshes it, and the fragment (a GET, which changes
nothing) shows the pending enrolment core keeps until a code confirms it: its QR code, an
SVG made on the server (no script, no image URL), and the key to type by hand.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Response

from alejandria.accounts.roles import SCOPE_CEILING, SCOPES, scope_rank
from alejandria_web.pages.common import PAGE, AnyRequest, actor, archive
from alejandria_web.pages.i18n import gettext as _
from alejandria_web.pages.render import can, render
from alejandria_web.security.access import Access
from alejandria_web.security.identity import identify, sessions_of

#: Expiry choices of a new token, in days (None: never expires).
TOKEN_EXPIRY_DAYS = (30, 90, 365, None)


def totp_context(request: AnyRequest) -> dict[str, Any]:
    """My 2FA state; in a browser session, the enrolment in progress (QR code, key)."""
    who = actor(request)
    accounts = archive(request).accounts
    user = accounts.get(who.user_id, actor=who)
    pending = None
    if not user.totp_enabled and can(identify(request), Access.SESSION):
        pending = accounts.totp.pending(who.user_id, actor=who)
    return {"totp_enabled": user.totp_enabled,
            "recovery_left": accounts.totp.recovery_codes_left(user.id, actor=who)
            if user.totp_enabled else 0,
            "pending": pending,
            "secret_groups": grouped(pending.secret) if pending else ""}


def grouped(secret: str) -> str:
    """A base32 key in groups of four, easier to read and type (apps ignore the spaces)."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def sessions_context(request: AnyRequest) -> dict[str, Any]:
    identity = identify(request)
    current = identity.session.id if identity and identity.session else None
    found = sessions_of(request).list_for_user(actor(request).user_id)
    items = [session.as_json(current=current) for session in found]
    items.sort(key=lambda item: str(item["last_seen_at"]), reverse=True)
    items.sort(key=lambda item: not item["current"])  # this one first, then the latest seen
    # named while rendering, in the page's language
    return {"sessions": items, "device": device}


def tokens_context(request: AnyRequest) -> dict[str, Any]:
    who = actor(request)
    ceiling = SCOPE_CEILING[who.role]
    return {"tokens": archive(request).tokens.list(who.user_id, actor=who),
            "scopes": [scope for scope in SCOPES if scope_rank(scope) <= scope_rank(ceiling)],
            "expiry_days": TOKEN_EXPIRY_DAYS}


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chromium/", "Chromium"), ("Chrome/", "Chrome"), ("Safari/", "Safari"),
             ("curl/", "curl"), ("python-httpx/", "httpx"), ("python-requests/", "requests"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))


def device(user_agent: str | None) -> str:
    """``Firefox on Linux`` from a browser's User-Agent; the agent's first word else."""
    if not user_agent:
        return _("Unknown device")
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    if browser or system:
        return str(browser or system)
    first = re.split(r"[\s/;(]", user_agent.strip(), maxsplit=1)[0]
    return first[:40] or _("Unknown device")


@PAGE("/account", Access.SIGNED_IN)
def account(request: AnyRequest) -> Response[Any]:
    who = actor(request)
    user = archive(request).accounts.get(who.user_id, actor=who)
    return render(request, "account/index.html", user=user,
                  preferences=dict(user.preferences or {}), **totp_context(request),
                  **sessions_context(request), **tokens_context(request))


@PAGE("/account/2fa", Access.SESSION)
def account_totp(request: AnyRequest) -> Response[Any]:
    """The two-factor part of the page (what the buttons there refresh)."""
    return render(request, "account/_totp.html", **totp_context(request))


@PAGE("/account/sessions", Access.SIGNED_IN)
def account_sessions(request: AnyRequest) -> Response[Any]:
    return render(request, "account/_sessions.html", **sessions_context(request))


@PAGE("/account/tokens", Access.SIGNED_IN)
def account_tokens(request: AnyRequest) -> Response[Any]:
    return render(request, "account/_tokens.html", **tokens_context(request))


ROUTES = [account, account_totp, account_sessions, account_tokens]

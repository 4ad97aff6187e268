"""The API's error messages a page shows, in the page's language.

The JSON API answers in English (its ``message`` is for developers and scripts too); a page
shows the user's language. Errors with a fixed meaning are translated here by their ``code``;
the others (a list name too long, a label that exists) keep the API's own, more specific
message.
"""

from __future__ import annotations

from alejandria_web.pages.i18n import gettext as _


def error_messages() -> dict[str, str]:
    return {
        "invalid_credentials": _("Wrong username or password."),
        "totp_required": _("Enter the code from your authenticator app, or a recovery code."),
        "totp_invalid": _("That code is wrong or already used. Try the next one."),
        "locked": _("Too many failed attempts. Wait a few minutes and try again."),
        "not_authenticated": _("Your session ended. Sign in again."),
        "csrf_failed": _("This page is out of date. Reload it and try again."),
        "session_required": _("This needs a signed-in browser, not an API token."),
        "forbidden": _("You are not allowed to do that."),
        "not_found": _("It is not there any more. Reload the page."),
        "unavailable": _("The archive is not answering. Try again in a moment."),
        "internal_error": _("Something went wrong on the server. It was logged."),
        "offline": _("The server did not answer. Check your connection."),
        "last_admin": _("This is the last active admin: make another user admin first."),
        "no_targets": _("Nothing of this source was synced before: say what to sync."),
    }

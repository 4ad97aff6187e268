"""How the pages name what core calls by a code: reading statuses (the built-in ones in the
page's language, the user's own labels as they wrote them) and roles (one name each,
everywhere: the account page and the admin pages)."""

from __future__ import annotations

from alejandria.accounts.personal.statuses import UNREAD
from alejandria_web.pages.i18n import gettext as _


def status_name(status: str) -> str:
    names = {UNREAD: _("Unread"), "in_progress": _("In progress"), "completed": _("Completed")}
    return names.get(status, status)


def role_label(role: str) -> str:
    names = {"admin": _("Administrator"), "user": _("Member"),
             "readonly": _("Reader (read only)")}
    return names.get(role, role)

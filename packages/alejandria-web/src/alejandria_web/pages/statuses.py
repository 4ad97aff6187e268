"""Reading statuses as people read them: the built-in ones in the page's language, the
user's own labels as they wrote them."""

from __future__ import annotations

from alejandria.accounts.personal.statuses import UNREAD
from alejandria_web.pages.i18n import gettext as _


def status_name(status: str) -> str:
    names = {UNREAD: _("Unread"), "in_progress": _("In progress"), "completed": _("Completed")}
    return names.get(status, status)

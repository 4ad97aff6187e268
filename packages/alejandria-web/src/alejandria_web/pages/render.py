"""Rendering pages: one Jinja2 environment per app, the context every page gets, and the
HTML response.

Templates come from the app's ``templates/`` folder, then each plugin's
``web_template_dirs`` (a plugin overrides a template by giving one of the same name).
Autoescaping is on for every template; the only markup that is not escaped is HTML core has
already sanitised (``|safe`` on ``content_html``) and our own SVG (the 2FA QR code).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Response
from litestar.datastructures import Cookie

from alejandria.accounts.roles import Permission, allows
from alejandria_web.pages import i18n
from alejandria_web.pages.format import (
    duration,
    filesize,
    local_date,
    local_datetime,
    timestamp,
)
from alejandria_web.pages.messages import error_messages
from alejandria_web.pages.names import role_label, status_name
from alejandria_web.security.access import Access
from alejandria_web.security.headers import csp_nonce
from alejandria_web.security.identity import Identity, archive_of, identify

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

#: Bumped with the static files; appended to their URLs so browsers refetch after an upgrade.
ASSET_VERSION = "1"


def build_environment(extra_dirs: Iterable[Path] = ()) -> Environment:
    env = Environment(
        loader=FileSystemLoader([str(TEMPLATES_DIR), *(str(path) for path in extra_dirs)]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(filesize=filesize, duration=duration, timestamp=timestamp,
                       date=local_date, datetime=local_datetime)
    env.globals.update(LANGUAGES=i18n.LANGUAGES, ASSET_VERSION=ASSET_VERSION,
                       role_label=role_label, status_name=status_name)
    return env


def environment(request: Any) -> Environment:
    env: Environment = request.app.state.templates
    return env


def can(identity: Identity | None, level: Access | str) -> bool:
    """Whether the signed-in user may do what ``level`` needs (templates hide the controls
    they may not use; the server refuses them anyway)."""
    if identity is None:
        return False
    wanted = Access(level) if isinstance(level, str) else level
    permission: Permission | None = wanted.permission
    if wanted is Access.SESSION:
        return identity.via == "session"
    return permission is None or allows(identity.actor.role, permission)


LANGUAGE_COOKIE = "alejandria_lang"


def page_language(request: Any, identity: Identity | None) -> str:
    """``?lang=`` (the login page's switch), the user's preference, the language cookie of
    a visitor who chose one, the browser's ``Accept-Language``, English."""
    asked = request.query_params.get("lang")
    if asked in i18n.LANGUAGES:
        return str(asked)
    preference = None
    if identity is not None:
        preference = _preferences(request, identity).get("language")
    if preference is None:
        preference = request.cookies.get(LANGUAGE_COOKIE)
    return i18n.choose_language(preference, request.headers.get("accept-language"))


def _preferences(request: Any, identity: Identity) -> dict[str, Any]:
    """The user's preferences, read once per request."""
    state = request.scope.setdefault("state", {})
    found = state.get("alejandria_preferences")
    if found is None:
        user = archive_of(request).accounts.get(identity.actor.user_id, actor=identity.actor)
        found = state["alejandria_preferences"] = dict(user.preferences or {})
    return dict(found)


def base_context(request: Any) -> dict[str, Any]:
    identity = identify(request)
    language = page_language(request, identity)
    i18n.set_language(language)
    menu = [link for link in request.app.state.menu if can(identity, link.access)]
    theme = _preferences(request, identity).get("theme", "auto") if identity else "auto"
    context: dict[str, Any] = {
        "request": request,
        "path": request.url.path,
        "full_path": request.url.path + (f"?{request.url.query}" if request.url.query
                                          else ""),
        "identity": identity,
        "me": identity.actor if identity else None,
        "csrf_token": identity.session.csrf_token if identity and identity.session else "",
        "nonce": csp_nonce(request.scope),
        "lang": language,
        "theme": theme,
        "menu": sorted(menu, key=lambda link: link.order),
        "can": lambda level: can(identity, level),
        "Access": Access,
        "now": datetime.now().astimezone(),
        "htmx": request.headers.get("hx-request") == "true",
        "error_messages": error_messages(),
    }
    for extra in request.app.state.archive.plugins.hook.web_template_context(request=request):
        if extra:
            context.update(extra)
    return context


def render(request: Any, template: str, status_code: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> Response[str]:
    """``template`` rendered with the page context and ``context``, as an HTML response."""
    values = base_context(request)
    values.update(context)
    html = environment(request).get_template(template).render(values)
    cookies = []
    if request.query_params.get("lang") in i18n.LANGUAGES:
        cookies.append(Cookie(key=LANGUAGE_COOKIE, value=values["lang"], path="/",
                              max_age=365 * 86400, samesite="lax", httponly=True))
    return Response(html, status_code=status_code, media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store", "Vary": "Cookie, Accept-Language",
                             **(headers or {})}, cookies=cookies)

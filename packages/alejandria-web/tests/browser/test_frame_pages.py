"""The pages' frame in a real browser: the sign-in form, languages, light and dark, the
keyboard's way in, and axe-core over every main page at desktop and phone widths (no serious
or critical violation), with a screenshot of each."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from .conftest import PHONE, LiveServer, describe, errors_of, login, run_axe, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD = "correct horse battery staple"


def sign_in_with_the_form(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_the_sign_in_form_signs_in_and_goes_back_where_asked(
        page: Page, archive: Any, catalogue: Any) -> None:
    archive.accounts.create("alice", PASSWORD, role="user")
    page.goto(f"/posts/{catalogue.post_id}")
    assert page.url.endswith(f"/login?next=%2Fposts%2F{catalogue.post_id}")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    problem = page.locator("[data-form-error]")
    problem.wait_for()
    assert "password" in problem.inner_text().lower() or "invalid" in \
        problem.inner_text().lower()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/posts/{catalogue.post_id}")
    assert page.get_by_role("heading", name="Carta natal").count() == 1
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    page.goto("/")
    assert "/login" in page.url
    errors = errors_of(page)  # the refused password is a 401 the console reports: expected
    assert not errors.csp and not errors.uncaught and not errors.off_origin, errors.all()


def test_spanish_from_the_browser_and_keyboard_first_stop(
        new_page: Callable[..., Page], archive: Any, live_server: LiveServer) -> None:
    page = new_page(locale="es-ES")
    page.goto("/login")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", name="Iniciar sesión en Alejandria").count() == 1
    # the username field has the focus: a keyboard user types straight away
    assert page.evaluate("document.activeElement.id") == "username"
    screenshot(page, "login-es-desktop")
    errors_of(page).assert_none()


def test_light_and_dark_follow_the_choice_and_stay(page: Page, archive: Any,
                                                   live_server: LiveServer) -> None:
    archive.accounts.create("alice", PASSWORD, role="user")
    login(page, live_server.url, "alice", PASSWORD)
    page.goto("/")
    page.keyboard.press("Tab")  # the first stop skips the header
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    root = page.locator("html")
    assert root.get_attribute("data-theme") == "auto"
    page.get_by_role("button", name="Switch light or dark").click()
    assert root.get_attribute("data-theme") == "dark"
    # the toast names the theme in the page's words (base.html), not app.js's
    assert page.locator(".toast").first.inner_text() == "Theme: dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.wait_for_timeout(300)  # the preference is saved in the background
    page.reload()
    assert page.locator("html").get_attribute("data-theme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background
    assert background != "rgb(247, 246, 243)"  # not the light background
    errors_of(page).assert_none()


def main_pages(catalogue: Any, list_id: int) -> list[tuple[str, str]]:
    return [
        ("home", "/"),
        ("posts", "/posts"),
        ("creators", "/creators"),
        ("creator", "/creators/1"),
        ("collections", "/collections"),
        ("post", f"/posts/{catalogue.post_id}"),
        ("search", "/search?q=carta"),
        ("lists", "/lists"),
        ("list", f"/lists/{list_id}"),
        ("notes", "/notes"),
        ("account", "/account"),
        ("admin", "/admin"),
        ("admin-sources", "/admin/sources"),
        ("admin-jobs", "/admin/jobs"),
        ("admin-users", "/admin/users"),
        ("admin-audit", "/admin/audit"),
        ("admin-system", "/admin/system"),
    ]


# two of the four combinations (the admin pages' own test covers all four there): light on a
# desktop, dark on a phone
@pytest.mark.parametrize(("width", "scheme"), [("desktop", "light"), ("phone", "dark")])
def test_main_pages_pass_axe_and_are_photographed(
        new_page: Callable[..., Page], archive: Any, catalogue: Any, live_server: LiveServer,
        width: str, scheme: str) -> None:
    admin = archive.accounts.create("root", PASSWORD, role="admin")
    from alejandria.models import Actor

    mine = archive.personal(Actor(user_id=admin.id, username="root", role="admin"))
    listed = mine.lists.create("Para leer", color="#2a9d8f")
    mine.lists.add_post(listed.id, catalogue.post_id)
    mine.notes.set(catalogue.post_id, "Una **nota** mía")
    size = PHONE if width == "phone" else (1280, 800)
    page = new_page(*size, color_scheme=scheme)
    login(page, live_server.url, "root", PASSWORD)
    failures = []
    for name, path in [("login", "/login?next=/"), *main_pages(catalogue, listed.id)]:
        if name == "login":
            anonymous = new_page(*size, color_scheme=scheme)
            anonymous.goto(path)
            target = anonymous
        else:
            answer = page.goto(path)
            status = answer.status if answer is not None else None
            assert status == 200, f"{path}: {status}"
            target = page
        target.wait_for_load_state("networkidle")
        screenshot(target, f"{name}-{width}-{scheme}")
        # what a creator wrote (an <img> without alt in a post) is archived as it was: the
        # check is of our pages, not of the archived content inside them
        found = run_axe(target, exclude=[".post-content"])
        if found:
            failures.append(f"{path}:\n{describe(found)}")
        if width == "phone":
            overflow = target.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 1:
                failures.append(f"{path}: {overflow}px wider than the phone's screen")
    assert not failures, "\n".join(failures)
    errors_of(page).assert_none()


def test_api_errors_read_in_the_page_language(new_page: Callable[..., Page], archive: Any,
                                              live_server: LiveServer) -> None:
    archive.accounts.create("alice", PASSWORD, role="user")
    page = new_page(locale="es-ES")
    page.goto("/login")
    page.get_by_label("Usuario").fill("alice")
    page.get_by_label("Contraseña").fill("no es esta")
    page.get_by_role("button", name="Iniciar sesión").click()
    problem = page.locator("[data-form-error]")
    problem.wait_for()
    assert problem.inner_text() == "Usuario o contraseña incorrectos."

"""My account and my own organisation, in a real browser: turning 2FA on from the account
page (reading the key it shows, as a person who cannot scan would), signing in again through
the login page's 2FA step, a new API token shown once; my lists created, renamed, reordered
from the keyboard and seen on the home page; a list's posts, my notes and a status view.
Screenshots of each page at desktop and phone width; no console error, no CSP refusal, no
serious axe violation."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pyotp
from playwright.sync_api import Page, expect

from alejandria.api import Archive

from .conftest import (
    AXE_JS,
    PHONE,
    LiveServer,
    describe,
    errors_of,
    login,
    run_axe,
    screenshot,
    settled,
)

PASSWORD = "correct horse battery staple"


def no_errors(page: Page, allowed: tuple[str, ...] = ()) -> None:
    """The page reported nothing but the messages matching ``allowed`` (regexes)."""
    problems = [problem for problem in errors_of(page).all()
                if not any(re.search(pattern, problem) for pattern in allowed)]
    assert not problems, "the page reported:\n" + "\n".join(problems)


def no_serious_axe(page: Page) -> None:
    if AXE_JS.is_file():
        found = run_axe(page)
        assert not found, describe(found)


#: The login form's first answer when 2FA is on: a 401 (``totp_required``) that the browser
#: and htmx log, and app.js turns into the code field.
LOGIN_401 = (r"status of 401 \(Unauthorized\)", r"Error Code 401 from /api/v1/auth/login,")


def test_turn_2fa_on_from_the_account_page_then_log_in_with_a_code(
        page: Page, new_page: Callable[..., Page], live_server: LiveServer,
        archive: Archive) -> None:
    archive.accounts.create("alice", PASSWORD)
    phone = new_page(*PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
    for each in (page, phone):
        login(each, live_server.url, "alice", PASSWORD)
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto("/account")
    expect(page.get_by_role("heading", name="My account", exact=True)).to_be_visible()
    no_serious_axe(page)
    screenshot(page, "account-desktop")
    phone.goto("/account")
    screenshot(phone, "account-phone")

    # enrol: the button calls the API, the 2FA part comes back with the QR code and the key
    page.get_by_role("button", name="Set up two-factor authentication").click()
    qr = page.locator("#totp .qr svg")
    expect(qr).to_be_visible()
    assert qr.get_attribute("style") is None
    expect(page.locator("#totp .qr")).to_have_attribute("role", "img")
    secret = page.locator("[data-totp-secret]").get_attribute("data-totp-secret")
    assert secret and page.locator("[data-totp-secret]").inner_text().replace(" ", "") == secret
    no_serious_axe(page)
    screenshot(page, "account-2fa-enrol-desktop")
    phone.reload()  # the enrolment in progress is shown again, unchanged
    assert phone.locator("[data-totp-secret]").get_attribute("data-totp-secret") == secret
    screenshot(phone, "account-2fa-enrol-phone")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "account-2fa-enrol-dark")
    page.emulate_media(color_scheme="light")

    totp = pyotp.TOTP(secret)
    settled(page, "#totp")  # the enrolment form was swapped in by the refresh
    page.get_by_label("Type the 6-digit code the app shows").fill(totp.now())
    page.get_by_role("button", name="Turn on", exact=True).click()
    codes = page.locator("[data-recovery-list] li")
    expect(codes).to_have_count(10)
    expect(page.locator("#totp")).to_contain_text("Two-factor authentication is on.")
    expect(page.locator("#totp")).to_contain_text("10 recovery codes left.")
    expect(page.locator("[data-recovery-panel]")).to_be_focused()
    screenshot(page, "account-recovery-codes-desktop")
    page.get_by_role("button", name="I have saved them").click()
    expect(page.locator("[data-recovery-panel]")).to_be_hidden()
    assert page.locator("[data-recovery-list] li").count() == 0  # gone from the page

    # a new token: shown once, then only its prefix in the list
    page.get_by_label("Name", exact=True).fill("copias")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("[data-token-value]")
    expect(token).to_have_text(re.compile(r"\S{20,}"))
    value = token.inner_text()
    expect(page.locator("#tokens")).to_contain_text("copias")
    assert value not in page.locator("#tokens").inner_text()
    screenshot(page, "account-token-desktop")
    no_errors(page)
    no_errors(phone)

    # out, and in again through the login page: the code field appears after the password
    page.get_by_role("button", name="Log out", exact=True).click()
    page.wait_for_url(re.compile(r"/login"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    code_field = page.get_by_label("Code from your authenticator app, or a recovery code")
    expect(code_field).to_be_visible()
    expect(code_field).to_be_focused()
    screenshot(page, "login-2fa-step-desktop")

    fresh = new_page(*PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
    fresh.goto("/login")
    fresh.get_by_label("Username").fill("alice")
    fresh.get_by_label("Password").fill(PASSWORD)
    fresh.get_by_role("button", name="Log in").click()
    expect(fresh.get_by_label("Code from your authenticator app, or a recovery code")) \
        .to_be_visible()
    screenshot(fresh, "login-2fa-step-phone")

    # the next time step's code: the one that turned 2FA on is spent (no replay)
    code_field.fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".user-link")).to_have_text("alice")
    no_errors(page, LOGIN_401)
    no_errors(fresh, LOGIN_401)


def _row(page: Page, name: str) -> Any:
    return page.locator("#lists li.row-item").filter(has=page.get_by_role("link", name=name,
                                                                          exact=True))


def test_my_lists_made_renamed_reordered_from_the_keyboard_and_on_the_home_page(
        page: Page, phone_page: Page, live_server: LiveServer, archive: Archive,
        catalogue: Any) -> None:
    alice = archive.accounts.create("alice", PASSWORD)
    for each in (page, phone_page):
        login(each, live_server.url, "alice", PASSWORD)
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto("/lists")
    expect(page.get_by_text("No lists yet.")).to_be_visible()
    for name in ("Astrología", "Favoritas"):
        page.locator("#new-list-name").fill(name)
        page.get_by_role("button", name="Create list").click()
        expect(_row(page, name)).to_have_count(1)
    expect(page.locator("#new-list-name")).to_have_value("")  # the form was emptied

    # rename (and recolour) Favoritas in its row's edit form
    settled(page, "#lists")
    row = _row(page, "Favoritas")
    row.locator("summary").click()
    row.get_by_label("Name", exact=True).fill("Mis favoritas")
    row.get_by_label("Colour", exact=True).fill("#2266aa")
    row.get_by_role("button", name="Save").click()
    expect(_row(page, "Mis favoritas")).to_have_count(1)
    expect(_row(page, "Mis favoritas").locator("svg.swatch circle")) \
        .to_have_attribute("fill", "#2266aa")

    # up, from the keyboard; the focus stays on the moved list (now at the top: its down)
    names = page.locator("#lists li.row-item .row-title a")
    expect(names).to_have_text(["Astrología", "Mis favoritas"])
    settled(page, "#lists")  # the refreshed rows' buttons answer once htmx has settled them
    up = page.get_by_role("button", name="Move Mis favoritas up")
    up.focus()
    page.keyboard.press("Enter")
    expect(names).to_have_text(["Mis favoritas", "Astrología"])
    expect(page.get_by_role("button", name="Move Mis favoritas down")).to_be_focused()

    # a list's posts, a note and statuses (set through core, as the post page would)
    mine = archive.personal(alice.actor)
    lists = {found.name: found.id for found in mine.lists.list()}
    for post in (catalogue.post_id, catalogue.other_post_id):
        mine.lists.add_post(lists["Astrología"], post)
    mine.notes.set(catalogue.post_id, "# Mercurio\n\nRige la **mente** y la palabra.\n\n"
                   + "Una línea más.\n\n" * 8)
    mine.notes.set(catalogue.other_post_id, "Saturno, corto.")
    mine.status.set(catalogue.post_id, "in_progress")
    mine.status.set(catalogue.other_post_id, "completed")
    mine.status.define("para releer")

    page.reload()
    no_serious_axe(page)
    screenshot(page, "lists-desktop")
    phone_page.goto("/lists")
    screenshot(phone_page, "lists-phone")

    page.get_by_role("link", name="Astrología", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Astrología")
    posts = page.locator("#list-posts li.row-item")
    expect(posts).to_have_count(2)
    no_serious_axe(page)
    screenshot(page, "list-desktop")
    phone_page.goto(f"/lists/{lists['Astrología']}")
    screenshot(phone_page, "list-phone")
    page.get_by_role("button", name="Remove Tránsitos from this list").click()
    expect(posts).to_have_count(1)
    expect(posts.first).to_contain_text("Carta natal")

    page.goto("/notes")
    expect(page.locator(".note-card")).to_have_count(2)
    expect(page.locator(".note-card").first).to_contain_text("Tránsitos")  # the latest first
    expect(page.locator(".note-card").filter(has_text="Carta natal").locator("strong")) \
        .to_have_text("mente")
    no_serious_axe(page)
    screenshot(page, "notes-desktop")
    phone_page.goto("/notes")
    screenshot(phone_page, "notes-phone")

    page.goto("/statuses")
    expect(page.locator("#status-posts")).to_contain_text("Carta natal")
    expect(page.get_by_role("link", name="para releer")).to_be_visible()
    no_serious_axe(page)
    screenshot(page, "status-in-progress-desktop")
    phone_page.goto("/statuses")
    screenshot(phone_page, "status-in-progress-phone")
    page.get_by_role("button", name="Mark as completed: Carta natal").click()
    expect(page.locator("#status-posts")).to_contain_text("No posts with this status.")
    page.get_by_role("link", name="Completed").click()
    expect(page.locator("#status-posts li.row-item")).to_have_count(2)
    # a label cannot hold a "/" (it is its view's path segment): the form says so first
    page.get_by_label("New label").fill("leer/releer")
    assert page.get_by_label("New label").evaluate("field => field.validity.patternMismatch")
    page.get_by_label("New label").fill("releer")
    assert not page.get_by_label("New label").evaluate(
        "field => field.validity.patternMismatch")

    # a note's "Open and edit" lands on the note's panel of its post
    page.goto("/notes")
    page.locator(".note-card").filter(has_text="Carta natal") \
        .get_by_role("link", name="Open and edit").click()
    page.wait_for_url(f"**/posts/{catalogue.post_id}#post-note")
    expect(page.locator("#post-note")).to_be_in_viewport()

    # the home page lists them, in my order
    page.goto("/")
    shelf = page.locator("section[aria-labelledby='lists-title'] .chip")
    expect(shelf).to_have_count(2)
    expect(shelf.first).to_contain_text("Mis favoritas")
    expect(shelf.nth(1)).to_contain_text("Astrología")

    # in Spanish (the longer words must fit too)
    archive.accounts.set_preferences(alice.id, {"language": "es"})
    page.goto("/lists")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mis listas")
    screenshot(page, "lists-es-desktop")
    phone_page.goto("/account")
    expect(phone_page.get_by_role("heading", level=1)).to_have_text("Mi cuenta")
    screenshot(phone_page, "account-es-phone")
    no_errors(page)
    no_errors(phone_page)

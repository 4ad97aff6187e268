"""The account page: profile, language, password, 2FA with its server-drawn QR code,
sessions and API tokens; what a readonly user and an API token see."""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

import pyotp

from alejandria_web.pages.account import device, grouped


def test_the_account_page_shows_my_profile_and_each_part(signed_in: Any) -> None:
    page = signed_in("user").get("/account")
    assert page.status_code == 200, page.text
    html = page.text
    assert "alice" in html and "Member" in html
    assert 'hx-patch="/api/v1/me/preferences"' in html
    assert 'hx-put="/api/v1/me/password"' in html
    assert "signs out your other sessions" in html  # changing it ends them: said so
    assert 'hx-post="/api/v1/me/2fa/enrol"' in html and "Two-factor authentication is off." in html
    assert 'hx-post="/api/v1/me/tokens"' in html
    assert 'hx-post="/api/v1/auth/logout-everywhere"' in html
    assert "This browser" in html
    assert '<a class="button" href="/api/v1/me/export" download>Download my data</a>' in html
    assert "style=" not in html  # the CSP refuses inline styles


def _enrol(client: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/me/2fa/enrol")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_a_pending_enrolment_shows_its_qr_code_as_inline_svg_with_no_style(
        signed_in: Any) -> None:
    alice = signed_in("user")
    started = _enrol(alice)

    fragment = alice.get("/account/2fa", headers={"HX-Request": "true"})

    assert fragment.status_code == 200
    html = fragment.text
    assert "<html" not in html  # the part, not the page
    svg = re.search(r"<svg.*?</svg>", html, re.S)
    assert svg is not None
    tree = ElementTree.fromstring(svg.group(0))
    assert all("style" not in element.attrib for element in tree.iter())
    assert not any(element.tag.endswith("script") for element in tree.iter())
    assert "style" not in html and "<script" not in html
    assert re.search(r'<div class="qr" role="img" aria-label="[^"]+">', html)  # a text alternative
    assert f'data-totp-secret="{started["secret"]}"' in html
    assert grouped(started["secret"]) in html  # the key to type by hand
    assert 'hx-post="/api/v1/me/2fa/confirm"' in html
    # reading it changes nothing: the same key again, on the fragment and on the page
    assert f'data-totp-secret="{started["secret"]}"' in alice.get("/account/2fa").text
    assert f'data-totp-secret="{started["secret"]}"' in alice.get("/account").text


def test_once_confirmed_the_part_says_on_with_the_codes_left(signed_in: Any) -> None:
    alice = signed_in("user")
    secret = _enrol(alice)["secret"]
    confirmed = alice.post("/api/v1/me/2fa/confirm", json={"code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200, confirmed.text

    html = alice.get("/account/2fa").text

    assert "Two-factor authentication is on." in html
    assert "10 recovery codes left." in html
    assert "<svg" not in html and secret not in html  # the key is never shown again
    assert 'hx-post="/api/v1/me/2fa/disable"' in html
    assert not any(code in html for code in confirmed.json()["recovery_codes"])


def test_a_new_token_is_shown_once_then_only_its_prefix(signed_in: Any) -> None:
    alice = signed_in("user")
    created = alice.post("/api/v1/me/tokens", json={"name": "copias", "scope": "write",
                                                     "expires_in_days": 30}).json()

    part = alice.get("/account/tokens", headers={"HX-Request": "true"}).text

    assert "copias" in part and created["prefix"] in part
    assert created["token"] not in part and created["token"] not in alice.get("/account").text
    assert f'hx-delete="/api/v1/me/tokens/{created["id"]}"' in part
    assert "never used" in part


def test_only_my_sessions_are_listed_and_the_others_can_be_ended(signed_in: Any,
                                                                new_client: Any,
                                                                people: Any) -> None:
    from alejandria_web.testing import login

    alice = signed_in("user")
    phone = new_client()
    phone.headers["User-Agent"] = ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 "
                                   "Chrome/126.0 Mobile Safari/537.36")
    login(phone, people["user"])
    bob = new_client()
    bob.headers["User-Agent"] = "BobsOwnBrowser/1.0"
    login(bob, people["other"])

    part = alice.get("/account/sessions").text

    assert "Chrome on Android" in part and "This browser" in part
    assert "BobsOwnBrowser" not in part
    assert part.count('hx-delete="/api/v1/me/sessions/') == 1  # not this one's own


def test_a_readonly_user_is_offered_read_tokens_only(signed_in: Any) -> None:
    html = signed_in("readonly").get("/account").text
    scopes = re.search(r'<select id="token-scope" name="scope">(.*?)</select>', html, re.S)
    assert scopes is not None
    assert re.findall(r'value="(\w+)"', scopes.group(1)) == ["read"]
    assert "Reader (read only)" in html
    assert "admin" not in re.findall(r'value="(\w+)"', html)
    admin = signed_in("admin").get("/account").text
    assert 'value="admin"' in admin


def test_an_api_token_sees_its_account_but_none_of_the_session_controls(
        archive: Any, people: Any, new_client: Any) -> None:
    token = archive.tokens.create(people["user"].id, "write").token
    client = new_client()
    client.headers["Authorization"] = f"Bearer {token}"

    page = client.get("/account")

    assert page.status_code == 200, page.text
    html = page.text
    assert "alice" in html and "using an API token" in html
    for control in ('hx-put="/api/v1/me/password"', 'hx-post="/api/v1/me/2fa/enrol"',
                    'hx-post="/api/v1/me/tokens"', "hx-delete=", "logout-everywhere",
                    'hx-get="/account/2fa"'):
        assert control not in html, control
    assert client.get("/account/2fa").status_code == 403


FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_the_account_page_in_spanish(new_client: Any, people: Any) -> None:
    from alejandria_web.testing import login

    alice = new_client()
    alice.headers["User-Agent"] = FIREFOX
    login(alice, people["user"])
    alice.patch("/api/v1/me/preferences", json={"language": "es"})
    html = alice.get("/account").text
    assert '<html lang="es"' in html
    assert "Mi cuenta" in html and "Autenticación en dos pasos" in html
    assert "Cambiar la contraseña" in html
    assert "Descargar mis datos" in html
    assert "Firefox en Linux" in html  # named in the page's language
    assert "Firefox en Linux" in alice.get("/account/sessions").text


def test_devices_are_named_from_their_user_agent() -> None:
    iphone = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
    assert device(FIREFOX) == "Firefox on Linux"
    assert device(iphone) == "Safari on iPhone"
    assert device("python-httpx/0.28") == "httpx"
    assert device("testclient") == "testclient"
    assert device(None) == "Unknown device"

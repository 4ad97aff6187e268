"""The pages' frame: login, redirects to it, the home page, languages, errors as pages, the
CSP on every page."""

from __future__ import annotations

from typing import Any

import pytest


def test_a_page_needs_a_sign_in_and_comes_back_after_it(client: Any) -> None:
    answer = client.get("/?x=1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2F%3Fx%3D1"
    htmx = client.get("/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["hx-redirect"] == "/login?next=%2F"


def test_login_page_posts_json_to_the_api_and_has_a_strict_csp(client: Any) -> None:
    answer = client.get("/login?next=/posts/3")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy
    assert 'hx-post="/api/v1/auth/login"' in answer.text
    assert 'data-redirect="/posts/3"' in answer.text
    assert "style=" not in answer.text  # the CSP would refuse inline styles


OFF_SITE = ["https://evil.example/", "//evil.example/x", "/\\evil",
            # a browser's URL parser drops tabs and newlines: these are //evil.example
            "/\t/evil.example/", "/\n/evil.example/", "/\r/evil.example/"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_never_redirects_off_site(client: Any, target: str) -> None:
    answer = client.get("/login", params={"next": target})
    assert 'data-redirect="/"' in answer.text


@pytest.mark.parametrize("target", OFF_SITE)
def test_a_signed_in_visit_to_login_never_redirects_off_site(signed_in: Any,
                                                             target: str) -> None:
    answer = signed_in("user").get("/login", params={"next": target}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_the_theme_switch_names_each_theme_in_the_page_language(signed_in: Any) -> None:
    """app.js toasts the theme it switched to: the words come from the page, not the script."""
    alice = signed_in("user")
    page = alice.get("/").text
    assert 'data-label-dark="Theme: dark"' in page
    assert 'data-label-auto="Theme: like the device"' in page
    alice.patch("/api/v1/me/preferences", json={"language": "es"})
    spanish = alice.get("/").text
    assert 'data-label-dark="Tema: oscuro"' in spanish
    assert 'data-label-light="Tema: claro"' in spanish


def test_home_lists_the_latest_posts(catalogue: Any, signed_in: Any) -> None:
    answer = signed_in("user").get("/")
    assert answer.status_code == 200, answer.text
    assert "Carta natal" in answer.text and "Tránsitos" in answer.text
    assert f'href="/posts/{catalogue.post_id}"' in answer.text


def test_spanish_from_the_browser_or_the_preference(catalogue: Any, signed_in: Any,
                                                    client: Any) -> None:
    assert "Iniciar sesión" in client.get("/login", headers={
        "Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}).text
    assert "Log in to Alejandria" in client.get("/login", headers={
        "Accept-Language": "de-DE,en;q=0.5"}).text
    alice = signed_in("user")
    assert "Latest posts" in alice.get("/").text
    assert alice.patch("/api/v1/me/preferences", json={"language": "es"}).status_code == 200
    assert "Últimas publicaciones" in alice.get("/").text


def test_errors_of_pages_are_pages(signed_in: Any) -> None:
    unknown = signed_in("user").get("/no-such-page", headers={"Accept": "text/html"})
    assert unknown.status_code == 404 and "<html" in unknown.text and "Not found" in unknown.text
    api = signed_in("user").get("/api/v1/posts/999999")
    assert api.headers["content-type"].startswith("application/json")


def test_readonly_sees_no_personal_controls(catalogue: Any, signed_in: Any) -> None:
    page = signed_in("readonly").get("/").text
    assert 'href="/lists"' not in page and 'href="/admin"' not in page
    assert 'href="/lists"' in signed_in("user").get("/").text

"""The browser harness itself, on what the app serves today: the API viewer, the API's
sign-in, screenshots and axe-core, each checked so that a broken harness fails here."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from alejandria.api import Archive

from .conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    PageErrors,
    axe_results,
    describe,
    errors_of,
    login,
    run_axe,
    screenshot,
)

if TYPE_CHECKING:  # imported by the fixtures only, so a missing playwright skips them
    from playwright.sync_api import Page

PASSWORD = "correct horse battery staple"


def open_docs(page: Page) -> None:
    """The API viewer, once Swagger UI has drawn the API's operations."""
    answer = page.goto("/api/v1/docs")
    assert answer is not None and answer.status == 200
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    page.locator(".swagger-ui .opblock").first.wait_for()


def test_the_api_viewer_loads_with_no_error_and_no_csp_refusal(
        page: Page, page_errors: PageErrors) -> None:
    open_docs(page)
    assert page.title() == "Alejandria API"
    assert page.locator(".swagger-ui .opblock").count() > 10  # drawn from openapi.json
    page_errors.assert_none()


def test_a_csp_refusal_is_seen(page: Page, page_errors: PageErrors) -> None:
    """The watch really sees what the policy refuses: an inline script without the nonce."""
    open_docs(page)
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.ranInline = true";
        document.body.appendChild(script);
    }""")
    page.wait_for_timeout(100)  # the console event arrives after the refusal
    assert page.evaluate("window.ranInline === undefined")
    assert page_errors.csp, page_errors.all()
    with pytest.raises(AssertionError, match="Content Security Policy"):
        page_errors.assert_none()


def test_a_request_to_another_origin_is_blocked_and_seen(page: Page,
                                                         page_errors: PageErrors) -> None:
    """A navigation (which no CSP governs) to another site is aborted and reported."""
    from playwright.sync_api import Error as PlaywrightError

    with pytest.raises(PlaywrightError, match="ERR_BLOCKED_BY_CLIENT"):
        page.goto("http://example.invalid/elsewhere")
    assert page_errors.off_origin == ["http://example.invalid/elsewhere"]


def test_login_gives_the_browser_a_session(page: Page, live_server: LiveServer,
                                          archive: Archive) -> None:
    archive.accounts.create("alice", PASSWORD)
    page.goto("/api/v1/auth/session")
    assert page_json(page)["authenticated"] is False

    answer = login(page, live_server.url, "alice", PASSWORD)
    assert answer["user"]["username"] == "alice"
    assert answer["csrf_token"]
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["alejandria_session"]["httpOnly"]

    page.goto("/api/v1/auth/session")  # the browser itself sends the cookie
    session = page_json(page)
    assert session["authenticated"] is True
    assert session["user"]["username"] == "alice"
    assert session["via"] == "session"


def test_a_wrong_password_fails_the_login_helper(page: Page, live_server: LiveServer,
                                                 archive: Archive) -> None:
    archive.accounts.create("alice", PASSWORD)
    with pytest.raises(AssertionError, match="401"):
        login(page, live_server.url, "alice", "not the password")


def test_the_server_serves_what_the_test_archived(page: Page, live_server: LiveServer,
                                                  people: Any, catalogue: Any) -> None:
    """The kit's fixtures write where the server reads: its posts (database) and its media
    files (data dir)."""
    login(page, live_server.url, people["user"].username, PASSWORD)
    page.goto(f"/api/v1/posts/{catalogue.post_id}")
    assert page_json(page)["title"] == "Carta natal"
    answer = page.request.get(f"{live_server.url}/api/v1/media/{catalogue.image_id}/content")
    assert answer.status == 200, answer.text()
    with Image.open(io.BytesIO(answer.body())) as image:
        assert image.size == (64, 48)  # the catalogue's picture, from the server's data dir


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_starts_on_an_empty_database(run: int, archive: Archive,
                                               live_server: LiveServer) -> None:
    """Twice: the second run finds the first one's account gone, and ids start again."""
    assert archive.accounts.list() == []
    assert archive.accounts.create("alice", PASSWORD).id == 1


@pytest.mark.parametrize("fixture", ["page", "phone_page"])
def test_a_screenshot_is_a_png_of_the_viewport_width(fixture: str,
                                                     request: pytest.FixtureRequest) -> None:
    page: Page = request.getfixturevalue(fixture)
    width, height = DESKTOP if fixture == "page" else PHONE
    open_docs(page)
    path = screenshot(page, f"harness-docs-{fixture}")
    assert path.parent.name == "screenshots"
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
        assert image.size[0] == width
        assert image.size[1] >= height  # the whole page, not the viewport only
    errors_of(page).assert_none()


def test_screenshots_go_where_the_artifacts_variable_says(
        page: Page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEJANDRIA_TEST_ARTIFACTS", str(tmp_path))
    page.goto("/health")
    path = screenshot(page, "a name/with odd*characters")
    assert path == tmp_path / "screenshots" / "a-name-with-odd-characters.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_axe_runs_on_the_page_under_its_policy(page: Page, page_errors: PageErrors) -> None:
    open_docs(page)
    result = axe_results(page)
    assert result["testEngine"]["version"] == "4.14.1"
    assert len(result["passes"]) > 0  # it really checked the page
    serious = run_axe(page)  # a second run reuses the injected axe
    assert isinstance(serious, list)
    assert all(found["impact"] in ("serious", "critical") for found in serious)
    page_errors.assert_none()  # injecting axe broke no policy


def test_axe_reports_a_serious_violation_under_the_strictest_policy(page: Page) -> None:
    """On a JSON answer (``default-src 'none'``), an image with no text alternative: axe
    still runs, and reports it (``image-alt``, critical)."""
    answer = page.goto("/health")
    assert answer is not None
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert "image-alt" not in {violation["id"] for violation in run_axe(page)}
    page.evaluate("""() => {
        const image = document.createElement("img");
        image.src = "data:image/gif;base64,R0lGODlhAQABAAAAACw=";
        document.body.appendChild(image);
    }""")
    found = {violation["id"]: violation for violation in run_axe(page)}
    assert "image-alt" in found, describe(list(found.values()))
    assert found["image-alt"]["impact"] == "critical"


def page_json(page: Page) -> dict[str, Any]:
    """The JSON document the page shows (Chromium shows JSON as text in a ``<pre>``)."""
    import json

    found: dict[str, Any] = json.loads(page.locator("body").inner_text())
    return found

"""Signing in and out, 2FA, throttling, CSRF, API tokens, password changes, admin changes to a
signed-in user, the error shape and the security headers: all through the real app (ASGI) on a
real Postgres.

Every test gets a fresh archive, but every test client calls from the same address
("testclient"), so a test keeps its failed logins under the throttle's limit unless locking is
what it tests (a success resets the account's count, not the address's).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from alejandria.accounts.throttle import ThrottlePolicy
from alejandria_web.security.identity import SESSION_COOKIE
from alejandria_web.testing import PASSWORD, Person, login

LOGIN = "/api/v1/auth/login"
NEW_PASSWORD = "a brand new passphrase 42"

NewClient = Callable[[], TestClient[Litestar]]
SignedIn = Callable[[str], TestClient[Litestar]]


# -- helpers ------------------------------------------------------------------------------------


def error_of(answer: Any, status: int, code: str) -> dict[str, Any]:
    """The error of ``answer``, checked: this status, our one shape, this code."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    return error  # type: ignore[no-any-return]


def session_cookies(answer: Any) -> list[str]:
    return [value for value in answer.headers.get_list("set-cookie")
            if value.startswith(f"{SESSION_COOKIE}=")]


def cookie_attributes(header: str) -> tuple[str, dict[str, str]]:
    """``name=value; A=b; Flag`` -> (value, {"a": "b", "flag": ""}) with lower-case names."""
    first, *rest = [part.strip() for part in header.split(";")]
    value = first.split("=", 1)[1]
    attributes = {}
    for part in rest:
        name, _, setting = part.partition("=")
        attributes[name.lower()] = setting
    return value, attributes


def login_json(username: str, password: str, totp: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"username": username, "password": password}
    if totp is not None:
        body["totp"] = totp
    return body


def everything_of(answer: Any, *, but_cookies: bool = False) -> str:
    """The response's headers and body as one text (to look for secrets in it)."""
    headers = [f"{name}: {value}" for name, value in answer.headers.multi_items()
               if not (but_cookies and name.lower() == "set-cookie")]
    return "\n".join(headers) + "\n" + str(answer.text)


def me_status(client: Any, **kwargs: Any) -> int:
    return int(client.get("/api/v1/me", **kwargs).status_code)


class MovableClock:
    """The account services' time, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        start = datetime.now(UTC).replace(microsecond=0)
        # one second into a 30 s TOTP step: a code stays in its step until the test moves on
        self.now = start - timedelta(seconds=start.timestamp() % 30) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(archive: Any, monkeypatch: pytest.MonkeyPatch) -> MovableClock:
    """The archive's account services (logins, throttle, 2FA, tokens) on a clock the test
    moves: ``build_services(now=...)``, the seam core offers for it."""
    from alejandria.accounts.service import build_services

    moving = MovableClock()
    monkeypatch.setattr(archive, "_account_services",
                        build_services(archive.engine, archive.settings, now=moving))
    return moving


# -- logging in ---------------------------------------------------------------------------------


def test_login_sets_a_safe_session_cookie_over_http(client: Any, people: dict[str, Person]
                                                    ) -> None:
    alice = people["user"]
    answer = client.post(LOGIN, json=login_json(alice.username, alice.password))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"user", "csrf_token", "expires_at"}
    assert body["user"]["username"] == "alice"
    assert body["user"]["id"] == alice.id
    assert "password" not in body["user"] and "password_hash" not in body["user"]
    assert len(body["csrf_token"]) >= 32
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC)

    [cookie] = session_cookies(answer)
    token, attributes = cookie_attributes(cookie)
    assert len(token) >= 32
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "lax"
    assert attributes["path"] == "/"
    assert int(attributes["max-age"]) > 0
    assert "secure" not in attributes
    assert "strict-transport-security" not in answer.headers

    # the cookie is the session: the client is signed in with it, and it is not the CSRF token
    assert token != body["csrf_token"]
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["username"] == "alice"

    # neither the password nor the raw session token is anywhere but the cookie itself
    assert alice.password not in everything_of(answer)
    assert token not in everything_of(answer, but_cookies=True)
    for path in ("/api/v1/me", "/api/v1/me/sessions", "/api/v1/auth/session"):
        shown = client.get(path)
        assert shown.status_code == 200
        assert token not in everything_of(shown)
        assert alice.password not in everything_of(shown)
    # what the session list calls its id is a prefix of the token's hash, not of the token
    [listed] = client.get("/api/v1/me/sessions").json()["items"]
    assert listed["current"] is True
    assert not token.startswith(listed["id"])


def test_login_over_https_sets_a_secure_cookie_and_hsts(app: Litestar,
                                                        people: dict[str, Person]) -> None:
    https = TestClient(app, base_url="https://testserver.local")
    alice = people["user"]
    answer = https.post(LOGIN, json=login_json(alice.username, alice.password))
    assert answer.status_code == 200, answer.text
    [cookie] = session_cookies(answer)
    _, attributes = cookie_attributes(cookie)
    assert "secure" in attributes
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "lax"
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert int(answer.headers["strict-transport-security"].split("=")[1]) >= 86400 * 180
    # the browser sends the Secure cookie back over https: signed in
    assert me_status(https) == 200
    # logging out over https clears the cookie with Secure too
    https.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    out = https.post("/api/v1/auth/logout")
    assert out.status_code == 200
    [cleared] = session_cookies(out)
    assert "secure" in cookie_attributes(cleared)[1]


def test_wrong_password_and_unknown_user_look_the_same(client: Any,
                                                       people: dict[str, Person]) -> None:
    wrong = client.post(LOGIN, json=login_json("alice", "not the password at all"))
    wrong_error = error_of(wrong, 401, "invalid_credentials")
    unknown = client.post(LOGIN, json=login_json("nobody-here", "not the password at all"))
    unknown_error = error_of(unknown, 401, "invalid_credentials")
    assert wrong_error == unknown_error
    for answer in (wrong, unknown):
        assert not session_cookies(answer)
        assert "not the password at all" not in everything_of(answer)
    assert me_status(client) == 401


def test_login_needs_a_json_body(client: Any, people: dict[str, Person]) -> None:
    """A cross-site form can post text/plain without a preflight: refused before the password
    is even checked, so it cannot sign a victim's browser in to the attacker's account."""
    import json

    alice = people["user"]
    body = json.dumps(login_json(alice.username, alice.password))
    answer = client.post(LOGIN, content=body, headers={"content-type": "text/plain"})
    error_of(answer, 415, "unsupported_media_type")
    assert not session_cookies(answer)
    assert alice.password not in everything_of(answer)
    # what an HTML form can send is refused the same way, before its body is read
    form = f"username=alice&password={alice.password.replace(' ', '+')}"
    for kind, content in [("application/x-www-form-urlencoded", form),
                          ("multipart/form-data; boundary=b", "--b--\r\n"),
                          ("text/plain", "username=alice")]:
        error_of(client.post(LOGIN, content=content, headers={"content-type": kind}),
                 415, "unsupported_media_type")
    assert me_status(client) == 401
    # JSON with a charset is JSON
    answer = client.post(LOGIN, content=body,
                         headers={"content-type": "application/json; charset=utf-8"})
    assert answer.status_code == 200, answer.text


def test_a_disabled_user_cannot_log_in(client: Any, archive: Any,
                                       people: dict[str, Person]) -> None:
    archive.accounts.disable(people["user"].id)
    answer = client.post(LOGIN, json=login_json("alice", PASSWORD))
    error = error_of(answer, 401, "invalid_credentials")
    # the same answer as a wrong password: it does not say the account exists
    wrong = client.post(LOGIN, json=login_json("bob", "wrong wrong wrong"))
    assert error == error_of(wrong, 401, "invalid_credentials")
    assert not session_cookies(answer)
    assert PASSWORD not in everything_of(answer)


def test_a_new_login_replaces_the_session(new_client: NewClient,
                                          people: dict[str, Person]) -> None:
    """No session fixation: logging in again on the same browser ends the old session."""
    browser = new_client()
    login(browser, people["user"])
    first = browser.cookies[SESSION_COOKIE]
    login(browser, people["user"])
    second = browser.cookies[SESSION_COOKIE]
    assert first != second
    stale = new_client()
    assert me_status(stale, headers={"Cookie": f"{SESSION_COOKIE}={first}"}) == 401
    assert me_status(browser) == 200


# -- two-factor authentication ------------------------------------------------------------------


def test_two_factor_login(clock: MovableClock, signed_in: SignedIn, new_client: NewClient,
                          people: dict[str, Person]) -> None:
    alice = signed_in("user")
    assert alice.get("/api/v1/me/2fa").json() == {"enabled": False, "recovery_codes_left": 0}
    enrolment = alice.post("/api/v1/me/2fa/enrol")
    assert enrolment.status_code == 200, enrolment.text
    secret = enrolment.json()["secret"]
    assert enrolment.json()["uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(secret)

    # a wrong code does not turn 2FA on
    first_code = totp.at(clock.now)
    error_of(alice.post("/api/v1/me/2fa/confirm", json={"code": other_code(totp, clock)}),
             400, "totp_invalid")
    assert alice.get("/api/v1/me/2fa").json()["enabled"] is False
    confirmed = alice.post("/api/v1/me/2fa/confirm", json={"code": first_code})
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["recovery_codes"]
    assert len(recovery) == 10 and len(set(recovery)) == 10
    assert alice.get("/api/v1/me/2fa").json() == {"enabled": True, "recovery_codes_left": 10}
    assert alice.post("/api/v1/auth/logout").status_code == 200

    browser = new_client()
    # the password alone is not enough (and no session is made)
    answer = browser.post(LOGIN, json=login_json("alice", PASSWORD))
    error_of(answer, 401, "totp_required")
    assert not session_cookies(answer)
    # the code that confirmed 2FA was spent: the same time step again is a replay
    error_of(browser.post(LOGIN, json=login_json("alice", PASSWORD, first_code)),
             401, "totp_invalid")  # failure 1 of the address

    clock.advance(30)
    code = totp.at(clock.now)
    error_of(browser.post(LOGIN, json=login_json("alice", PASSWORD, other_code(totp, clock))),
             401, "totp_invalid")  # failure 2
    answer = browser.post(LOGIN, json=login_json("alice", PASSWORD, code))
    assert answer.status_code == 200, answer.text
    assert session_cookies(answer)
    assert me_status(browser) == 200
    # the same code again, in the same time step, on another browser: a replay
    replay = new_client()
    answer = replay.post(LOGIN, json=login_json("alice", PASSWORD, code))
    error_of(answer, 401, "totp_invalid")  # failure 3
    assert not session_cookies(answer)
    assert me_status(replay) == 401

    # a recovery code works once, with or without its dashes and in any case
    spare = new_client()
    answer = spare.post(LOGIN, json=login_json("alice", PASSWORD, recovery[0].upper()))
    assert answer.status_code == 200, answer.text
    spare.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    assert spare.get("/api/v1/me/2fa").json() == {"enabled": True, "recovery_codes_left": 9}
    again = new_client()
    error_of(again.post(LOGIN, json=login_json("alice", PASSWORD, recovery[0])),
             401, "totp_invalid")  # failure 4 (the 5th would lock the address)
    assert me_status(again) == 401

    # the next time step's code works: the refusals above were replays, not a stuck clock
    clock.advance(30)
    answer = new_client().post(LOGIN, json=login_json("alice", PASSWORD, totp.at(clock.now)))
    assert answer.status_code == 200, answer.text

    # a token cannot turn 2FA off; a session can, with the password and a code
    token = spare.post("/api/v1/me/tokens", json={"scope": "write"}).json()["token"]
    bearer = new_client()
    bearer.headers["Authorization"] = f"Bearer {token}"
    error_of(bearer.post("/api/v1/me/2fa/disable",
                         json={"password": PASSWORD, "code": recovery[1]}),
             403, "session_required")
    off = spare.post("/api/v1/me/2fa/disable", json={"password": PASSWORD, "code": recovery[1]})
    assert off.status_code == 200, off.text
    answer = new_client().post(LOGIN, json=login_json("alice", PASSWORD))
    assert answer.status_code == 200, answer.text


def other_code(totp: pyotp.TOTP, clock: MovableClock) -> str:
    """A six-digit code that is none of the codes the server accepts now (steps -1, 0, +1)."""
    near = {totp.at(clock.now + timedelta(seconds=shift)) for shift in (-30, 0, 30)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in near)


# -- throttling -------------------------------------------------------------------------------


def test_repeated_failures_lock_the_login(clock: MovableClock, new_client: NewClient,
                                          people: dict[str, Person]) -> None:
    policy = ThrottlePolicy()
    browser = new_client()
    for attempt in range(1, policy.max_failures + 1):
        answer = browser.post(LOGIN, json=login_json("alice", f"wrong guess {attempt}"))
        # the failure that locks still says only "wrong"
        error_of(answer, 401, "invalid_credentials")

    locked = browser.post(LOGIN, json=login_json("alice", "wrong guess again"))
    error = error_of(locked, 429, "locked")
    retry_after = locked.headers["retry-after"]
    assert re.fullmatch(r"[0-9]+", retry_after), retry_after
    assert 1 <= int(retry_after) <= policy.first_lockout.total_seconds()
    assert error["details"] == {"retry_after": int(retry_after)}

    # while locked even the right password is refused, and no session is made
    right = browser.post(LOGIN, json=login_json("alice", PASSWORD))
    error_of(right, 429, "locked")
    assert not session_cookies(right)
    assert PASSWORD not in everything_of(right)
    assert me_status(browser) == 401
    # the address is locked as well (every test client calls from the same one)
    error_of(new_client().post(LOGIN, json=login_json("bob", PASSWORD)), 429, "locked")

    # when the lockout is over, the right password works again
    clock.advance(int(retry_after) + 1)
    answer = browser.post(LOGIN, json=login_json("alice", PASSWORD))
    assert answer.status_code == 200, answer.text
    assert me_status(browser) == 200


# -- logging out --------------------------------------------------------------------------------


def test_logout_ends_the_session_and_clears_the_cookie(signed_in: SignedIn,
                                                       new_client: NewClient, app: Litestar,
                                                       people: dict[str, Person]) -> None:
    alice = signed_in("user")
    cookie = alice.cookies[SESSION_COOKIE]
    assert len(app.state.sessions.list_for_user(people["user"].id)) == 1

    # logging out is an unsafe request: it needs the CSRF token too
    csrf = alice.headers.pop("X-CSRF-Token")
    error_of(alice.post("/api/v1/auth/logout"), 403, "csrf_failed")
    assert me_status(alice) == 200
    alice.headers["X-CSRF-Token"] = csrf

    answer = alice.post("/api/v1/auth/logout")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ended": 1}
    [cleared] = session_cookies(answer)
    value, attributes = cookie_attributes(cleared)
    assert value == "" or value == '""'
    assert attributes["max-age"] == "0"
    assert attributes["path"] == "/"
    assert SESSION_COOKIE not in alice.cookies
    assert me_status(alice) == 401

    # the old cookie, sent again by anyone, is no session
    thief = new_client()
    stale = thief.get("/api/v1/me", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
    error_of(stale, 401, "not_authenticated")
    # ... and the browser is told to forget it
    [forget] = session_cookies(stale)
    assert cookie_attributes(forget)[1]["max-age"] == "0"
    assert app.state.sessions.list_for_user(people["user"].id) == []


def test_logout_everywhere(signed_in: SignedIn, app: Litestar,
                           people: dict[str, Person]) -> None:
    laptop, phone, bob = signed_in("user"), signed_in("user"), signed_in("other")
    assert [me_status(c) for c in (laptop, phone, bob)] == [200, 200, 200]
    answer = laptop.post("/api/v1/auth/logout-everywhere")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ended": 2}
    assert session_cookies(answer)
    assert cookie_attributes(session_cookies(answer)[0])[1]["max-age"] == "0"
    assert me_status(laptop) == 401
    assert me_status(phone) == 401
    assert app.state.sessions.list_for_user(people["user"].id) == []
    # another user's session is untouched
    assert me_status(bob) == 200
    assert len(app.state.sessions.list_for_user(people["other"].id)) == 1


def test_ending_one_of_my_sessions(signed_in: SignedIn) -> None:
    laptop, phone = signed_in("user"), signed_in("user")
    items = laptop.get("/api/v1/me/sessions").json()["items"]
    assert len(items) == 2
    [other] = [item for item in items if not item["current"]]
    assert laptop.delete(f"/api/v1/me/sessions/{other['id']}").status_code == 204
    assert me_status(phone) == 401
    assert me_status(laptop) == 200
    error_of(laptop.delete(f"/api/v1/me/sessions/{other['id']}"), 404, "not_found")


# -- CSRF ---------------------------------------------------------------------------------------


def list_names(client: Any) -> list[str]:
    answer = client.get("/api/v1/lists")
    assert answer.status_code == 200, answer.text
    return [item["name"] for item in answer.json()["items"]]


def test_csrf_protects_unsafe_session_requests(signed_in: SignedIn, new_client: NewClient,
                                               archive: Any, people: dict[str, Person]) -> None:
    alice = signed_in("user")
    csrf = alice.headers.pop("X-CSRF-Token")

    # GET never needs the token
    assert list_names(alice) == []
    missing = alice.post("/api/v1/lists", json={"name": "no token"})
    error_of(missing, 403, "csrf_failed")
    assert csrf not in everything_of(missing)
    wrong = alice.post("/api/v1/lists", json={"name": "wrong token"},
                       headers={"X-CSRF-Token": csrf[:-2] + ("aa" if csrf[-2:] != "aa" else "bb")})
    error_of(wrong, 403, "csrf_failed")
    # another session's token is no good either: a token belongs to its session
    bob_csrf = signed_in("other").headers["X-CSRF-Token"]
    error_of(alice.post("/api/v1/lists", json={"name": "bob's token"},
                        headers={"X-CSRF-Token": bob_csrf}), 403, "csrf_failed")
    # and every unsafe method is checked
    error_of(alice.put("/api/v1/lists/order", json={"ids": []}), 403, "csrf_failed")
    error_of(alice.delete("/api/v1/lists/1"), 403, "csrf_failed")
    error_of(alice.patch("/api/v1/me/preferences", json={"theme": "dark"}), 403, "csrf_failed")
    assert list_names(alice) == []
    assert archive.accounts.get(people["user"].id).preferences.get("theme") != "dark"

    right = alice.post("/api/v1/lists", json={"name": "with token"},
                       headers={"X-CSRF-Token": csrf})
    assert right.status_code == 201, right.text
    assert list_names(alice) == ["with token"]

    # a token client sends no CSRF token (no cookie a browser could send for it)
    token = archive.tokens.create(people["user"].id, "write").token
    bearer = new_client()
    bearer.headers["Authorization"] = f"Bearer {token}"
    made = bearer.post("/api/v1/lists", json={"name": "by token"})
    assert made.status_code == 201, made.text
    assert list_names(alice) == ["with token", "by token"]


# -- API tokens ---------------------------------------------------------------------------------


def test_api_tokens(signed_in: SignedIn, new_client: NewClient, catalogue: Any) -> None:
    alice = signed_in("user")
    made = alice.post("/api/v1/me/tokens", json={"name": "reader", "scope": "read"})
    assert made.status_code == 201, made.text
    shown = made.json()
    token = shown["token"]
    assert token.startswith("alj_") and len(token) > 30
    assert shown["scope"] == "read" and shown["name"] == "reader"
    assert token.startswith(f"alj_{shown['prefix'].removeprefix('alj_')}")

    # the list never shows the token again
    listing = alice.get("/api/v1/me/tokens")
    assert listing.status_code == 200
    [item] = listing.json()["items"]
    assert item["id"] == shown["id"] and item["revoked_at"] is None
    assert "token" not in item
    assert token not in listing.text
    assert token[len("alj_") + 8:] not in listing.text

    reader = new_client()
    reader.headers["Authorization"] = f"Bearer {token}"
    posts = reader.get("/api/v1/posts")
    assert posts.status_code == 200, posts.text
    assert catalogue.post_id in [post["id"] for post in posts.json()["items"]]
    # a read token may read, not write (its scope caps it below alice's role)
    error_of(reader.post("/api/v1/lists", json={"name": "from a read token"}), 403, "forbidden")
    assert list_names(alice) == []
    # a token cannot mint tokens, nor change the password
    error_of(reader.post("/api/v1/me/tokens", json={"scope": "read"}), 403, "session_required")
    error_of(reader.put("/api/v1/me/password",
                        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
             403, "session_required")
    write = signed_in("user").post("/api/v1/me/tokens", json={"scope": "write"}).json()
    writer = new_client()
    writer.headers["Authorization"] = f"Bearer {write['token']}"
    error_of(writer.post("/api/v1/me/tokens", json={"scope": "read"}), 403, "session_required")
    assert len(alice.get("/api/v1/me/tokens").json()["items"]) == 2

    # revoked: the token is refused at once
    assert alice.delete(f"/api/v1/me/tokens/{shown['id']}").status_code == 204
    error = error_of(reader.get("/api/v1/posts"), 401, "invalid_token")
    assert token not in str(error)
    assert [t["id"] for t in alice.get("/api/v1/me/tokens").json()["items"]] == [write["id"]]
    error_of(alice.delete(f"/api/v1/me/tokens/{shown['id']}"), 404, "not_found")

    # malformed credentials are an error, never a fall-back to anonymous or to the cookie
    for header in ("Basic x", "Bearer", "Bearer ", "alj_nothing", "Bearer alj_not-a-token"):
        answer = alice.get("/api/v1/me", headers={"Authorization": header})
        error_of(answer, 401, "invalid_token")
        assert answer.headers["www-authenticate"] == "Bearer"
    anonymous = new_client()
    error_of(anonymous.get("/api/v1/posts"), 401, "not_authenticated")


# -- password changes and admin changes ---------------------------------------------------------


def test_changing_my_password_ends_my_other_sessions(signed_in: SignedIn,
                                                     new_client: NewClient,
                                                     people: dict[str, Person]) -> None:
    here, elsewhere, bob = signed_in("user"), signed_in("user"), signed_in("other")
    wrong = here.put("/api/v1/me/password",
                     json={"current_password": "not my password", "new_password": NEW_PASSWORD})
    error_of(wrong, 400, "invalid_credentials")
    assert "not my password" not in everything_of(wrong)
    assert NEW_PASSWORD not in everything_of(wrong)
    assert [me_status(c) for c in (here, elsewhere)] == [200, 200]

    changed = here.put("/api/v1/me/password",
                       json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"changed": True, "other_sessions_ended": 1}
    assert NEW_PASSWORD not in everything_of(changed) and PASSWORD not in everything_of(changed)
    assert me_status(here) == 200
    assert me_status(elsewhere) == 401
    assert me_status(bob) == 200

    # the old password is gone, the new one works
    error_of(new_client().post(LOGIN, json=login_json("alice", PASSWORD)),
             401, "invalid_credentials")
    login(new_client(), Person(people["user"].id, "alice", "user", NEW_PASSWORD))


def test_admin_disabling_a_user_ends_their_sessions(signed_in: SignedIn, app: Litestar,
                                                    new_client: NewClient, archive: Any,
                                                    people: dict[str, Person]) -> None:
    admin, alice, bob = signed_in("admin"), signed_in("user"), signed_in("other")
    alice_id = people["user"].id
    bearer = new_client()
    bearer.headers["Authorization"] = f"Bearer {archive.tokens.create(alice_id, 'read').token}"
    assert me_status(alice) == 200 and me_status(bearer) == 200
    answer = admin.patch(f"/api/v1/users/{alice_id}", json={"active": False})
    assert answer.status_code == 200, answer.text
    assert answer.json()["active"] is False
    error_of(alice.get("/api/v1/me"), 401, "not_authenticated")
    assert app.state.sessions.list_for_user(alice_id) == []
    error_of(bearer.get("/api/v1/me"), 401, "invalid_token")  # her tokens stop too
    assert me_status(bob) == 200
    # enabling her again does not bring the old session back: it was deleted, not paused
    assert admin.patch(f"/api/v1/users/{alice_id}", json={"active": True}).status_code == 200
    assert me_status(alice) == 401
    login(alice, people["user"])
    assert me_status(alice) == 200


def test_a_role_change_applies_on_the_next_request(signed_in: SignedIn,
                                                   new_client: NewClient, archive: Any,
                                                   people: dict[str, Person]) -> None:
    admin, alice = signed_in("admin"), signed_in("user")
    alice_id = people["user"].id
    bearer = new_client()
    bearer.headers["Authorization"] = f"Bearer {archive.tokens.create(alice_id, 'write').token}"
    assert alice.post("/api/v1/lists", json={"name": "before"}).status_code == 201
    assert admin.patch(f"/api/v1/users/{alice_id}",
                       json={"role": "readonly"}).status_code == 200
    error_of(alice.post("/api/v1/lists", json={"name": "after"}), 403, "forbidden")
    # a write token is capped by its owner's role as it is now
    error_of(bearer.post("/api/v1/lists", json={"name": "by token"}), 403, "forbidden")
    assert list_names(alice) == ["before"]  # still signed in, still reading
    assert alice.get("/api/v1/auth/session").json()["user"]["role"] == "readonly"
    # and a user made admin is one at once
    error_of(alice.get("/api/v1/users"), 403, "forbidden")
    assert admin.patch(f"/api/v1/users/{alice_id}", json={"role": "admin"}).status_code == 200
    assert alice.get("/api/v1/users").status_code == 200


# -- the error shape and the security headers -----------------------------------------------


def test_errors_have_one_shape(client: Any, signed_in: SignedIn) -> None:
    error_of(client.get("/api/v1/me"), 401, "not_authenticated")
    error_of(client.get("/api/v1/no-such-route"), 404, "not_found")
    error_of(client.post(LOGIN, json={"username": "alice"}), 400, "invalid_request")
    error_of(client.post(LOGIN, json={"username": "a", "password": "b", "extra": 1}),
             400, "invalid_request")
    alice = signed_in("user")
    error_of(alice.get("/api/v1/users"), 403, "forbidden")
    error_of(alice.get("/api/v1/lists/987654"), 404, "not_found")
    error_of(alice.post("/api/v1/lists", json={"name": "   "}), 400, "invalid_request")
    error_of(alice.delete("/api/v1/health-of-nothing"), 404, "not_found")


def test_security_headers_on_json(client: Any, signed_in: SignedIn) -> None:
    for answer in (client.get("/api/v1/me"), signed_in("user").get("/api/v1/me"),
                   client.get("/api/v1/auth/session")):
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"]
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "strict-transport-security" not in answer.headers  # plain http


def test_security_headers_on_html(client: Any) -> None:
    pages = [client.get("/api/v1/docs") for _ in range(2)]
    nonces = []
    for page in pages:
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"]
        directives = {part.split()[0]: part.split()[1:] for part in
                      page.headers["content-security-policy"].split(";") if part.strip()}
        script = directives["script-src"]
        assert "'self'" in script
        [nonce] = [source for source in script if source.startswith("'nonce-")]
        nonces.append(nonce)
        assert len(nonce) > len("'nonce-'") + 16
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
        assert directives["frame-ancestors"] == ["'none'"]
        assert directives["object-src"] == ["'none'"]
        # the page itself has no inline script: every script is a file from our origin
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
    assert nonces[0] != nonces[1]

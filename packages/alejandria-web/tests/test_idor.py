"""Another user's ids get nothing: every personal route, called by bob (by session and by
token) and by an admin with alice's list, highlight, token, session and status label, is a 404
(a 403 would say the object exists), and alice's things are unchanged afterwards.

The routes come from the app's route table (every path with a personal id in it), so a new
personal route is covered the day it lands; ``PERSONAL_IDS`` names the ids this test can fill.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from alejandria_web.pages.common import is_page
from alejandria_web.security.access import Access, access_of

SignedIn = Callable[[str], TestClient[Litestar]]

#: Path parameters that name one user's own object.
PERSONAL_IDS = ("list_id", "highlight_id", "token_id", "session_id", "label")

LIST_NAME = "Astrología privada"
NOTE = "Mi **nota** secreta sobre la carta."
QUOTE = "carta natal"
LABEL = "releído"


def error_of(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


@dataclass
class AlicesThings:
    list_id: int
    highlight_id: int
    token_id: int
    token: str
    session_id: str
    label: str


def personal_routes(app: Litestar) -> Iterator[tuple[str, str, Access]]:
    """(path, method, access) of every route whose path holds a personal id, acting on one's
    own (admin routes over everyone's tokens or users are the route matrix's)."""
    for route in app.routes:
        if not any(f"{{{name}" in route.path for name in PERSONAL_IDS):
            continue
        for handler in getattr(route, "route_handlers", ()):
            level = access_of(handler.opt)
            assert level is not None
            if level in (Access.ADMIN, Access.OPERATE):
                continue
            for method in sorted(handler.http_methods - {"OPTIONS"}):
                yield route.path, method, level


def page_paths(app: Litestar) -> set[str]:
    """The paths that are pages (HTML, their 404 a page too) rather than API routes."""
    return {route.path for route in app.routes
            for handler in getattr(route, "route_handlers", ()) if is_page(handler.opt)}


def fill(path: str, things: AlicesThings, post_id: int) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "post_id":
            return str(post_id)
        if name not in PERSONAL_IDS:
            raise AssertionError(f"{path}: this test cannot fill {{{name}}}: teach it how")
        return str(getattr(things, name))

    return re.sub(r"\{([a-z_]+)(?::[a-z]+)?\}", value, path)


def body_for(path: str, method: str) -> dict[str, Any] | None:
    """A body that would change alice's object if the call got through."""
    if method not in ("POST", "PUT", "PATCH"):
        return None
    if method == "PATCH" and "/lists/" in path:
        return {"name": "pwned", "description": "pwned", "color": "#000000"}
    if method == "PATCH" and "/highlights/" in path:
        return {"color": "#000000", "comment": "pwned"}
    return {}


@pytest.fixture
def alices_things(signed_in: SignedIn, catalogue: Any) -> tuple[Any, Any, AlicesThings]:
    """Alice makes, through the API, a list holding the post, a note, a highlight, a status
    label set on the post, a token and a second session. (her client, her other client, ids)"""
    alice, alice_elsewhere = signed_in("user"), signed_in("user")
    post = catalogue.post_id
    made = ok(alice.post("/api/v1/lists", json={"name": LIST_NAME, "description": "solo mía",
                                                "color": "#112233"}), 201)
    ok(alice.put(f"/api/v1/lists/{made['id']}/posts/{post}"), 204)
    ok(alice.put(f"/api/v1/posts/{post}/note", json={"markdown": NOTE}))
    highlight = ok(alice.post(f"/api/v1/posts/{post}/highlights",
                              json={"quote": QUOTE, "comment": "clave"}), 201)
    assert highlight["quote"] == QUOTE
    ok(alice.post("/api/v1/statuses", json={"label": LABEL}), 201)
    assert ok(alice.put(f"/api/v1/posts/{post}/status", json={"status": LABEL}))["status"] \
        == LABEL
    token = ok(alice.post("/api/v1/me/tokens", json={"name": "alice-cli", "scope": "write"}),
               201)
    sessions = ok(alice.get("/api/v1/me/sessions"))["items"]
    assert len(sessions) == 2
    [elsewhere] = [item["id"] for item in sessions if not item["current"]]
    return alice, alice_elsewhere, AlicesThings(
        list_id=made["id"], highlight_id=highlight["id"], token_id=token["id"],
        token=token["token"], session_id=elsewhere, label=LABEL)


def snapshot(alice: Any, things: AlicesThings, post_id: int) -> dict[str, Any]:
    """Everything of alice's the attacks could touch, as alice sees it (times that move on
    their own, like a token's last use, left out)."""
    the_list = ok(alice.get(f"/api/v1/lists/{things.list_id}"))
    for posted in the_list["posts"]:
        posted.pop("added_at")
    tokens = [{k: v for k, v in t.items() if k != "last_used_at"}
              for t in ok(alice.get("/api/v1/me/tokens"))["items"]]
    sessions = [s["id"] for s in ok(alice.get("/api/v1/me/sessions"))["items"]]
    return {
        "lists": ok(alice.get("/api/v1/lists"))["items"],
        "list": the_list,
        "notes": ok(alice.get("/api/v1/notes"))["items"],
        "highlight": ok(alice.get(f"/api/v1/highlights/{things.highlight_id}")),
        "highlights": ok(alice.get("/api/v1/highlights"))["items"],
        "labels": ok(alice.get("/api/v1/statuses"))["items"],
        "status": ok(alice.get(f"/api/v1/posts/{post_id}/status"))["status"],
        "tokens": tokens,
        "sessions": sorted(sessions),
    }


def test_the_personal_route_table(app: Litestar) -> None:
    table = list(personal_routes(app))
    paths = {path for path, _, _ in table}
    assert len(table) >= 10
    assert {"/api/v1/lists/{list_id:int}", "/api/v1/lists/{list_id:int}/posts/{post_id:int}",
            "/api/v1/highlights/{highlight_id:int}", "/api/v1/me/tokens/{token_id:int}",
            "/api/v1/me/sessions/{session_id:str}"} <= paths
    # every personal route is for signed-in users only
    assert all(level is not Access.PUBLIC for _, _, level in table)


def test_another_users_ids_are_404(app: Litestar, signed_in: SignedIn, new_client: Any,
                                   catalogue: Any, alices_things: Any) -> None:
    alice, alice_elsewhere, things = alices_things
    post, other_post = catalogue.post_id, catalogue.other_post_id
    before = snapshot(alice, things, post)
    assert before["list"]["name"] == LIST_NAME
    assert [p["post_id"] for p in before["list"]["posts"]] == [post]
    assert [n["markdown"] for n in before["notes"]] == [NOTE]
    assert before["highlight"]["quote"] == QUOTE and before["highlight"]["comment"] == "clave"
    assert LABEL in before["labels"] and before["status"] == LABEL
    assert len(before["tokens"]) == 1 and len(before["sessions"]) == 2

    bob, admin = signed_in("other"), signed_in("admin")
    bob_token = ok(bob.post("/api/v1/me/tokens", json={"scope": "write"}), 201)["token"]
    bob_bearer = new_client()
    bob_bearer.headers["Authorization"] = f"Bearer {bob_token}"
    # bob also has a list, a highlight and a label of his own: ids that exist, just not hers
    ok(bob.post("/api/v1/lists", json={"name": "Bob's"}), 201)
    ok(bob.post(f"/api/v1/posts/{post}/highlights", json={"quote": "planetas"}), 201)
    ok(bob.post("/api/v1/statuses", json={"label": "bob's label"}), 201)

    callers = {"bob": (bob, "session"), "bob-token": (bob_bearer, "token"),
               "admin": (admin, "session")}
    table = list(personal_routes(app))
    pages = page_paths(app)
    assert table
    failures = []
    calls = 0
    for path, method, level in table:
        # adding a post tries one that is not in her list yet; removing, the one that is
        url = fill(path, things, other_post if method == "PUT" else post)
        for name, (client, via) in callers.items():
            answer = client.request(method, url, json=body_for(path, method))
            calls += 1
            if via == "token" and level is Access.SESSION:
                want, code = 403, "session_required"  # the token never gets that far
            else:
                want, code = 404, "not_found"
            got = answer.status_code
            if path in pages:  # a page's error is a page: its status says it
                html = answer.headers.get("content-type", "").startswith("text/html")
                got_code = code if html else "not a page"
            else:
                got_code = (answer.json().get("error", {}).get("code") if answer.content
                            else None)
            if (got, got_code) != (want, code):
                failures.append(f"{name} {method} {url}: {got} {answer.text[:200]}")
            elif things.token in answer.text or LIST_NAME in answer.text or NOTE in answer.text:
                failures.append(f"{name} {method} {url}: the answer shows alice's data")
    assert calls == 3 * len(table)
    assert not failures, "\n".join(failures)

    # reordering lists with her list's id is a 404 too, and changes nothing of hers
    for client in (bob, admin):
        error_of(client.put("/api/v1/lists/order", json={"ids": [things.list_id]}),
                 404, "not_found")

    # alice's things are as they were, and still work
    assert snapshot(alice, things, post) == before
    assert ok(alice_elsewhere.get("/api/v1/me"))["username"] == "alice"
    alice_bearer = new_client()
    alice_bearer.headers["Authorization"] = f"Bearer {things.token}"
    assert ok(alice_bearer.get("/api/v1/me"))["username"] == "alice"
    # and bob's own are his: none of his calls reached alice's objects instead of his
    assert [item["name"] for item in ok(bob.get("/api/v1/lists"))["items"]] == ["Bob's"]

    # the 404s were not for want of a right URL: the same URLs are alice's objects to her
    for path, method, _ in table:
        if method == "GET" and path in pages:
            assert alice.get(fill(path, things, post)).status_code == 200, path
        elif method == "GET":
            ok(alice.get(fill(path, things, post)))
    for path in sorted({path for path, method, _ in table if method == "DELETE"},
                       key=len, reverse=True):  # a list's post before the list
        assert alice.delete(fill(path, things, post)).status_code == 204, path
    assert ok(alice.get("/api/v1/lists"))["items"] == []
    assert LABEL not in ok(alice.get("/api/v1/statuses"))["items"]
    assert alice_elsewhere.get("/api/v1/me").status_code == 401
    assert alice_bearer.get("/api/v1/me").status_code == 401


def test_another_user_sees_only_their_own(signed_in: SignedIn, catalogue: Any,
                                          alices_things: Any) -> None:
    alice, _, things = alices_things
    post = catalogue.post_id
    bob, admin = signed_in("other"), signed_in("admin")

    # the post is shared; what alice made of it is not
    alices_view = ok(alice.get(f"/api/v1/posts/{post}"))["mine"]
    assert alices_view["status"] == LABEL
    assert alices_view["note"]["markdown"] == NOTE
    assert [found["name"] for found in alices_view["lists"]] == [LIST_NAME]
    assert [h["quote"] for h in alices_view["highlights"]] == [QUOTE]
    for client in (bob, admin):
        detail = ok(client.get(f"/api/v1/posts/{post}"))
        assert detail["mine"] == {"status": "unread", "note": None, "lists": [],
                                  "highlights": []}
        assert NOTE not in str(detail) and LIST_NAME not in str(detail)
        assert ok(client.get("/api/v1/lists"))["items"] == []
        assert ok(client.get("/api/v1/notes"))["items"] == []
        assert ok(client.get("/api/v1/highlights"))["items"] == []
        assert ok(client.get("/api/v1/highlights", params={"post_id": post}))["items"] == []
        assert LABEL not in ok(client.get("/api/v1/statuses"))["items"]
        assert ok(client.get(f"/api/v1/posts/{post}/status"))["status"] == "unread"
        error_of(client.get(f"/api/v1/posts/{post}/note"), 404, "not_found")
        assert ok(client.get("/api/v1/me/tokens"))["items"] == []
        assert all(item["current"] for item in ok(client.get("/api/v1/me/sessions"))["items"])
        # setting her label on the post is refused: the label is hers, not theirs
        error_of(client.put(f"/api/v1/posts/{post}/status", json={"status": LABEL}),
                 400, "invalid_request")

    # a post-scoped write by bob is about bob's own data: alice's stays
    error_of(bob.delete(f"/api/v1/posts/{post}/note"), 404, "not_found")
    assert ok(bob.delete(f"/api/v1/posts/{post}/status"), 204) is None
    ok(bob.put(f"/api/v1/posts/{post}/note", json={"markdown": "la de bob"}))
    assert ok(alice.get(f"/api/v1/posts/{post}/note"))["markdown"] == NOTE
    assert ok(alice.get(f"/api/v1/posts/{post}/status"))["status"] == LABEL
    assert ok(bob.get(f"/api/v1/posts/{post}/note"))["markdown"] == "la de bob"

    # search: her list, label, note and highlight filter nothing in for anyone else
    def search(client: Any, **filters: Any) -> list[int]:
        found = ok(client.get("/api/v1/search", params={"q": "carta", **filters}))
        return [hit["post_id"] for hit in found["items"]]

    assert post in search(alice)
    assert post in search(alice, in_list=LIST_NAME)
    assert post in search(alice, in_list=str(things.list_id))
    assert post in search(alice, status=LABEL)
    assert post in search(alice, highlighted="true")
    for client in (bob, admin):
        assert post in search(client)
        assert search(client, in_list=LIST_NAME) == []
        assert search(client, in_list=str(things.list_id)) == []
        assert search(client, status=LABEL) == []
        assert search(client, highlighted="true") == []
    assert search(admin, has_note="true") == []
    assert post in search(bob, has_note="true")  # bob's own note, written above


def test_my_export_is_a_download_of_my_data_and_nobody_elses(
        signed_in: SignedIn, new_client: Any, catalogue: Any, alices_things: Any) -> None:
    alice, _elsewhere, _things = alices_things
    bob = signed_in("other")
    ok(bob.post("/api/v1/lists", json={"name": "Bob's"}), 201)

    mine = alice.get("/api/v1/me/export")
    theirs = bob.get("/api/v1/me/export")
    anonymous = new_client().get("/api/v1/me/export")

    assert mine.status_code == 200, mine.text
    assert re.fullmatch(r'attachment; filename="alejandria-[\w.-]+-\d{4}-\d{2}-\d{2}\.json"',
                        mine.headers["content-disposition"])
    assert mine.headers["cache-control"] == "no-store"
    document = mine.json()
    assert [found["name"] for found in document["lists"]] == [LIST_NAME]
    assert [item["post"]["id"] for item in document["lists"][0]["posts"]] \
        == [catalogue.post_id]
    assert [(item["status"], item["note"]) for item in document["posts"]] == [(LABEL, NOTE)]
    assert [mark["exact"] for mark in document["highlights"]] == [QUOTE]
    assert document["status_labels"] == [LABEL]
    bobs = ok(theirs)
    assert [found["name"] for found in bobs["lists"]] == ["Bob's"]
    assert NOTE not in theirs.text and LIST_NAME not in theirs.text and LABEL not in theirs.text
    assert anonymous.status_code == 401

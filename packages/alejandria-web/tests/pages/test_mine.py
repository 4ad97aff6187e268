"""My lists, my notes and my status views: each shows my own data, never another user's,
and none of them is open to a readonly account."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from alejandria_web.pages.mine import reorder_moves


@pytest.fixture
def alice(signed_in: Any) -> Any:
    return signed_in("user")


@pytest.fixture
def bob(signed_in: Any) -> Any:
    return signed_in("other")


def _list(client: Any, name: str, **extra: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/lists", json={"name": name, **extra})
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _vals(html: str, label: str) -> list[int] | None:
    """The ids an up/down button (by its label) sends to PUT /api/v1/lists/order."""
    button = re.search(r"<button[^>]*hx-vals='([^']*)'[^>]*aria-label=\"" + re.escape(label)
                       + '"', html, re.S)
    assert button is not None, label
    ids: list[int] | None = json.loads(button.group(1))["ids"]
    return ids


def test_my_lists_in_my_order_with_their_controls(catalogue: Any, alice: Any) -> None:
    first = _list(alice, "Astrología", color="#336699", description="Para estudiar")
    second = _list(alice, "Favoritos")
    alice.put(f"/api/v1/lists/{first['id']}/posts/{catalogue.post_id}")

    page = alice.get("/lists")

    assert page.status_code == 200, page.text
    html = page.text
    assert html.index("Astrología") < html.index("Favoritos")
    assert f'href="/lists/{first["id"]}"' in html and "1 post" in html and "0 posts" in html
    assert "Para estudiar" in html
    assert 'fill="#336699"' in html  # the colour, as an SVG fill (no inline style)
    assert 'hx-post="/api/v1/lists"' in html and 'type="color"' in html
    assert _vals(html, "Move Favoritos up") == [second["id"], first["id"]]
    assert _vals(html, "Move Astrología down") == [second["id"], first["id"]]
    assert f'hx-patch="/api/v1/lists/{first["id"]}"' in html
    assert f'hx-delete="/api/v1/lists/{first["id"]}"' in html and "hx-confirm=" in html
    assert "style=" not in html


def test_the_lists_part_refreshes_alone_in_the_new_order(alice: Any) -> None:
    first, second = _list(alice, "Uno"), _list(alice, "Dos")
    alice.put("/api/v1/lists/order", json={"ids": [second["id"], first["id"]]})

    part = alice.get("/lists", headers={"HX-Request": "true"}).text

    assert "<html" not in part and "New list" not in part
    assert part.index("Dos") < part.index("Uno")


def test_another_users_lists_are_not_there_and_their_page_is_a_404(catalogue: Any,
                                                                   alice: Any,
                                                                   bob: Any) -> None:
    secret = _list(alice, "Secreta de Alice")
    alice.put(f"/api/v1/lists/{secret['id']}/posts/{catalogue.post_id}")

    assert "Secreta de Alice" not in bob.get("/lists").text
    answer = bob.get(f"/lists/{secret['id']}")
    assert answer.status_code == 404
    assert "<html" in answer.text and "Secreta de Alice" not in answer.text
    assert bob.get(f"/lists/{secret['id']}", headers={"HX-Request": "true"}).status_code == 404


def test_a_list_shows_its_posts_with_links_and_remove_buttons(catalogue: Any,
                                                              alice: Any) -> None:
    found = _list(alice, "Lecturas", description="Para el verano")
    for post in (catalogue.post_id, catalogue.other_post_id):
        alice.put(f"/api/v1/lists/{found['id']}/posts/{post}")

    html = alice.get(f"/lists/{found['id']}").text

    assert "Lecturas" in html and "Para el verano" in html and "2 posts" in html
    assert html.index("Carta natal") < html.index("Tránsitos")  # the list's order
    assert f'href="/posts/{catalogue.post_id}"' in html
    remove = f'hx-delete="/api/v1/lists/{found["id"]}/posts/{catalogue.other_post_id}"'
    assert remove in html
    alice.delete(f"/api/v1/lists/{found['id']}/posts/{catalogue.other_post_id}")
    part = alice.get(f"/lists/{found['id']}", headers={"HX-Request": "true"}).text
    assert "<html" not in part and "Carta natal" in part and "Tránsitos" not in part


def test_my_notes_with_their_posts_rendered_and_only_mine(catalogue: Any, alice: Any,
                                                          bob: Any) -> None:
    alice.put(f"/api/v1/posts/{catalogue.post_id}/note",
              json={"markdown": "**Mercurio** importa.\n\n<script>alert(1)</script>"})
    bob.put(f"/api/v1/posts/{catalogue.other_post_id}/note", json={"markdown": "nota de Bob"})

    html = alice.get("/notes").text

    assert f'href="/posts/{catalogue.post_id}"' in html and "Carta natal" in html
    assert "<strong>Mercurio</strong>" in html  # rendered
    assert "<script>alert(1)</script>" not in html  # and sanitised
    assert "nota de Bob" not in html and "Tránsitos" not in html
    assert f'hx-delete="/api/v1/posts/{catalogue.post_id}/note"' in html
    # "Open and edit" lands on the note's panel of the post page
    assert f'href="/posts/{catalogue.post_id}#post-note"' in html
    assert 'id="post-note"' in alice.get(f"/posts/{catalogue.post_id}").text
    assert "nota de Bob" in bob.get("/notes").text
    assert "Mercurio" not in bob.get("/notes").text


def test_status_views_list_my_posts_by_status(catalogue: Any, alice: Any, bob: Any) -> None:
    alice.put(f"/api/v1/posts/{catalogue.post_id}/status", json={"status": "in_progress"})
    alice.put(f"/api/v1/posts/{catalogue.other_post_id}/status", json={"status": "completed"})
    bob.put(f"/api/v1/posts/{catalogue.other_post_id}/status", json={"status": "in_progress"})

    reading = alice.get("/statuses").text
    completed = alice.get("/statuses/completed").text

    assert "Carta natal" in reading and "Tránsitos" not in reading  # bob's is not mine
    assert f'hx-put="/api/v1/posts/{catalogue.post_id}/status"' in reading
    assert "Tránsitos" in completed and "Carta natal" not in completed
    assert 'href="/statuses/completed" aria-current="page"' in completed
    assert "Tránsitos" in bob.get("/statuses").text
    assert "Carta natal" not in bob.get("/statuses").text


def test_a_label_of_mine_has_its_view_and_nobody_elses(catalogue: Any, alice: Any,
                                                       bob: Any) -> None:
    assert alice.post("/api/v1/statuses", json={"label": "para releer"}).status_code == 201
    alice.put(f"/api/v1/posts/{catalogue.post_id}/status", json={"status": "para releer"})

    tabs = alice.get("/statuses").text
    view = alice.get("/statuses/para releer")

    assert 'href="/statuses/para%20releer"' in tabs
    assert view.status_code == 200 and "Carta natal" in view.text
    assert 'hx-delete="/api/v1/statuses/para%20releer"' in view.text
    assert "para releer" not in bob.get("/statuses").text
    assert bob.get("/statuses/para releer").status_code == 404
    assert alice.get("/statuses/nonexistent").status_code == 404
    assert alice.get("/statuses/unread").status_code == 404  # unread is every other post


def test_a_label_is_refused_when_its_view_could_not_be_reached(alice: Any) -> None:
    """A label is a path segment (its view, the API's DELETE): one with a "/" could be
    made but never shown or removed."""
    answer = alice.post("/api/v1/statuses", json={"label": "leer / releer"})
    assert answer.status_code == 400, answer.text
    page = alice.get("/statuses").text
    assert "leer / releer" not in page
    # the form says so before sending (escaped: Chromium reads patterns with the v flag)
    assert 'pattern="[^\\/]+"' in page


@pytest.mark.parametrize("path", ["/lists", "/lists/1", "/notes", "/statuses",
                                  "/statuses/completed"])
def test_readonly_gets_403_pages(signed_in: Any, path: str) -> None:
    answer = signed_in("readonly").get(path)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")


def test_my_lists_in_spanish(signed_in: Any) -> None:
    alice = signed_in("user")
    alice.patch("/api/v1/me/preferences", json={"language": "es"})
    _list(alice, "Favoritos")
    html = alice.get("/lists").text
    assert "Mis listas" in html and "Lista nueva" in html and "0 publicaciones" in html
    assert "Subir Favoritos" in html
    assert "Estado de lectura" in alice.get("/statuses").text


def test_reorder_moves_swap_neighbours() -> None:
    assert reorder_moves([1, 2, 3]) == {
        1: {"up": None, "down": [2, 1, 3]},
        2: {"up": [2, 1, 3], "down": [1, 3, 2]},
        3: {"up": [1, 3, 2], "down": None},
    }
    assert reorder_moves([7]) == {7: {"up": None, "down": None}}

from __future__ import annotations

from typing import Any


def test_post_detail(signed_in: Any, catalogue: Any) -> None:
    client = signed_in("user")
    answer = client.get(f"/api/v1/posts/{catalogue.post_id}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["title"] == "Carta natal"
    assert "mine" in body

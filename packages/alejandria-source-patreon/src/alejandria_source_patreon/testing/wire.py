"""Writing the local Patreon's answers: status, headers and a body, whole or cut short."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from alejandria_source_patreon.testing.fakes import JsonDict

#: What a route answers: status, body, headers.
Response = tuple[int, bytes, dict[str, str]]


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
         headers: dict[str, str], *, send: int | None = None) -> None:
    """Answer with ``body`` (only its first ``send`` bytes, when given)."""
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body if send is None else body[:send])


def range_start(header: str | None) -> int | None:
    """N of ``Range: bytes=N-`` (the only form a resumed download asks for)."""
    if not header or not header.startswith("bytes=") or not header.endswith("-"):
        return None
    value = header[len("bytes="):-1]
    return int(value) if value.isdigit() else None


def json_body(value: JsonDict) -> bytes:
    return json.dumps(value).encode()


def errors_body(status: int, code_name: str, detail: str) -> bytes:
    """A JSON:API error document, as Patreon sends with a 4xx."""
    return json_body({"errors": [{"code_name": code_name, "detail": detail,
                                  "status": str(status)}]})

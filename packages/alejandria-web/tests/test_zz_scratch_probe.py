import anyio
from urllib.parse import unquote

def raw_get(app, raw: str, headers=()):
    path = unquote(raw)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": raw.encode(), "root_path": "",
             "query_string": b"", "headers": [(b"host", b"testserver.local"), *headers],
             "client": ("127.0.0.1", 5000), "server": ("testserver.local", 80)}
    sent = []
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        sent.append(message)
    anyio.run(app, scope, receive, send)
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, body

def test_probe(client, app):
    for raw in ["/static/vendor/../../app.py", "/static/plugins/web/../../../pyproject.toml",
                "/static/plugins/web/%2e%2e/%2e%2e/app.py", "/static/vendor/swagger-ui/../../../app.py",
                "/static/plugins/web/..%2f..%2f..%2fpyproject.toml", "/api/v1/media/../../etc/passwd",
                "/static/vendor//etc/passwd", "/static/plugins/web/../../../../../../../../etc/passwd",
                "/static/plugins/web/openapi-viewer.js", "/static/plugins/web/../web/openapi-viewer.js",
                "/static/plugins/web/../../app.py", "/static/plugins/web/../static/web/openapi-viewer.js"]:
        print(raw, *raw_get(app, raw))

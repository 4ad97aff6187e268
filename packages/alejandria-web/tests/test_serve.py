"""``alejandria serve`` for real: the command in a subprocess (as ``run_cli`` runs the CLI),
on the test's database and data dir, spoken to over HTTP on a free port."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from alejandria.api import Archive
from alejandria.models import CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.testing.memory import memory_plugin
from alejandria_web.serve import GRACEFUL_SHUTDOWN_S

pytestmark = pytest.mark.slow

HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
FIRST_RUN = re.compile(r"created the admin account '(?P<name>[^']+)' with the one-time "
                       r"password\s+(?P<password>\S+)\s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, how: signal.Signals) -> int:
        """Send ``how`` and wait for the exit; its exit status."""
        self.process.send_signal(how)
        try:
            return self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`alejandria serve` did not stop within {STOP_TIMEOUT_S} s of "
                        f"{how.name}:\n{self.output()}")


@pytest.fixture
def env(alejandria_cli_env: dict[str, str]) -> dict[str, str]:
    """The kit's CLI environment less any ``ALEJANDRIA_WEB_*`` a developer's shell holds (a
    trusted proxy or a Redis session store would change what these tests see)."""
    return {name: value for name, value in alejandria_cli_env.items()
            if not name.startswith("ALEJANDRIA_WEB_")}


@contextmanager
def serve(env: dict[str, str], log: Path, *args: str) -> Iterator[Served]:
    """``alejandria serve --port <free> ARGS`` until ``/health`` answers; killed at the end
    whatever happened."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "alejandria.cli.main", "serve", "--host", HOST, "--port",
             str(port), *args], env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT)
    served = Served(process, port, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"`alejandria serve` exited ({process.returncode}):\n"
                            f"{served.output()}")
            try:
                if httpx.get(f"{served.base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"/health did not answer 200 within {START_TIMEOUT_S} s:\n"
                            f"{served.output()}")
            time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def login(served: Served, name: str, password: str,
          headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{served.base}/api/v1/auth/login",
                      json={"username": name, "password": password}, headers=headers)


def session_cookie(answer: httpx.Response) -> str:
    found = [value for value in answer.headers.get_list("set-cookie")
             if value.startswith("alejandria_session=")]
    assert len(found) == 1, answer.headers
    return found[0]


def secure(cookie: str) -> bool:
    return any(part.strip().lower() == "secure" for part in cookie.split(";"))


def test_first_run_serves_the_app_and_stops_on_signals(env: dict[str, str],
                                                       tmp_path: Path) -> None:
    with serve(env, tmp_path / "first.log") as served:
        first = FIRST_RUN.search(served.output())
        assert first is not None, served.output()
        name, password = first["name"], first["password"]
        assert name == "admin"
        assert len(password) >= 16

        answer = login(served, name, password)
        assert answer.status_code == 200, answer.text
        assert answer.json()["user"]["username"] == "admin"
        cookie = session_cookie(answer)
        assert "HttpOnly" in cookie
        assert not secure(cookie)  # plain http
        assert login(served, name, "not the password").status_code == 401

        health = httpx.get(f"{served.base}/health")
        assert health.status_code == 200
        assert health.headers["content-type"].startswith("application/json")
        assert health.json()["checks"]["database"]["status"] == "ok"

        schema = httpx.get(f"{served.base}/api/v1/schema/openapi.json")
        assert schema.status_code == 200
        assert "/api/v1/posts" in schema.json()["paths"]

        docs = httpx.get(f"{served.base}/api/v1/docs")
        assert docs.status_code == 200
        assert docs.headers["content-type"].startswith("text/html")
        policy = docs.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "<div id=\"swagger-ui\"" in docs.text

        # behind no trusted proxy, a client cannot claim https: no Secure cookie for it
        claimed = login(served, name, password, headers={"X-Forwarded-Proto": "https"})
        assert claimed.status_code == 200, claimed.text
        assert not secure(session_cookie(claimed))

        status = served.stop(signal.SIGINT)
        assert status in (0, 130), served.output()
        assert "Traceback" not in served.output()

    with serve(env, tmp_path / "second.log") as again:
        output = again.output()
        assert FIRST_RUN.search(output) is None
        assert password not in output
        assert "Serving Alejandria on" in output
        assert login(again, name, password).status_code == 200  # the same account
        status = again.stop(signal.SIGTERM)
        assert status in (0, 128 + signal.SIGTERM), again.output()
        assert "Traceback" not in again.output()


def test_forwarded_https_is_believed_only_from_a_trusted_proxy(env: dict[str, str],
                                                              tmp_path: Path) -> None:
    with serve(env, tmp_path / "proxied.log", "--trusted-proxies", HOST) as served:
        first = FIRST_RUN.search(served.output())
        assert first is not None, served.output()
        plain = login(served, first["name"], first["password"])
        assert plain.status_code == 200, plain.text
        assert not secure(session_cookie(plain))
        proxied = login(served, first["name"], first["password"],
                        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 200, proxied.text
        assert secure(session_cookie(proxied))
        assert proxied.headers["strict-transport-security"].startswith("max-age=")
        served.stop(signal.SIGTERM)


# -- a download that stalls must not hold up a stop --------------------------------------------

#: Far more than the loopback socket buffers hold, so the server's sends block.
BIG_FILE = bytes(range(256)) * (64 * 1024)  # 16 MiB


def test_a_stop_does_not_wait_for_a_stalled_download(env: dict[str, str], archive: Archive,
                                                     register_plugin: Callable[..., None],
                                                     tmp_path: Path) -> None:
    register_plugin(memory_plugin("servetest", [
        CreatorIn(external_id="ana", name="Ana"),
        PostIn(external_id="big", creator_external_id="ana", title="Un archivo grande",
               text="Un archivo grande.",
               media=(MediaIn(key="big", filename="grande.bin",
                              mime_type="application/octet-stream", kind=MediaKind.OTHER),))],
        {"big": BIG_FILE}), name="serve-test-source")
    assert not archive.sync("servetest", "all", remember=False).errors
    with archive.engine.connect() as conn:
        media_id = conn.execute(text("SELECT media_id FROM post_media")).scalar_one()
    user = archive.accounts.create("reader", "correct horse battery staple")
    token = archive.tokens.create(user.id, "read").token
    with serve(env, tmp_path / "stalled.log", "--no-create-admin") as served, \
            socket.socket() as stalled:
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow reader
        stalled.connect((HOST, served.port))
        stalled.sendall(f"GET /api/v1/media/{media_id}/content HTTP/1.1\r\nHost: {HOST}\r\n"
                        f"Authorization: Bearer {token}\r\n\r\n".encode())
        assert stalled.recv(12) == b"HTTP/1.1 200"  # the body is on its way, and stalls
        time.sleep(0.5)
        started = time.monotonic()
        status = served.stop(signal.SIGTERM)
        waited = time.monotonic() - started
        assert status in (0, 128 + signal.SIGTERM), served.output()
        assert GRACEFUL_SHUTDOWN_S - 1 < waited < GRACEFUL_SHUTDOWN_S + 4
        assert "Traceback" not in served.output()


def test_two_workers_serve_each_others_writes(env: dict[str, str], archive: Archive,
                                              register_plugin: Callable[..., None],
                                              tmp_path: Path) -> None:
    """``--workers 2``: each process keeps post details in memory; a note written through
    one is served by both (Postgres notifies the other), and never taken back."""
    register_plugin(memory_plugin("twoworkers", [
        CreatorIn(external_id="ana", name="Ana"),
        PostIn(external_id="p", creator_external_id="ana", title="Carta", text="Carta.")]),
        name="two-workers-source")
    assert not archive.sync("twoworkers", "all", remember=False).errors
    post_id = archive.library.posts(limit=1).items[0].id
    user = archive.accounts.create("reader", "correct horse battery staple")
    auth = {"Authorization": f"Bearer {archive.tokens.create(user.id, 'write').token}"}
    with serve(env, tmp_path / "two.log", "--no-create-admin", "--workers", "2") as served:
        url = f"{served.base}/api/v1/posts/{post_id}"

        def note() -> object:  # a new connection each time: either worker may answer
            answer = httpx.get(url, headers={**auth, "Connection": "close"})
            assert answer.status_code == 200, answer.text
            mine = answer.json()["mine"]
            return mine["note"]["markdown"] if mine["note"] else None

        assert [note() for _ in range(20)] == [None] * 20  # both workers keep it now
        written = httpx.put(f"{url}/note", headers=auth, json={"markdown": "releer"})
        assert written.status_code == 200, written.text
        deadline = time.monotonic() + 5
        while note() != "releer":
            assert time.monotonic() < deadline, "a worker kept serving the old detail"
            time.sleep(0.01)
        assert [note() for _ in range(20)] == ["releer"] * 20
        assert "Traceback" not in served.output()

"""Scaling out: the web app and two workers as separate processes, each with its own local
data dir (three hosts), sharing only Postgres, Redis and an S3 endpoint. A Patreon sync with
media processing lands the same rows and blobs as the single-machine run, and the web app
(which stored nothing itself) serves the files and thumbnails the workers made."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from alejandria.api import Archive
from alejandria.builtins import build_plugin_manager
from alejandria.settings import Settings
from alejandria.testing import S3Bucket, run_cli
from alejandria.testing.redis_server import free_port
from alejandria_source_patreon.testing import (
    EPOCH,
    FakeCampaign,
    FakeFile,
    FakePost,
    PatreonFixture,
    image_bytes,
)

POSTS = 8


def _campaign() -> FakeCampaign:
    campaign = FakeCampaign(id="5001", vanity="hosts", name="Many Hosts",
                            tiers={"t1": ("Tier", 500)})
    for number in range(POSTS):
        images = [FakeFile(f"img-{number}-{n}.png", image_bytes(number * 10 + n, "PNG", 64),
                           "image/png") for n in range(2)]
        campaign.posts.append(FakePost(str(200_000 + number), f"Post {number}",
                                       EPOCH + timedelta(hours=number), post_type="image_file",
                                       images=images, content=f"<p>Entrada {number}</p>"))
    return campaign


@pytest.fixture
def site() -> Any:
    with PatreonFixture(page_size=3) as fixture:
        fixture.add_campaign(_campaign())
        yield fixture


def _patreon_env(site: PatreonFixture) -> dict[str, str]:
    return {"ALEJANDRIA_PATREON_BASE_URL": site.base_url,
            "ALEJANDRIA_PATREON_SESSION_ID": site.session_id,
            "ALEJANDRIA_PATREON_REQUESTS_PER_SECOND": "0",
            "ALEJANDRIA_PATREON_BACKOFF_S": "0.01",
            "ALEJANDRIA_EMBED_AFTER_SYNC": "false", "ALEJANDRIA_DOWNLOAD_EMBEDS": "false",
            "ALEJANDRIA_PROCESS_MEDIA": "true", "ALEJANDRIA_EMBEDDED_LINGER_S": "0"}


def _rows(url: str) -> dict[str, Any]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {
                "posts": sorted(conn.execute(text(
                    "SELECT external_id, title FROM posts ORDER BY external_id")).all()),
                "media": sorted(conn.execute(text(
                    "SELECT sha256, size, kind, width, height FROM media_files")).all()),
                "derived": sorted(conn.execute(text(
                    "SELECT m.sha256, d.processor, d.status FROM media_derivatives d "
                    "JOIN media_files m ON m.id = d.media_id")).all()),
                "pending": conn.execute(text(
                    "SELECT count(*) FROM jobs WHERE status <> 'completed'")).scalar_one(),
                "jobs": conn.execute(text("SELECT count(*) FROM jobs")).scalar_one(),
            }
    finally:
        engine.dispose()


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "alejandria.cli.main", *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.slow
def test_three_hosts_sharing_postgres_redis_and_s3_match_one_machine(
        tmp_path: Path, site: PatreonFixture, alejandria_database_url: str,
        alejandria_template_url: str, alejandria_redis_url: str,
        alejandria_s3: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ALEJANDRIA_")}
    shared = {**base, **_patreon_env(site), **alejandria_s3.env,
              "ALEJANDRIA_DATABASE_URL": alejandria_database_url,
              "ALEJANDRIA_BROKER_URL": alejandria_redis_url, "ALEJANDRIA_JOB_HEARTBEAT_S": "1"}
    hosts = {name: {**shared, "ALEJANDRIA_DATA_DIR": str(tmp_path / name)}
             for name in ("web", "worker-a", "worker-b")}
    logs = tmp_path / "logs"
    logs.mkdir()
    port = free_port()
    processes = [_start(["worker", "-c", "1", "--loglevel", "INFO"], hosts[name],
                        logs / f"{name}.log") for name in ("worker-a", "worker-b")]
    processes.append(_start(["serve", "--port", str(port), "--no-create-admin"], hosts["web"],
                            logs / "web.log"))
    try:
        queued = run_cli(hosts["web"], "sync", "patreon", "5001", "--no-wait", timeout=120)
        assert queued.returncode == 0, queued.stderr
        deadline = time.monotonic() + 240
        while True:
            rows = _rows(alejandria_database_url)
            if rows["jobs"] and not rows["pending"] and len(rows["derived"]) >= POSTS * 2 * 2:
                break
            assert time.monotonic() < deadline, "\n".join(
                log.read_text()[-2000:] for log in logs.iterdir())
            time.sleep(0.3)
        _web_serves_what_the_workers_stored(hosts["web"], port, rows)
    finally:
        for process in processes:
            _stop(process)

    # nothing of the store on any host's own disk
    for name in hosts:
        assert not list((tmp_path / name).glob("media/??/??/*"))
        assert not list((tmp_path / name).glob("derived/**/*.webp"))
    single = _one_machine(tmp_path, site, alejandria_template_url, monkeypatch)
    assert {k: rows[k] for k in ("posts", "media", "derived")} == {
        k: single["rows"][k] for k in ("posts", "media", "derived")}
    keys = alejandria_s3.object_keys()
    assert sorted(k.removeprefix("archive/") for k in keys) == single["files"]


def _web_serves_what_the_workers_stored(env: dict[str, str], port: int,
                                        rows: dict[str, Any]) -> None:
    made = run_cli(env, "users", "create", "reader", "--role", "readonly",
                   "--generate-password", timeout=60)
    assert made.returncode == 0, made.stderr
    token = run_cli(env, "tokens", "create", "reader", "--json", timeout=60).json()["token"]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/login", timeout=2).close()
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    engine = create_engine(env["ALEJANDRIA_DATABASE_URL"], poolclass=NullPool)
    with engine.connect() as conn:
        media_id = conn.execute(text("SELECT min(id) FROM media_files")).scalar_one()
    engine.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    for path in (f"/api/v1/media/{media_id}/content", f"/api/v1/media/{media_id}/thumbnail/150"):
        request = urllib.request.Request(base + path, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read()
        assert body[:4] in (b"\x89PNG", b"RIFF"), path
    assert json.dumps(rows["media"][0][0])  # hashes are plain text


def _one_machine(tmp_path: Path, site: PatreonFixture, template_url: str,
                 monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The same sync in one process, media in a local folder, on a database of its own."""
    engine = create_engine(template_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    name = f"single_machine_run_{os.getpid()}"
    template = make_url(template_url)
    url = template.set(database=name).render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template.database}"'))
    try:
        data_dir = tmp_path / "single"
        for key, value in _patreon_env(site).items():
            monkeypatch.setenv(key, value)
        settings = Settings(data_dir=data_dir, database_url=url, process_media=True,
                            download_embeds=False, embed_after_sync=False, embedded_linger_s=0)
        with Archive.open(settings=settings, plugins=build_plugin_manager(),
                          migrate=False) as archive:
            archive.sync("patreon", "5001", remember=False)
        rows = _rows(url)
        files = sorted([p.relative_to(data_dir).as_posix() for p in
                        (data_dir / "media").glob("??/??/*")]
                       + [p.relative_to(data_dir).as_posix() for p in
                          (data_dir / "derived").rglob("*") if p.is_file()])
        return {"rows": rows, "files": files}
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

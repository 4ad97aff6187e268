"""The S3 media store: our store against the bare client library, and a sync on 1 vs 2 workers.

``python bench/s3_store.py [--quick] [--no-sync] [--endpoint URL]``. The S3 server is moto's
server mode on loopback (``ThreadedMotoServer``), or ``--endpoint`` (a MinIO: set
``--access-key``/``--secret-key``). Both contenders of part 1 talk to the same server with the
same objects.

Part 1, the store's overhead: upload and read MB/s of ``S3MediaStore`` (hash while
spooling, HEAD, conditional PUT or multipart upload with a conditional completion; ranged
reads in 1 MiB chunks) against bare boto3 (``put_object`` / ``upload_fileobj`` with boto3's
default transfer settings; ``get_object().read()``) on the same bytes, small (256 KB) and
large (32 MB) files. Goal: ours >= 0.8x. obstore (``obstore.put``/``get``) is shown for
reference, as the other candidate client that was measured.

Part 2, scaling out: a Patreon sync (the local fixture, two creators = two sync jobs, with
media processing) into S3, run by 1 and by 2 worker processes (separate data dirs) sharing
Postgres (harness's embedded one), Redis (``--broker``, a db of its own, flushed) and S3.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from harness import Server, machine, print_rows, stopwatch

MB = 1_000_000
TARGET = 0.8


@contextmanager
def s3_endpoint(args: argparse.Namespace) -> Iterator[tuple[str, str, str]]:
    if args.endpoint:
        yield args.endpoint, args.access_key, args.secret_key
        return
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", "bench-key", "bench-secret"
    finally:
        server.stop()


def boto_client(endpoint: str, key: str, secret: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)


def our_store(endpoint: str, key: str, secret: str, bucket: str, workdir: Path) -> Any:
    from alejandria.storage.s3_store import S3MediaStore

    return S3MediaStore(f"s3://{bucket}/bench", endpoint_url=endpoint, region="us-east-1",
                        access_key_id=key, secret_access_key=secret,
                        cache_dir=workdir / "cache", spool_dir=workdir / "spool")


# -- part 1 -------------------------------------------------------------------------------------


def store_overhead(args: argparse.Namespace, endpoint: str, key: str, secret: str,
                   workdir: Path) -> list[tuple[str, ...]]:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    client = boto_client(endpoint, key, secret)
    rows: list[tuple[str, ...]] = [("files", "operation", "ours MB/s", "boto3 MB/s", "ratio",
                                    "target", "obstore MB/s")]
    sets = [("small", 256_000, 24 if args.quick else 80),
            ("large", 32 * MB, 2 if args.quick else 4)]
    for label, size, count in sets:
        blobs = [os.urandom(size) for _ in range(count)]
        total = size * count / MB
        best: dict[str, float] = {}
        for round_ in range(args.repeat):
            bucket = f"bench-{label}-{round_}-{os.getpid()}"
            client.create_bucket(Bucket=bucket)
            store = our_store(endpoint, key, secret, bucket, workdir)
            with stopwatch() as elapsed:
                digests = [store.put_bytes(blob)[0] for blob in blobs]
            best["ours up"] = min(best.get("ours up", 1e9), elapsed())
            with stopwatch() as elapsed:
                for blob in blobs:
                    client.upload_fileobj(io.BytesIO(blob), bucket, f"bare/{len(blob)}-{id(blob)}")
            best["bare up"] = min(best.get("bare up", 1e9), elapsed())
            with stopwatch() as elapsed:
                for digest in digests:
                    b"".join(store.read(digest))
            best["ours down"] = min(best.get("ours down", 1e9), elapsed())
            with stopwatch() as elapsed:
                for digest in digests:
                    client.get_object(Bucket=bucket, Key=store._key(digest))["Body"].read()
            best["bare down"] = min(best.get("bare down", 1e9), elapsed())
            obstore_times = obstore_round(endpoint, key, secret, bucket, blobs)
            if obstore_times:
                best["obs up"] = min(best.get("obs up", 1e9), obstore_times[0])
                best["obs down"] = min(best.get("obs down", 1e9), obstore_times[1])
        for op in ("up", "down"):
            ours, bare = total / best[f"ours {op}"], total / best[f"bare {op}"]
            obs = f"{total / best[f'obs {op}']:.0f}" if f"obs {op}" in best else "-"
            rows.append((f"{count} x {size / MB:g} MB", "upload" if op == "up" else "read",
                         f"{ours:.0f}", f"{bare:.0f}", f"{ours / bare:.2f}x",
                         f">= {TARGET}x", obs))
    return rows


def obstore_round(endpoint: str, key: str, secret: str, bucket: str,
                  blobs: list[bytes]) -> tuple[float, float] | None:
    try:
        import obstore
        from obstore.store import S3Store
    except ImportError:
        return None
    store = S3Store(bucket, endpoint=endpoint, access_key_id=key, secret_access_key=secret,
                    region="us-east-1", client_options={"allow_http": True})
    with stopwatch() as up:
        for n, blob in enumerate(blobs):
            obstore.put(store, f"obstore/{n}", blob)
    with stopwatch() as down:
        for n in range(len(blobs)):
            bytes(obstore.get(store, f"obstore/{n}").bytes())
    return up(), down()


# -- part 2 -------------------------------------------------------------------------------------


def sync_throughput(args: argparse.Namespace, endpoint: str, key: str, secret: str,
                    workdir: Path) -> list[tuple[str, ...]]:
    import redis

    from alejandria_source_patreon.testing import (
        EPOCH,
        FakeCampaign,
        FakeFile,
        FakePost,
        PatreonFixture,
        image_bytes,
    )

    posts = 20 if args.quick else 60
    client = boto_client(endpoint, key, secret)
    rows: list[tuple[str, ...]] = [("workers", "seconds", "posts/s", "files/s", "MB/s")]
    with Server.start(workdir / "pg", args.database_url) as server, \
            PatreonFixture(page_size=20) as site:
        total_bytes = 0
        for creator in ("6001", "6002"):
            campaign = FakeCampaign(id=creator, vanity=f"c{creator}", name=f"Creator {creator}",
                                    tiers={"t1": ("Tier", 500)})
            for number in range(posts):
                images = [FakeFile(f"i-{number}-{n}.png",
                                   image_bytes(int(creator) * 1000 + number * 3 + n, "PNG", 256),
                                   "image/png") for n in range(3)]
                total_bytes += sum(len(image.data) for image in images)
                campaign.posts.append(FakePost(str(int(creator) * 1000 + number),
                                               f"Post {number}", EPOCH + timedelta(hours=number),
                                               post_type="image_file", images=images,
                                               content="<p>texto</p>"))
            site.add_campaign(campaign)
        for workers in (1, 2):
            seconds: list[float] = []
            for round_ in range(args.repeat):
                redis.Redis.from_url(args.broker).flushdb()
                bucket = f"bench-sync-{workers}-{round_}-{os.getpid()}"
                client.create_bucket(Bucket=bucket)
                database = server.fresh_database()
                env = {k: v for k, v in os.environ.items() if not k.startswith("ALEJANDRIA_")}
                env.update({
                    "ALEJANDRIA_DATABASE_URL": server.url_for(database),
                    "ALEJANDRIA_BROKER_URL": args.broker,
                    "ALEJANDRIA_MEDIA_URL": f"s3://{bucket}/archive",
                    "ALEJANDRIA_S3_ENDPOINT_URL": endpoint,
                    "ALEJANDRIA_S3_ACCESS_KEY_ID": key, "ALEJANDRIA_S3_SECRET_ACCESS_KEY": secret,
                    "ALEJANDRIA_PATREON_BASE_URL": site.base_url,
                    "ALEJANDRIA_PATREON_SESSION_ID": site.session_id,
                    "ALEJANDRIA_PATREON_REQUESTS_PER_SECOND": "0",
                    "ALEJANDRIA_EMBED_AFTER_SYNC": "false", "ALEJANDRIA_DOWNLOAD_EMBEDS": "false",
                    "ALEJANDRIA_EMBEDDED_LINGER_S": "0"})
                seconds.append(run_workers(env, workers, workdir / f"w{workers}-{round_}",
                                           server, database))
                server.drop(database)
            best = min(seconds)
            rows.append((str(workers), f"{best:.1f}", f"{2 * posts / best:.1f}",
                         f"{6 * posts / best:.1f}", f"{total_bytes / MB / best:.1f}"))
    return rows


def run_workers(env: dict[str, str], workers: int, workdir: Path, server: Server,
                database: str) -> float:
    processes = []
    for n in range(workers):
        host = {**env, "ALEJANDRIA_DATA_DIR": str(workdir / f"host-{n}")}
        log = (workdir / f"worker-{n}.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "alejandria.cli.main", "worker", "-c", "1"], env=host,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
    submit = {**env, "ALEJANDRIA_DATA_DIR": str(workdir / "submitter")}
    try:
        time.sleep(3)  # the workers connect before the clock starts
        start = time.perf_counter()
        for creator in ("6001", "6002"):
            subprocess.run([sys.executable, "-m", "alejandria.cli.main", "sync", "patreon",
                            creator, "--no-wait"], env=submit, check=True,
                           capture_output=True, timeout=120)
        pending = _counter(server, database,
                           "SELECT count(*) FROM jobs WHERE status NOT IN ('completed', 'failed')")
        done = _counter(server, database, "SELECT count(*) FROM jobs")
        deadline = time.monotonic() + 900
        while done() < 2 or pending():
            if time.monotonic() > deadline:
                raise RuntimeError("the sync jobs did not finish")
            time.sleep(0.1)
        return time.perf_counter() - start
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)


def _counter(server: Server, database: str, query: str) -> Callable[[], int]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(server.url_for(database), poolclass=NullPool)

    def count() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text(query)).scalar_one())

    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=None, help="runs of each (3; quick 1)")
    parser.add_argument("--no-sync", action="store_true", help="only part 1")
    parser.add_argument("--endpoint", help="an S3 endpoint instead of moto's server")
    parser.add_argument("--access-key", default="minioadmin")
    parser.add_argument("--secret-key", default="minioadmin")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12",
                        help="a Redis db of the bench's own: it is flushed")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (1 if args.quick else 3)
    info = machine()
    print(f"Machine: {info['cpu']}; {info['cores']} cores; {info['memory']}; "
          f"Python {info['python']}")
    workdir = Path(tempfile.mkdtemp(prefix="alejandria-s3-bench-"))
    try:
        with s3_endpoint(args) as (endpoint, key, secret):
            print(f"S3: {'moto server' if not args.endpoint else endpoint}; best of "
                  f"{args.repeat}\n")
            print("Part 1: our S3 store against bare boto3 on the same objects")
            print_rows(store_overhead(args, endpoint, key, secret, workdir))
            if not args.no_sync:
                print("\nPart 2: a Patreon sync (2 creators, media processing) into S3")
                print_rows(sync_throughput(args, endpoint, key, secret, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

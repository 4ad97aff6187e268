"""The S3 media store: our store against the bare client library, and a sync on 1 vs 2 workers.

``python bench/s3_store.py [--quick] [--no-sync] [--endpoint URL]``. The S3 server is moto's
server mode on loopback in a process of its own, or ``--endpoint`` (a MinIO: set
``--access-key``/``--secret-key``). The contenders of part 1 talk to the same server with the
same objects, each with its client made before the clock starts.

Part 1, the store's overhead: upload and read MB/s of ``S3MediaStore`` (hash, HEAD for a
large file, conditional PUT or multipart upload with a conditional completion; reads streamed
in 2 MiB chunks), from memory (``put_bytes``) and from a file (``put_stream``, spooled), against
bare boto3 (``upload_fileobj`` with boto3's default transfer settings under any name, and the
same after hashing the bytes to name the object, the work a content-addressed store must do;
``get_object()`` streamed in 2 MiB chunks) on the same bytes, small (256 KB) and large (32 MB)
files. Goal: ours >= 0.8x. obstore (``obstore.put``/``get``) is shown for reference, as the
other candidate client that was measured.

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
#: botocore's chunk size in the bare read: the store's own
READ_CHUNK = 2 * 1024 * 1024
TARGET = 0.8


@contextmanager
def s3_endpoint(args: argparse.Namespace) -> Iterator[tuple[str, str, str]]:
    """``--endpoint``, or moto's server in a process of its own on loopback: a real S3 is
    never inside its client's process (in the bench's process, moto's threads took the GIL
    from the contenders and the runs varied by a third)."""
    if args.endpoint:
        yield args.endpoint, args.access_key, args.secret_key
        return
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.1)
        yield url, "bench-key", "bench-secret"
    finally:
        server.terminate()
        server.wait(timeout=30)


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
    """MB/s of each contender on the same objects, best of ``--repeat`` interleaved runs.

    Uploads: ours from memory (``put_bytes``) and from a file (``put_stream``: a sync's and
    an import's path); boto3 bare (``upload_fileobj`` under any name) and boto3 doing the
    work a content-addressed store must do (hash the bytes, then upload under the hash: the
    name is known only once the last byte is read), the fastest honest baseline of ours.
    """
    rows: list[tuple[str, ...]] = [
        ("files", "operation", "ours MB/s", "boto3 MB/s", "ratio", "boto3 + hash MB/s",
         "ratio", "obstore MB/s")]
    sets = [("small", 256_000, 24 if args.quick else 80),
            ("large", 32 * MB, 2 if args.quick else 4)]
    for label, size, count in sets:
        blobs = [os.urandom(size) for _ in range(count)]
        files = []
        for n, blob in enumerate(blobs):
            path = workdir / f"{label}-{n}.bin"
            path.write_bytes(blob)
            files.append(path)
        total = size * count / MB
        best: dict[str, float] = {}
        for round_ in range(args.repeat):
            for name, seconds in upload_round(endpoint, key, secret, workdir,
                                              f"bench-{label}-{round_}-{os.getpid()}",
                                              blobs, files).items():
                best[name] = min(best.get(name, 1e9), seconds)
        count_label = f"{count} x {size / MB:g} MB"
        for op, ours_key, label_ in (("up", "ours up", "upload from memory"),
                                     ("up", "ours file up", "upload from a file"),
                                     ("down", "ours down", "read")):
            ours, bare = total / best[ours_key], total / best[f"bare {op}"]
            obs = f"{total / best[f'obs {op}']:.0f}" if f"obs {op}" in best else "-"
            named = ("-", "-")
            if op == "up":
                named = (f"{total / best['named up']:.0f}",
                         f"{best['named up'] / best[ours_key]:.2f}x")
            rows.append((count_label, label_, f"{ours:.0f}", f"{bare:.0f}",
                         f"{ours / bare:.2f}x", *named, obs))
    return rows


def upload_round(endpoint: str, key: str, secret: str, workdir: Path, bucket: str,
                 blobs: list[bytes], files: list[Path]) -> dict[str, float]:
    """Seconds of each contender in one round: every upload into a bucket of its own, then
    the reads of the objects ours stored."""
    client = boto_client(endpoint, key, secret)
    seconds: dict[str, float] = {}
    buckets = {name: f"{bucket}-{n}" for n, name in enumerate(("ours", "file", "bare"))}
    for name in buckets.values():
        client.create_bucket(Bucket=name)
    store = our_store(endpoint, key, secret, buckets["ours"], workdir)
    file_store = our_store(endpoint, key, secret, buckets["file"], workdir)
    for made in (store, file_store):  # made before the clock, as the bare client is
        assert made.client is not None
    with stopwatch() as elapsed:
        digests = [store.put_bytes(blob)[0] for blob in blobs]
    seconds["ours up"] = elapsed()
    with stopwatch() as elapsed:
        for path in files:
            with path.open("rb") as stream:
                file_store.put_stream(stream)
    seconds["ours file up"] = elapsed()
    with stopwatch() as elapsed:
        for n, blob in enumerate(blobs):
            client.upload_fileobj(io.BytesIO(blob), buckets["bare"], f"bare/{n}")
    seconds["bare up"] = elapsed()
    with stopwatch() as elapsed:
        for blob in blobs:
            client.upload_fileobj(io.BytesIO(blob), buckets["bare"], f"named/{sha256(blob)}")
    seconds["named up"] = elapsed()
    # reads stream the object chunk by chunk, as the web app and the local cache do (joining
    # the chunks would time fresh memory's page faults, not the store); one unmeasured read
    # of each object first, so that neither contender pays the server's first read alone
    for digest in digests:
        client.get_object(Bucket=buckets["ours"], Key=store._key(digest))["Body"].read()
    with stopwatch() as elapsed:
        for digest in digests:
            for _chunk in store.read(digest):
                pass
    seconds["ours down"] = elapsed()
    with stopwatch() as elapsed:
        for digest in digests:
            body = client.get_object(Bucket=buckets["ours"], Key=store._key(digest))["Body"]
            for _chunk in body.iter_chunks(READ_CHUNK):
                pass
    seconds["bare down"] = elapsed()
    obstore_times = obstore_round(endpoint, key, secret, buckets["bare"], blobs)
    if obstore_times:
        seconds["obs up"], seconds["obs down"] = obstore_times
    return seconds


def sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


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
            print(f"Part 1: our S3 store against bare boto3 on the same objects (goal: "
                  f">= {TARGET}x)")
            print_rows(store_overhead(args, endpoint, key, secret, workdir))
            if not args.no_sync:
                print("\nPart 2: a Patreon sync (2 creators, media processing) into S3")
                print_rows(sync_throughput(args, endpoint, key, secret, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

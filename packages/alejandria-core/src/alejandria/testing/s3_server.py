"""A real S3-protocol server for tests: moto's server mode on 127.0.0.1 and a free port.

``alejandria_s3_server`` (session) starts one ``ThreadedMotoServer`` (or uses
``ALEJANDRIA_TEST_S3_ENDPOINT`` with ``ALEJANDRIA_TEST_S3_ACCESS_KEY_ID`` /
``..._SECRET_ACCESS_KEY``: a MinIO of your own); ``alejandria_s3`` gives each test a fresh
bucket and the settings that point an archive's media store at it (``settings`` below,
``S3Bucket.settings``). Nothing here mocks our own store: the S3 backend talks HTTP to a
server that speaks the S3 protocol (conditional writes and multipart uploads included).
Needs ``moto[server]`` and ``boto3`` (requirements-dev.txt); a test using the fixture is
skipped when they are missing locally.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

TEST_S3_ENV = "ALEJANDRIA_TEST_S3_ENDPOINT"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
                            aws_access_key_id=self.access_key_id,
                            aws_secret_access_key=self.secret_access_key)


@dataclass(frozen=True)
class S3Bucket:
    """One test's bucket, and the media URL (``s3://bucket/prefix``) to use it."""

    server: S3Server
    bucket: str
    prefix: str = "archive"

    @property
    def media_url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def settings(self) -> dict[str, Any]:
        """Settings overrides (``Settings(**...)``, ``open_archive(**...)``)."""
        return {"media_url": self.media_url, "s3_endpoint_url": self.server.endpoint_url,
                "s3_access_key_id": self.server.access_key_id,
                "s3_secret_access_key": self.server.secret_access_key,
                "s3_region": "us-east-1"}

    @property
    def env(self) -> dict[str, str]:
        """The same as ``ALEJANDRIA_*`` variables, for a subprocess."""
        return {f"ALEJANDRIA_{name.upper()}": str(value)
                for name, value in self.settings.items()}

    def object_keys(self) -> list[str]:
        """Every object key in the bucket, sorted."""
        pages = self.server.client().get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", ()))


@pytest.fixture(scope="session")
def alejandria_s3_server() -> Iterator[S3Server]:
    """An S3 endpoint for the whole session: moto's server, or ``ALEJANDRIA_TEST_S3_ENDPOINT``."""
    named = os.environ.get(TEST_S3_ENV)
    if named:
        yield S3Server(named, os.environ.get("ALEJANDRIA_TEST_S3_ACCESS_KEY_ID", "minioadmin"),
                       os.environ.get("ALEJANDRIA_TEST_S3_SECRET_ACCESS_KEY", "minioadmin"))
        return
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        pytest.skip("the S3 tests need moto[server]: pip install -r requirements-dev.txt")
    from alejandria.testing.redis_server import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}", "testing-key", "testing-secret")
    finally:
        server.stop()


@pytest.fixture
def alejandria_s3(alejandria_s3_server: S3Server) -> S3Bucket:
    """A new, empty bucket for this test on the session's S3 server."""
    bucket = f"alejandria-test-{secrets.token_hex(6)}"
    alejandria_s3_server.client().create_bucket(Bucket=bucket)
    return S3Bucket(alejandria_s3_server, bucket)

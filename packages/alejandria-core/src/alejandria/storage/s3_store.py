"""The ``s3`` media store: content-addressed blobs in S3-compatible object storage.

``ALEJANDRIA_MEDIA_URL=s3://bucket/prefix`` keeps media at ``prefix/media/ab/cd/<sha256>`` and
derived files (thumbnails) at ``prefix/derived/<processor>/ab/cd/<sha256>/<file>``, so workers
and web apps on several hosts share one store. The client is boto3 (measured against obstore
on the same objects, see bench/s3_store.py: boto3 uploads faster on our path, and only it
exposes what safety needs: multipart uploads with a conditional completion, listing and
aborting stale uploads, presigned URLs with response headers).

Safety, as for the local store:

* **Hashed while streaming.** The bytes are hashed as they arrive and spooled to a temp file
  of this machine (in memory up to one part; ``put_bytes`` sends what is already in memory),
  so the object's name is known before anything is uploaded, and a large copy already stored
  is never uploaded again (a ``HEAD`` first; a small file goes up at once, its conditional
  ``PUT`` telling whether a copy was there).
* **Visible only complete, never overwritten.** One ``PUT`` (small files) or a multipart
  upload (``s3_part_mb`` parts, ``s3_upload_concurrency`` at a time) is published with
  ``If-None-Match: *``: a concurrent writer of the same content loses the race harmlessly and
  nothing is ever replaced. A server that lacks conditional writes (501) falls back to the
  ``HEAD`` already made. A failed upload is aborted; one whose process was killed stays
  invisible and ``media gc`` aborts it after the grace period (``incomplete_uploads``).
* **Tools that need a path** get a copy from a bounded LRU cache (``media_cache``).

Errors say what to do: a missing bucket, refused credentials or an unreachable endpoint are
``MediaError`` with the bucket and endpoint named, never a secret.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from alejandria.errors import MediaError
from alejandria.plugin_types import BlobInfo
from alejandria.storage.media_cache import MediaCache
from alejandria.storage.media_store import (
    CHUNK_SIZE,
    MB,
    check_sha256,
    derived_key,
    too_large,
)

if TYPE_CHECKING:
    from alejandria.plugin_types import MediaStoreContext

log = logging.getLogger(__name__)

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
#: Error codes meaning "the server does not do conditional writes".
_UNSUPPORTED = {"NotImplemented", "501"}
_PRECONDITION = {"PreconditionFailed", "412"}
_CONFLICT = {"ConditionalRequestConflict", "409"}
_MISSING = {"NoSuchKey", "404", "NotFound"}

#: boto3 clients of this process by (endpoint, region, key id, secret, concurrency).
_CLIENTS: dict[tuple[str | int | None, ...], Any] = {}
_CLIENTS_LOCK = threading.Lock()
# a forked worker makes its own: the parent's connections are not to be shared
os.register_at_fork(after_in_child=_CLIENTS.clear)


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` as ``(bucket, prefix)`` (no slashes around the prefix)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise MediaError(f"not an S3 media URL: {url!r}; write s3://bucket/prefix")
    bucket = parts.netloc
    if not _BUCKET.fullmatch(bucket):
        raise MediaError(f"{bucket!r} is not a valid S3 bucket name (ALEJANDRIA_MEDIA_URL)")
    return bucket, parts.path.strip("/")


class S3MediaStore:
    """Media in one bucket under one prefix (see the module's docstring)."""

    remote = True

    def __init__(self, url: str, *, endpoint_url: str | None = None, region: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 part_size: int = 8 * MB, concurrency: int = 8,
                 cache_dir: Path, cache_bytes: int = 2048 * MB, spool_dir: Path | None = None,
                 max_file_bytes: int | None = None) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.url = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        self.endpoint_url = endpoint_url
        self.region = region
        self._credentials = (access_key_id, secret_access_key)
        self.part_size = part_size
        self.concurrency = concurrency
        self.max_file_bytes = max_file_bytes
        self.cache = MediaCache(cache_dir, cache_bytes)
        self._spool_dir = spool_dir
        self._client: Any = None
        #: False once the server answered a conditional write with 501.
        self.conditional_writes = True

    def __repr__(self) -> str:  # never the credentials
        return f"S3MediaStore({self.url!r}, endpoint_url={self.endpoint_url!r})"

    @classmethod
    def from_context(cls, context: MediaStoreContext) -> S3MediaStore:
        settings = context.settings
        key_id = settings.s3_access_key_id
        secret = settings.s3_secret_access_key
        return cls(context.url, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                   access_key_id=key_id.get_secret_value() if key_id else None,
                   secret_access_key=secret.get_secret_value() if secret else None,
                   part_size=settings.s3_part_mb * MB,
                   concurrency=settings.s3_upload_concurrency,
                   cache_dir=settings.cache_dir / "media-store",
                   cache_bytes=settings.media_cache_mb * MB,
                   spool_dir=settings.data_dir / "tmp",
                   max_file_bytes=context.max_file_bytes)

    # -- the client --------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """boto3's S3 client, made on first use (boto3 is imported only then) and shared by
        every store of this process with the same endpoint, credentials and concurrency:
        making one loads botocore's service model (0.1-0.25 s, measured), which a worker
        opening the archive for each task would otherwise pay each time. Clients are
        thread-safe."""
        if self._client is None:
            key = (self.endpoint_url, self.region, *self._credentials, self.concurrency)
            with _CLIENTS_LOCK:
                client = _CLIENTS.get(key)
                if client is None:
                    client = _CLIENTS[key] = self._make_client()
            self._client = client
        return self._client

    def _make_client(self) -> Any:
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:
            raise MediaError("an s3:// media store needs boto3: "
                             "pip install 'alejandria-core[s3]'") from exc
        config = Config(
            max_pool_connections=max(10, 2 * self.concurrency),
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=10, read_timeout=120,
            # MinIO, Garage, moto...: path-style addressing works everywhere; AWS picks its own
            s3={"addressing_style": "path" if self.endpoint_url else "auto"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        key_id, secret = self._credentials
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region or "us-east-1",
            aws_access_key_id=key_id, aws_secret_access_key=secret, config=config)

    def _key(self, sha256: str) -> str:
        check_sha256(sha256)
        return self._join(f"media/{sha256[:2]}/{sha256[2:4]}/{sha256}")

    def _derived(self, key: str) -> str:
        return self._join(f"derived/{derived_key(key)}")

    def _join(self, tail: str) -> str:
        return f"{self.prefix}/{tail}" if self.prefix else tail

    def _where(self) -> str:
        endpoint = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"{self.url}{endpoint}"

    def _error(self, exc: Exception, doing: str) -> MediaError:
        """One readable line for a failed S3 call (no secrets: boto3 puts none in them)."""
        code = _code(exc)
        where = self._where()
        if code in ("NoSuchBucket",):
            message = (f"the bucket {self.bucket!r} does not exist ({where}): create it, or "
                       "fix ALEJANDRIA_MEDIA_URL")
        elif code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403",
                      "InvalidToken", "ExpiredToken"):
            message = (f"S3 refused the credentials while {doing} ({where}: {code}): check "
                       "ALEJANDRIA_S3_ACCESS_KEY_ID and ALEJANDRIA_S3_SECRET_ACCESS_KEY and "
                       "the key's permissions on the bucket")
        elif type(exc).__name__ in ("EndpointConnectionError", "ConnectTimeoutError",
                                    "ConnectionClosedError", "ReadTimeoutError"):
            message = (f"cannot reach the S3 endpoint while {doing} ({where}): is it running, "
                       "and is ALEJANDRIA_S3_ENDPOINT_URL right?")
        elif type(exc).__name__ == "NoCredentialsError":
            message = (f"no S3 credentials ({where}): set ALEJANDRIA_S3_ACCESS_KEY_ID and "
                       "ALEJANDRIA_S3_SECRET_ACCESS_KEY")
        else:
            message = f"S3 failed while {doing} ({where}): {code or type(exc).__name__}"
        error = MediaError(message)
        error.__cause__ = exc
        return error

    # -- writing -----------------------------------------------------------------------------

    def put_stream(self, stream: BinaryIO, *, max_bytes: int | None = None,
                   sync: bool = True) -> tuple[str, int, bool]:
        return self.put_chunks(iter(lambda: stream.read(CHUNK_SIZE), b""), max_bytes=max_bytes,
                               sync=sync)

    def put_bytes(self, data: bytes, *, sync: bool = True) -> tuple[str, int, bool]:
        """Bytes already in memory go up from memory: no spool file written and read back."""
        size = len(data)
        too_large(size, None, self.max_file_bytes)
        sha256 = hashlib.sha256(data).hexdigest()
        view = memoryview(data)

        def read(offset: int, length: int) -> bytes:
            return data if length == size else bytes(view[offset:offset + length])

        return sha256, size, self._publish(self._key(sha256), size, read)

    def put_chunks(self, chunks: Iterable[bytes], *, max_bytes: int | None = None,
                   sync: bool = True) -> tuple[str, int, bool]:
        """Hash and spool the bytes, then publish them under their hash (never twice, never
        over another object). ``sync`` is moot: an S3 object is durable once written."""
        digest = hashlib.sha256()
        size = 0
        if self._spool_dir is not None:
            self._spool_dir.mkdir(parents=True, exist_ok=True)
        spool_dir = os.fspath(self._spool_dir) if self._spool_dir is not None else None
        with tempfile.SpooledTemporaryFile(max_size=self.part_size, dir=spool_dir,
                                           prefix="s3-incoming-") as spool:
            for chunk in chunks:
                size += len(chunk)
                if ((max_bytes is not None and size > max_bytes)
                        or (self.max_file_bytes is not None and size > self.max_file_bytes)):
                    too_large(size, max_bytes, self.max_file_bytes)
                digest.update(chunk)
                spool.write(chunk)
            sha256 = digest.hexdigest()
            spool.flush()
            if size > self.part_size:  # rolled over to a file: parts are read at their offsets
                fd = spool.fileno()
                created = self._publish(self._key(sha256), size,
                                        lambda offset, length: os.pread(fd, length, offset))
            else:
                spool.seek(0)
                body = spool.read()
                created = self._publish(self._key(sha256), size,
                                        lambda offset, length: body[offset:offset + length])
            return sha256, size, created

    def sync_pending(self) -> None:
        """Nothing to do: S3 objects are durable once their upload completes."""

    def _publish(self, key: str, size: int, read: Callable[[int, int], bytes]) -> bool:
        """Publish ``size`` bytes (``read(offset, length)`` gives them) under ``key``; False
        when a copy was there already or another writer published it first."""
        if size <= self.part_size and self.conditional_writes:
            # one request: the conditional PUT itself says whether a copy was there (a
            # HEAD first halved the throughput of small files)
            return self._upload(key, size, read)
        stored = self._head(key, "checking for a stored copy")
        if stored is not None:
            if stored != size:
                raise MediaError(f"the bucket holds {key} with {stored} bytes, not {size}: "
                                 "it was written by something else; remove it and sync "
                                 "again (alejandria media verify lists such files)")
            return False
        return self._upload(key, size, read)

    def _upload(self, key: str, size: int, read: Callable[[int, int], bytes]) -> bool:
        """Publish ``size`` bytes; False when another writer published the same content
        first (the conditional write was refused)."""
        try:
            if size <= self.part_size:
                return self._put_small(key, read(0, size), size)
            return self._put_multipart(key, read, size)
        except MediaError:
            raise
        except Exception as exc:
            raise self._error(exc, f"uploading {key}") from exc

    def _put_small(self, key: str, data: bytes, size: int) -> bool:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Body": data,
                                "ContentLength": size}
        if self.conditional_writes:
            args["IfNoneMatch"] = "*"
        try:
            self.client.put_object(**args)
        except Exception as exc:
            code = _code(exc)
            if code in _PRECONDITION:
                return False
            if code in _CONFLICT:  # a concurrent conditional write: the winner is complete
                return not self._exists_key(key)
            if code in _UNSUPPORTED and self.conditional_writes:
                log.info("%s: no conditional writes; HEAD-then-put from now", self._where())
                self.conditional_writes = False
                return self._put_small(key, data, size)
            raise
        return True

    def _put_multipart(self, key: str, read: Callable[[int, int], bytes], size: int) -> bool:
        client = self.client
        upload_id = client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        try:
            offsets = range(0, size, self.part_size)

            def upload_part(number: int, offset: int) -> dict[str, Any]:
                body = read(offset, min(self.part_size, size - offset))
                answer = client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                            PartNumber=number, Body=body)
                return {"PartNumber": number, "ETag": answer["ETag"]}

            with ThreadPoolExecutor(max_workers=self.concurrency,
                                    thread_name_prefix="s3-part") as pool:
                parts = list(pool.map(upload_part, range(1, len(offsets) + 1), offsets))
            args: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id,
                                    "MultipartUpload": {"Parts": parts}}
            if self.conditional_writes:
                args["IfNoneMatch"] = "*"
            try:
                client.complete_multipart_upload(**args)
            except Exception as exc:
                code = _code(exc)
                if code in _PRECONDITION or (code in _CONFLICT and self._exists_key(key)):
                    self._abort(key, upload_id)
                    return False
                if code in _UNSUPPORTED and self.conditional_writes:
                    self.conditional_writes = False
                    del args["IfNoneMatch"]
                    client.complete_multipart_upload(**args)
                    return True
                raise
            return True
        except BaseException:
            self._abort(key, upload_id)
            raise

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception:  # gc aborts it later
            log.debug("could not abort the upload of %s", key, exc_info=True)

    # -- reading -----------------------------------------------------------------------------

    def _head(self, key: str, doing: str) -> int | None:
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _code(exc) in _MISSING:
                return None
            raise self._error(exc, doing) from exc
        return int(answer["ContentLength"])

    def _exists_key(self, key: str) -> bool:
        return self._head(key, f"checking {key}") is not None

    def exists(self, sha256: str) -> bool:
        return self._exists_key(self._key(sha256))

    def size(self, sha256: str) -> int | None:
        return self._head(self._key(sha256), f"reading the size of {sha256}")

    def read(self, sha256: str, start: int = 0,
             length: int | None = None) -> Iterator[bytes]:
        return self._read_key(self._key(sha256), start, length)

    def _read_key(self, key: str, start: int = 0,
                  length: int | None = None) -> Iterator[bytes]:
        """The object's bytes in chunks; ``FileNotFoundError`` (raised at once, before the
        first chunk is asked for) when it is missing."""
        if length == 0:
            return iter(())
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            args["Range"] = f"bytes={start}-{end}"
        try:
            body = self.client.get_object(**args)["Body"]
        except Exception as exc:
            if _code(exc) in _MISSING:
                raise FileNotFoundError(f"{key} is missing from {self.url}") from exc
            raise self._error(exc, f"reading {key}") from exc
        return _chunks(body)

    def local_file(self, sha256: str) -> Path | None:
        return None

    @contextmanager
    def local_path(self, sha256: str) -> Iterator[Path]:
        key = self._key(sha256)
        name = f"media/{sha256[:2]}/{sha256[2:4]}/{sha256}"
        with self.cache.pinned(name, lambda path: self._download(key, path)) as path:
            yield path

    def _download(self, key: str, path: Path) -> None:
        with path.open("wb") as out:
            for chunk in self._read_key(key):
                out.write(chunk)

    def verify(self, sha256: str) -> bool:
        digest = hashlib.sha256()
        try:
            for chunk in self.read(sha256):
                digest.update(chunk)
        except FileNotFoundError:
            return False
        return digest.hexdigest() == sha256

    def delete(self, sha256: str) -> None:
        key = self._key(sha256)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._error(exc, f"deleting {key}") from exc

    def _list(self, prefix: str) -> Iterator[dict[str, Any]]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                yield from page.get("Contents", ())
        except Exception as exc:
            raise self._error(exc, f"listing {prefix}") from exc

    def iter_blobs(self) -> Iterator[BlobInfo]:
        for item in self._list(self._join("media/")):
            yield BlobInfo(item["Key"].rsplit("/", 1)[-1], int(item["Size"]),
                           item["LastModified"].timestamp())

    def presigned_url(self, sha256: str, ttl_s: int, *, content_type: str | None = None,
                      disposition: str | None = None) -> str | None:
        if ttl_s <= 0:
            return None
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(sha256)}
        if content_type:
            params["ResponseContentType"] = content_type
        if disposition:
            params["ResponseContentDisposition"] = disposition
        url: str = self.client.generate_presigned_url("get_object", Params=params,
                                                      ExpiresIn=ttl_s)
        return url

    def origin(self) -> str | None:
        """Where presigned URLs point (signing is local: no request is made)."""
        url = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._join("x")}, ExpiresIn=60)
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    # -- derived files -----------------------------------------------------------------------

    def put_derived(self, key: str, source: Path) -> None:
        object_key = self._derived(key)
        content_type = mimetypes.guess_type(source.name)[0] or "application/octet-stream"
        if source.suffix == ".webp":
            content_type = "image/webp"
        try:
            self.client.put_object(Bucket=self.bucket, Key=object_key, Body=source.read_bytes(),
                                   ContentType=content_type)
        except Exception as exc:
            raise self._error(exc, f"uploading {object_key}") from exc

    def derived_path(self, key: str) -> Path:
        object_key = self._derived(key)
        return self.cache.get(f"derived/{key}", lambda path: self._download(object_key, path))

    def delete_derived(self, sha256: str) -> None:
        check_sha256(sha256)
        root = self._join("derived/")
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=root, Delimiter="/")
            processors = [entry["Prefix"] for page in pages
                          for entry in page.get("CommonPrefixes", ())]
        except Exception as exc:
            raise self._error(exc, f"listing {root}") from exc
        keys = [item["Key"] for folder in processors
                for item in self._list(f"{folder}{sha256[:2]}/{sha256[2:4]}/{sha256}/")]
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start:start + 1000]]
            try:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})
            except Exception as exc:
                raise self._error(exc, f"deleting the derived files of {sha256}") from exc

    # -- upkeep ------------------------------------------------------------------------------

    def incomplete_uploads(self) -> list[BlobInfo]:
        """Multipart uploads under the prefix never completed (``name``: ``key#upload id``)."""
        found: list[BlobInfo] = []
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self._join(""))
            for page in pages:
                for upload in page.get("Uploads", ()):
                    found.append(BlobInfo(f"{upload['Key']}#{upload['UploadId']}", 0,
                                          upload["Initiated"].timestamp()))
        except Exception as exc:
            raise self._error(exc, "listing unfinished uploads") from exc
        return found

    def remove_incomplete(self, upload: BlobInfo) -> None:
        key, _, upload_id = upload.name.rpartition("#")
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception as exc:
            if _code(exc) not in ("NoSuchUpload", "404"):
                raise self._error(exc, f"aborting the upload of {key}") from exc

    def check(self) -> str:
        """Reach the bucket with a ``HEAD``; ``MediaError`` says what is wrong."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except MediaError:
            raise
        except Exception as exc:
            if _code(exc) in ("404", "NoSuchBucket", "NotFound"):
                raise MediaError(f"the bucket {self.bucket!r} does not exist "
                                 f"({self._where()}): create it, or fix "
                                 "ALEJANDRIA_MEDIA_URL") from exc
            raise self._error(exc, "reaching the bucket") from exc
        return f"S3, {self._where()}"


def _code(exc: BaseException) -> str:
    """A botocore ``ClientError``'s code (``NoSuchKey``, ``412``...), else ''."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = str(error.get("Code") or "")
        if code:
            return code
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return str(status) if status else ""
    return ""


#: Bytes per chunk of a read: 2 MiB measured faster than 1 MiB on whole files (fewer Python
#: round trips through botocore's stream) and is still one ASGI message a chunk.
READ_CHUNK = 2 * CHUNK_SIZE


def _chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(READ_CHUNK)
    finally:
        body.close()

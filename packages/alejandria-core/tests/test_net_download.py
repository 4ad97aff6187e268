"""alejandria.net's resumable download on a real HTTP server: a file whose connection breaks
off midway is stored with exactly its bytes, or refused with the reason."""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alejandria.errors import SourceError
from alejandria.net.client import HttpClient
from alejandria.net.transport import Response
from alejandria.storage.media_store import MediaStore

from .net_site import Reply, Site

DATA = os.urandom(3 * 1024 * 1024 + 17)


def ranges(site: Site, path: str) -> list[str | None]:
    return [seen.headers.get("Range") for seen in site.requests if seen.path == path]


@pytest.mark.parametrize("honor_range", [True, False], ids=["range", "no-range"])
def test_a_download_that_breaks_off_goes_on_and_stores_the_exact_bytes(
        site: Site, make_client: Callable[..., HttpClient], tmp_path: Path,
        honor_range: bool) -> None:
    site.files["/f.bin"] = DATA
    site.cut_offs["/f.bin"] = 2
    site.honor_range = honor_range  # without it the file comes again, its start skipped

    with make_client().open(site.url("/f.bin?sig=1"), subject="f.bin") as stream:
        sha256, size, _ = MediaStore(tmp_path).put_stream(stream)  # type: ignore[arg-type]
        assert stream.breaks == 2

    assert (sha256, size) == (hashlib.sha256(DATA).hexdigest(), len(DATA))
    first, *resumed = ranges(site, "/f.bin")
    assert first is None and len(resumed) == 2
    offsets = [int(value[len("bytes="):-1]) for value in resumed if value]
    assert offsets == sorted(offsets) and 0 < offsets[0] < len(DATA)


def test_read_all_at_once(site: Site, make_client: Callable[..., HttpClient]) -> None:
    site.files["/f.bin"] = DATA
    site.cut_offs["/f.bin"] = 1

    with make_client().open(site.url("/f.bin"), subject="f.bin") as stream:
        assert stream.read() == DATA


def test_a_download_that_keeps_breaking_off_gives_up_with_the_reason(
        site: Site, make_client: Callable[..., HttpClient], sleeps: list[float]) -> None:
    site.files["/f.bin"] = DATA
    site.cut_offs["/f.bin"] = 100

    with pytest.raises(SourceError) as caught, \
            make_client(max_retries=2).open(site.url("/f.bin"), subject="f.bin") as stream:
        stream.read()

    assert str(caught.value) == ("f.bin: the download broke off (ProtocolError) 3 times; the "
                                 "next sync fetches it again")
    assert len(ranges(site, "/f.bin")) == 3 and len(sleeps) == 2


def test_a_compressed_file_is_asked_for_as_is_stored_as_served_and_resumed(
        site: Site, make_client: Callable[..., HttpClient], tmp_path: Path) -> None:
    text = b"compressible text " * 100_000
    site.files["/f.txt.gz"] = text
    site.gzipped.add("/f.txt.gz")  # served with Content-Encoding: gzip whatever was asked
    site.cut_offs["/f.txt.gz"] = 1

    with make_client().open(site.url("/f.txt.gz"), subject="f.txt.gz") as stream:
        sha256, size, _ = MediaStore(tmp_path).put_stream(stream)  # type: ignore[arg-type]

    served = gzip.compress(text, mtime=0)  # what the site sends, byte for byte
    assert (sha256, size) == (hashlib.sha256(served).hexdigest(), len(served))  # not gunzipped
    assert {seen.headers.get("Accept-Encoding") for seen in site.requests} == {"identity"}
    first, resumed = ranges(site, "/f.txt.gz")
    assert first is None and resumed is not None  # raw bytes: a byte offset is right to resume


def test_a_resume_at_the_wrong_place_is_refused(site: Site,
                                                make_client: Callable[..., HttpClient]) -> None:
    site.files["/f.bin"] = DATA
    site.cut_offs["/f.bin"] = 1
    site.wrong_range = True  # 206, but from byte 0

    with pytest.raises(SourceError, match="resumed the download at the wrong place"), \
            make_client().open(site.url("/f.bin"), subject="f.bin") as stream:
        stream.read()


def test_a_file_that_changed_meanwhile_is_refused(site: Site,
                                                  make_client: Callable[..., HttpClient]) -> None:
    site.files["/f.bin"] = DATA
    site.cut_offs["/f.bin"] = 1
    site.honor_range = False

    with make_client().open(site.url("/f.bin"), subject="f.bin") as stream:
        stream.read(1024)
        site.files["/f.bin"] = DATA[:1024]  # what comes next is shorter than what was read
        with pytest.raises(SourceError, match="changed while it was downloaded"):
            stream.read()


def test_the_check_sees_each_response_and_a_refusal_is_readable(
        site: Site, make_client: Callable[..., HttpClient]) -> None:
    site.script("/signed", Reply(403, b"expired"))
    seen: list[int] = []

    def check(response: Response) -> None:
        seen.append(response.status)
        if response.status == 403:
            raise SourceError("signed link expired")

    with pytest.raises(SourceError, match="signed link expired"):
        make_client().open(site.url("/signed"), subject="a.png", check=check)
    site.script("/gone", Reply(410, b""))
    with pytest.raises(SourceError) as caught:
        make_client().open(site.url("/gone"), subject="a.png")  # no check: 4xx refused

    assert seen == [403]
    assert str(caught.value) == "Testsite refused a.png (HTTP 410)"


def test_downloads_are_not_paced_unless_asked(site: Site, make_client: Callable[..., Any],
                                              sleeps: list[float]) -> None:
    site.files["/f.bin"] = b"x" * 10
    client = make_client(requests_per_second=1)

    for _ in range(3):
        with client.open(site.url("/f.bin"), subject="f.bin") as stream:
            assert stream.read() == b"x" * 10

    assert sleeps == []
    for _ in range(3):
        client.request(site.url("/api"))
    assert len(sleeps) == 2  # API requests are

"""alejandria.net refuses what a site must not make us fetch: other schemes, what is not a URL,
loopback/private/link-local/... addresses (checked on the address connected to, after DNS, on
every redirect hop), redirect loops; at once, never retried. The allow-list lets the user's
own hosts through. Credentials stay with their host and scheme, and no message shows a cookie
or a URL's query."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

from alejandria.errors import SourceError, TooLarge, URLRefused
from alejandria.net.addresses import AllowList, is_public, literal_address
from alejandria.net.client import HttpClient
from alejandria.net.limits import TransferLimits
from alejandria.net.transport import Transport
from alejandria.redaction import redact
from alejandria.settings import Settings

from .net_site import SECRET, Reply, Site


class Other:
    """A second server on another loopback address (127.0.0.2): a machine on the user's
    network that a site links to. Records the paths it is asked for."""

    def __init__(self, port: int = 0) -> None:
        self.paths: list[str] = []
        other = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                other.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "7")
                self.end_headers()
                self.wfile.write(b"private")

        self._server = ThreadingHTTPServer(("127.0.0.2", port), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    @property
    def port(self) -> int:
        return self._server.server_port

    def url(self, path: str) -> str:
        return f"http://127.0.0.2:{self.port}{path}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def other() -> Iterator[Other]:
    server = Other()
    yield server
    server.stop()


# -- which addresses are public, and the allow-list ----------------------------------------


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "100.64.0.1", "192.0.2.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::1", "2002:c0a8:101::1",
])
def test_non_public_addresses(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34",
                                     "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_hosts_that_are_addresses_without_dns() -> None:
    loopback = ipaddress.ip_address("127.0.0.1")
    for host in ("127.0.0.1", "localhost", "LOCALHOST.", "app.localhost", "2130706433",
                 "127.1", "0x7f.0.0.1"):
        assert literal_address(host) == loopback, host
    assert literal_address("[::1]") == ipaddress.ip_address("::1")
    assert literal_address("cafe.example") is None and literal_address("example.com") is None


def test_the_allow_list_takes_names_addresses_and_networks_with_optional_ports(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEJANDRIA_ALLOW_PRIVATE_HOSTS",
                       "nas.local, 192.168.1.0/24, [fd00::1]:8080, 127.0.0.1:9000, fc00::/7")
    entries = Settings().allow_private_hosts
    allow = AllowList.parse(entries)
    ip = ipaddress.ip_address

    assert entries == ["nas.local", "192.168.1.0/24", "[fd00::1]:8080", "127.0.0.1:9000",
                       "fc00::/7"]
    assert allow.allows("NAS.local.", 443, ip("10.9.9.9"))  # a name: whatever it resolves to
    assert allow.allows("printer", 80, ip("192.168.1.7"))
    assert not allow.allows("printer", 80, ip("192.168.2.7"))
    assert allow.allows("127.0.0.1", 9000, ip("127.0.0.1"))
    assert allow.allows("localhost", 9000, ip("127.0.0.1"))  # a name resolving into it
    assert not allow.allows("127.0.0.1", 9001, ip("127.0.0.1"))
    assert allow.allows("x", 1, ip("fd00::2"))  # fc00::/7, any port
    assert allow.allows("x", 8080, ip("fd00::1")) and not allow.allows("x", 1, ip("10.0.0.1"))


@pytest.mark.parametrize("entry", ["http://nas.local", "nas:port", "10.0.0.0/33", "[::1",
                                   "host:99999", "a b"])
def test_a_bad_allow_list_entry_is_named(entry: str) -> None:
    with pytest.raises(ValidationError, match="allow_private_hosts"):
        Settings(allow_private_hosts=[entry])


# -- refused up front -----------------------------------------------------------------------


@pytest.mark.parametrize(("url", "shown"), [
    ("file:///etc/passwd", "file:///etc/passwd"),
    ("data:text/html;base64,PHNjcmlwdD4=", "data:text/html"),
    ("ftp://example.com/pub/x.zip", "ftp://example.com/pub/x.zip"),
    ("gopher://example.com:70/_x", "gopher://example.com:70/_x"),
    ("javascript:alert(1)", "javascript:alert(1)"),
    ("/relative/a.png?token=SIGNED", "/relative/a.png"),
    ("a.png", "a.png"),
    ("http://[::1", "http://[::1"),
    ("http:///no-host", "/no-host"),
])
def test_what_is_not_an_http_url_is_refused_before_anything_is_sent(
        site: Site, make_client: Callable[..., HttpClient], sleeps: list[float], url: str,
        shown: str) -> None:
    client = make_client()

    with pytest.raises(URLRefused) as caught:
        client.request(url)
    with pytest.raises(URLRefused):
        client.open(url, subject="a.png")

    assert str(caught.value).startswith(f"refused {shown}: ")
    assert "SIGNED" not in str(caught.value)
    assert site.requests == [] and sleeps == []


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/",
    "http://0.0.0.0:1/", "http://2130706433/", "http://localhost:1/", "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/", "https://192.168.1.1/admin",
])
def test_private_addresses_are_refused_at_once(make_client: Callable[..., HttpClient],
                                               sleeps: list[float], url: str) -> None:
    start = time.monotonic()

    with pytest.raises(URLRefused, match="ALEJANDRIA_ALLOW_PRIVATE_HOSTS"):
        make_client(max_retries=3).request(url + "?sig=SIGNED")

    assert sleeps == [] and time.monotonic() - start < 1  # no connect timeout, no backoff


def test_a_loopback_site_is_refused_unless_allowed(site: Site,
                                                   make_client: Callable[..., HttpClient],
                                                   sleeps: list[float]) -> None:
    with pytest.raises(URLRefused) as caught:
        make_client(allowed_hosts=[]).request(site.url("/img.png?token=SIGNED"))

    assert str(caught.value) == (
        f"refused 127.0.0.1:{site.port}/img.png: 127.0.0.1 is loopback, which a site must not "
        f"make us fetch; to archive from your own network, add 127.0.0.1:{site.port} to "
        "ALEJANDRIA_ALLOW_PRIVATE_HOSTS")
    assert site.requests == [] and sleeps == []
    for allowed in ([f"127.0.0.1:{site.port}"], ["127.0.0.0/8"], ["127.0.0.1"]):
        assert make_client(allowed_hosts=allowed).request(site.url("/img.png")).status == 200
    with pytest.raises(URLRefused):  # another port of the allowed address
        make_client(allowed_hosts=[f"127.0.0.1:{site.port + 1}"]).request(site.url("/"))


# -- after DNS: the address connected to ---------------------------------------------------


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """``resolver[name]``: the addresses each lookup of ``name`` answers, in turn (the last
    one from then on); every lookup of a name is recorded under ``resolver["asked"]``."""
    answers: dict[str, list[str]] = {"asked": []}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in answers and host != "asked":
            answers["asked"].append(host)
            queue = answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_a_name_that_resolves_to_a_private_address_is_refused(
        site: Site, make_client: Callable[..., HttpClient], sleeps: list[float],
        resolver: dict[str, list[str]]) -> None:
    resolver["cdn.example.test"] = ["127.0.0.1"]

    with pytest.raises(URLRefused) as caught:  # 127.0.0.1:<port> not allowed this time
        make_client(allowed_hosts=[]).request(site.url("/a.png?x=SIGNED",
                                                       host="cdn.example.test"))

    assert str(caught.value) == (
        f"refused cdn.example.test:{site.port}/a.png: cdn.example.test resolves to loopback "
        "127.0.0.1, which a site must not make us fetch; to archive from your own network, "
        f"add cdn.example.test:{site.port} to ALEJANDRIA_ALLOW_PRIVATE_HOSTS")
    assert site.requests == [] and sleeps == []
    assert resolver["asked"] == ["cdn.example.test"]  # once: not retried


def test_dns_rebinding_cannot_slip_a_private_address_in(
        site: Site, make_client: Callable[..., HttpClient],
        resolver: dict[str, list[str]]) -> None:
    """The first answer is allowed, a later one points elsewhere: the connection goes to the
    address that was checked, because the name is resolved once and never again."""
    rebound = Other(port=site.port)  # the same port on another address
    try:
        resolver["rebind.example.test"] = ["127.0.0.1", "127.0.0.2"]

        response = make_client(allowed_hosts=[f"127.0.0.1:{site.port}"]).request(
            site.url("/f", host="rebind.example.test"))

        assert response.status == 200 and site.hits("/f") == 1
        assert rebound.paths == []
        assert resolver["asked"] == ["rebind.example.test"]
    finally:
        rebound.stop()


# -- redirects ------------------------------------------------------------------------------


def test_every_redirect_hop_is_checked(site: Site, other: Other,
                                       make_client: Callable[..., HttpClient],
                                       sleeps: list[float]) -> None:
    site.script("/cdn/a.png", Reply(302, b"", {"Location": other.url("/admin?t=SIGNED")}))
    site.script("/cdn/b.png", Reply(301, b"", {"Location": "file:///etc/passwd"}))
    client = make_client(max_retries=3)

    with pytest.raises(URLRefused) as private:
        client.request(site.url("/cdn/a.png?sig=SIGNED"))
    with pytest.raises(URLRefused) as local_file:
        client.open(site.url("/cdn/b.png"), subject="b.png")

    assert str(private.value).startswith(f"refused 127.0.0.2:{other.port}/admin: 127.0.0.2 "
                                         "is loopback")
    assert str(private.value).endswith(f"(a redirect from 127.0.0.1:{site.port}/cdn/a.png)")
    assert str(local_file.value).startswith("refused file:///etc/passwd: only http and https")
    assert other.paths == [] and sleeps == []
    assert "SIGNED" not in str(private.value)


def test_a_redirect_loop_or_chain_ends_at_once(site: Site,
                                               make_client: Callable[..., HttpClient],
                                               sleeps: list[float]) -> None:
    site.script("/a", *[Reply(302, b"", {"Location": "/b"})] * 10)
    site.script("/b", *[Reply(302, b"", {"Location": site.url("/a")})] * 10)
    for n in range(8):
        site.script(f"/r{n}", Reply(307, b"", {"Location": f"/r{n + 1}"}))
    client = make_client(max_retries=3)

    with pytest.raises(URLRefused) as loop:
        client.request(site.url("/a"))
    with pytest.raises(URLRefused) as chain:
        client.request(site.url("/r0"))

    assert str(loop.value) == (f"refused 127.0.0.1:{site.port}/a: a redirect loop "
                               f"(127.0.0.1:{site.port}/a again)")
    assert str(chain.value) == f"refused 127.0.0.1:{site.port}/r0: more than 5 redirects"
    assert (site.hits("/a"), site.hits("/b"), site.hits("/r5"), site.hits("/r6")) == (
        1, 1, 1, 0)
    assert sleeps == []


def test_a_redirect_within_the_allowed_host_is_followed(site: Site,
                                                        make_client: Callable[..., HttpClient]
                                                        ) -> None:
    site.script("/file", Reply(302, b"", {"Location": "/cdn/f?sig=1"}))
    site.files["/cdn/f"] = b"the file"

    with make_client().open(site.url("/file"), subject="f") as stream:
        assert stream.read() == b"the file"


# -- proxies --------------------------------------------------------------------------------


def test_through_a_proxy_addresses_are_checked_and_names_left_to_it(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in __import__("os").environ if name.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    transport = Transport(timeout_s=5, user_agent="t", pool_size=2,
                          proxies={"http": site.url("")})  # the proxy itself may be local

    with pytest.raises(URLRefused, match=r"10\.0\.0\.1 is private"):
        transport.request("GET", "http://10.0.0.1/admin", {}, preload=True)
    response = transport.request("GET", "http://files.example.test/a", {}, preload=True)

    assert response.status == 200  # the name went to the proxy unresolved
    assert [seen.target for seen in site.requests] == ["http://files.example.test/a"]
    transport.close()


# -- TLS and the cookie across schemes ------------------------------------------------------


class DualSite:
    """One port that speaks HTTPS and plain HTTP (it peeks at the first byte), as
    ``https://host`` and ``http://host`` share a host in a cookie's eyes; its certificate
    names ``localhost`` only. Records (path, over TLS, Cookie)."""

    def __init__(self, cert: str, key: str) -> None:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.seen: list[tuple[str, bool, str | None]] = []
        dual = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                secure = isinstance(self.connection, ssl.SSLSocket)
                dual.seen.append((self.path, secure, self.headers.get("Cookie")))
                self.send_response(302 if self.path == "/start" else 200)
                if self.path == "/start":
                    self.send_header("Location", f"http://localhost:{dual.port}/after")
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                sock, address = self.socket.accept()
                sock.settimeout(5)
                if sock.recv(1, socket.MSG_PEEK) == b"\x16":  # a TLS ClientHello
                    sock = context.wrap_socket(sock, server_side=True)
                return sock, address

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    @property
    def port(self) -> int:
        return self._server.server_port

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def certificate(tmp_path: Any) -> tuple[str, str]:
    """A self-signed certificate for ``localhost`` (and no IP address)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture
def dual(certificate: tuple[str, str]) -> Iterator[DualSite]:
    server = DualSite(*certificate)
    yield server
    server.stop()


def _tls_client(dual: DualSite, cert: str, **options: Any) -> HttpClient:
    from alejandria.net.client import RetryPolicy

    return HttpClient(site="Testsite", user_agent="t", proxies={}, ca_certs=cert,
                      retry=RetryPolicy(max_retries=0), timeout_s=5,
                      cookies={f"localhost:{dual.port}": SECRET},
                      allowed_hosts=["127.0.0.1", "::1"], **options)


def test_the_cookie_does_not_follow_a_redirect_from_https_down_to_http(
        dual: DualSite, certificate: tuple[str, str]) -> None:
    client = _tls_client(dual, certificate[0])

    response = client.request(f"https://localhost:{dual.port}/start")

    assert response.status == 200
    assert dual.seen == [("/start", True, SECRET), ("/after", False, None)]
    client.close()


def test_tls_still_checks_the_host_name_while_we_connect_to_the_address(
        dual: DualSite, certificate: tuple[str, str]) -> None:
    client = _tls_client(dual, certificate[0])

    assert client.request(f"https://localhost:{dual.port}/ok").status == 200  # SNI: localhost
    with pytest.raises(SourceError, match="SSLError"):  # the certificate does not name the IP
        client.request(f"https://127.0.0.1:{dual.port}/ok")
    client.close()


# -- secrets --------------------------------------------------------------------------------


def test_the_cookies_a_client_sends_are_redacted_from_messages(site: Site) -> None:
    cookie = "session_id=zq-" + "9" * 20
    HttpClient(site="Testsite", user_agent="t", proxies={},
               cookies={"example.com": f"a=1; {cookie}"}).close()

    assert redact(f"the server said: bad cookie {cookie}") == (
        "the server said: bad cookie session_id=[redacted]")
    assert redact(f"Cookie: a=1; {cookie}") == "Cookie: [redacted]"  # the whole header too


def test_no_message_the_net_layer_builds_holds_a_cookie_or_a_query(
        site: Site, other: Other, make_client: Callable[..., HttpClient]) -> None:
    site.script("/busy", *[Reply(503)] * 5)
    site.script("/hop", Reply(302, b"", {"Location": other.url("/x?t=SIGNED")}))
    site.script("/big", Reply(200, b"x" * 2048))
    site.script("/loop", *[Reply(302, b"", {"Location": "/loop?n=SIGNED"})] * 5)
    site.files["/f.bin"] = b"y" * 4096
    client = make_client(max_retries=1, limits=TransferLimits(max_api_response_bytes=1024,
                                                              max_download_bytes=1024))
    messages = []
    urls = [site.url(f"{path}?token=SIGNED&{SECRET}")
            for path in ("/busy", "/hop", "/big", "/loop")]
    for url in [*urls, f"ftp://127.0.0.1/x?token=SIGNED;{SECRET}"]:
        with pytest.raises((SourceError, TooLarge)) as caught:
            client.request(url)
        messages.append(str(caught.value))
    with pytest.raises(TooLarge) as large:
        client.open(site.url(f"/f.bin?token=SIGNED&{SECRET}"), subject="f.bin")
    messages.append(str(large.value))

    assert len(messages) == 6
    for message in messages:
        assert "SIGNED" not in message and "s3cr3t" not in message, message

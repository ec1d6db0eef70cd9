"""The webhook sender against real HTTP servers on 127.0.0.1 (issue 14 item 3): answers kept as
they come (no redirects followed, 4 KB of body), one total deadline a slow-drip server cannot
stretch, and DNS answers checked, all of them, then connected to as checked (DNS rebinding)."""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifications_app.adapters.outbound_http import OutboundPolicy, UrllibSender

DEVELOPMENT = OutboundPolicy(allow_loopback_http=True)
DEPLOYED = OutboundPolicy(allow_loopback_http=False)
NAME = "hooks.example.test"


class Receiver:
    """A server on 127.0.0.x whose handler a test chooses; it records what it was sent."""

    def __init__(
        self,
        answer: Callable[[BaseHTTPRequestHandler], None],
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ):
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                with contextlib.suppress(OSError):  # the sender hung up (its deadline): what a test is about
                    answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        if tls is not None:  # the handshake in the handler's thread, so a failed one stops no other
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True, do_handshake_on_connect=False)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(answer: Callable[[BaseHTTPRequestHandler], None], **kwargs: object) -> Receiver:
        started.append(Receiver(answer, **kwargs))  # type: ignore[arg-type]
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None):
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[list[str]]]:
    """Answers for names, a list per lookup (the last one repeats); other names resolve as usual.
    Every lookup of a faked name is recorded under `dns["<name>:asked"]`."""
    answers: dict[str, list[list[str]]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        answers.setdefault(f"{host}:asked", []).append([])
        queue = answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_a_2xx_answer_is_returned_with_its_body_and_the_request_arrives_as_sent(serve):
    receiver = serve(reply(200, b'{"ok": true}'))
    result = UrllibSender(DEVELOPMENT).post(
        receiver.url("/hook?team=7"), b'{"event": 1}', {"Content-Type": "application/json", "webhook-id": "evt-1"}
    )
    assert (result.status_code, result.body, result.error) == (200, b'{"ok": true}', None)
    assert 0 < result.latency_seconds < 1
    path, headers, body = receiver.requests[0]
    assert (path, body) == ("/hook?team=7", b'{"event": 1}')
    assert headers["webhook-id"] == "evt-1"
    assert headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_a_500_is_an_answer_not_an_error(serve):
    receiver = serve(reply(500, b"boom"))
    result = UrllibSender(DEVELOPMENT).post(receiver.url(), b"{}", {})
    assert (result.status_code, result.body, result.error) == (500, b"boom", None)


def test_a_redirect_is_the_result_and_is_not_followed(serve):
    target = serve(reply(200))
    receiver = serve(reply(302, headers={"Location": target.url("/elsewhere")}))
    result = UrllibSender(DEVELOPMENT).post(receiver.url(), b"{}", {})
    assert result.status_code == 302
    assert target.requests == []


def test_only_the_first_4096_bytes_of_a_big_body_are_kept(serve):
    body = bytes(range(256)) * 400  # 100 KB
    receiver = serve(reply(200, body))
    result = UrllibSender(DEVELOPMENT).post(receiver.url(), b"{}", {})
    assert result.body == body[:4096]


def drip(*, status_first: bool):
    def answer(handler: BaseHTTPRequestHandler) -> None:
        if status_first:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        else:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(100):  # a byte every 50 ms: well inside any per-read timeout, for 5 s
            handler.wfile.write(b"X-Drip: 1\r\n" if not status_first else b"x")
            handler.wfile.flush()
            time.sleep(0.05)

    return answer


def test_a_server_dripping_its_headers_is_cut_off_at_the_total_timeout(serve):
    receiver = serve(drip(status_first=False))
    started = time.monotonic()
    result = UrllibSender(DEVELOPMENT, timeout_seconds=0.5).post(receiver.url(), b"{}", {})
    assert time.monotonic() - started < 1.0
    assert (result.status_code, result.error) == (None, "timed out after 0.5 s")


def test_a_server_dripping_its_body_is_cut_off_and_its_status_kept(serve):
    receiver = serve(drip(status_first=True))
    started = time.monotonic()
    result = UrllibSender(DEVELOPMENT, timeout_seconds=0.5).post(receiver.url(), b"{}", {})
    assert time.monotonic() - started < 1.0
    assert result.status_code == 200
    assert 0 < len(result.body) < 20


def test_a_server_that_accepts_and_never_answers_times_out():
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        result = UrllibSender(DEVELOPMENT, timeout_seconds=0.3).post(f"http://127.0.0.1:{port}/", b"{}", {})
    assert (result.status_code, result.error) == (None, "timed out after 0.3 s")
    assert result.latency_seconds < 0.8


def test_a_closed_port_is_connection_refused():
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    result = UrllibSender(DEVELOPMENT).post(f"http://127.0.0.1:{port}/", b"{}", {})
    assert result.error == f"connection refused by 127.0.0.1:{port}"


def test_deployed_a_loopback_url_is_refused_without_connecting(serve):
    receiver = serve(reply(200))
    result = UrllibSender(DEPLOYED).post(receiver.url(), b"{}", {})
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith("refused: 127.0.0.1 is a loopback address")
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (["10.0.0.5"], f"refused: 10.0.0.5 is a private address ({NAME} resolves to it)"),
        (["127.0.0.1", "169.254.169.254"], "refused: 169.254.169.254 is the cloud instance metadata address"),
        (
            ["::ffff:192.168.0.1"],
            "refused: ::ffff:192.168.0.1 is the IPv4-mapped form of 192.168.0.1, a private address",
        ),
        (["fd00::1"], "refused: fd00::1 is a private (unique local) address"),
        (["100.64.1.1"], "refused: 100.64.1.1 is in the shared address space 100.64.0.0/10"),
    ],
)
def test_a_name_is_refused_when_any_of_its_addresses_is_not_public(dns, answer, error):
    dns[NAME] = [answer]
    result = UrllibSender(DEVELOPMENT).post(f"https://{NAME}/hook", b"{}", {})
    assert (result.status_code, result.body) == (None, b"")
    assert result.error is not None
    assert result.error.startswith(error)


def test_deployed_a_name_resolving_to_the_metadata_address_is_refused(dns):
    dns[NAME] = [["169.254.169.254"]]
    result = UrllibSender(DEPLOYED).post(f"https://{NAME}/", b"{}", {})
    assert result.error == f"refused: 169.254.169.254 is the cloud instance metadata address ({NAME} resolves to it)"


def test_deployed_a_name_resolving_to_loopback_is_refused(dns, serve):
    receiver = serve(reply(200))
    dns[NAME] = [["127.0.0.1"]]
    result = UrllibSender(DEPLOYED).post(f"https://{NAME}:{receiver.port}/", b"{}", {})
    assert result.error == f"refused: 127.0.0.1 is a loopback address (this machine) ({NAME} resolves to it)"
    assert receiver.requests == []


def test_in_development_http_goes_to_loopback_only_even_for_localhost(dns):
    dns["localhost"] = [["8.8.8.8"]]
    result = UrllibSender(DEVELOPMENT).post("http://localhost:8025/", b"{}", {})
    assert result.error == (
        "refused: 8.8.8.8 is not a loopback address, and http:// is for a local receiver only "
        "(localhost resolves to it)"
    )


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> tuple[str, ssl.SSLContext, ssl.SSLContext]:
    """A test authority's bundle, and server contexts with its certificates for NAME and for another name."""
    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)

    def certificate(name: str, issuer: x509.Name, issuer_key, key, *, authority: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=authority, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(  # Python 3.13 verifies strictly (VERIFY_X509_STRICT): this is required
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
            )
        )
        if authority:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    authority_key = ec.generate_private_key(ec.SECP256R1())
    authority_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test webhook authority")])
    authority = certificate("Test webhook authority", authority_name, authority_key, authority_key, authority=True)
    bundle = folder / "authority.pem"
    bundle.write_bytes(authority.public_bytes(serialization.Encoding.PEM))
    contexts = []
    for name in (NAME, "other.example.test"):
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = certificate(name, authority_name, authority_key, key, authority=False)
        chain = folder / f"{name}.pem"
        chain.write_bytes(
            leaf.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        contexts.append(context)
    return str(bundle), contexts[0], contexts[1]


def test_https_connects_to_the_checked_address_whatever_dns_says_next(dns, serve, certificates):
    bundle, for_name, _ = certificates
    checked = serve(reply(204), tls=for_name)
    try:
        rebound = serve(reply(200, b"wrong server"), host="127.0.0.2", port=checked.port, tls=for_name)
    except OSError:
        pytest.skip("127.0.0.2 cannot listen on the same port here")
    dns[NAME] = [["127.0.0.1"], ["127.0.0.2"]]  # the answer changes after the first lookup
    result = UrllibSender(DEVELOPMENT, ca_certs=bundle).post(f"https://{NAME}:{checked.port}/hook", b"{}", {})
    assert (result.status_code, result.error) == (204, None)
    assert rebound.requests == []
    assert len(dns[f"{NAME}:asked"]) == 1
    assert checked.requests[0][1]["Host"] == f"{NAME}:{checked.port}"


def test_an_address_that_refuses_the_connection_is_skipped_for_the_next_checked_one(dns, serve, certificates):
    bundle, for_name, _ = certificates
    receiver = serve(reply(204), tls=for_name)
    dns[NAME] = [["127.0.0.2", "127.0.0.1"]]  # nothing listens on 127.0.0.2, as an IPv6 answer without a route
    result = UrllibSender(DEVELOPMENT, ca_certs=bundle).post(f"https://{NAME}:{receiver.port}/", b"{}", {})
    assert (result.status_code, result.error) == (204, None)
    assert len(receiver.requests) == 1


def test_when_every_address_refuses_the_error_says_so(dns):
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    dns[NAME] = [["127.0.0.2", "127.0.0.1"]]
    result = UrllibSender(DEVELOPMENT).post(f"https://{NAME}:{port}/", b"{}", {})
    assert result.error == f"connection refused by 127.0.0.1:{port}"


def test_https_refuses_a_certificate_for_another_name(dns, serve, certificates):
    bundle, _, for_other = certificates
    receiver = serve(reply(204), tls=for_other)
    dns[NAME] = [["127.0.0.1"]]
    result = UrllibSender(DEVELOPMENT, ca_certs=bundle).post(f"https://{NAME}:{receiver.port}/", b"{}", {})
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith(f"TLS with {NAME} at 127.0.0.1:{receiver.port} failed")
    assert "match" in result.error
    assert receiver.requests == []


def test_https_refuses_a_certificate_from_an_unknown_authority(dns, serve, certificates):
    _, for_name, _ = certificates
    receiver = serve(reply(204), tls=for_name)
    dns[NAME] = [["127.0.0.1"]]
    result = UrllibSender(DEVELOPMENT).post(f"https://{NAME}:{receiver.port}/", b"{}", {})  # certifi's bundle
    assert result.error is not None
    assert "certificate verify failed" in result.error
    assert receiver.requests == []


def test_a_name_that_does_not_resolve_is_an_error_not_an_exception():
    result = UrllibSender(DEPLOYED).post("https://no-such-host.invalid/", b"{}", {})
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith("DNS lookup of no-such-host.invalid failed")

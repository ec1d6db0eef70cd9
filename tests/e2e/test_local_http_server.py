"""The local server (`manage.py runserver`) as clients meet it, raw bytes over a socket (issue 11,
items 3 and 4): chunked bodies reach the API whole (RFC 9112 §7.1), bounded by the body limit,
framing that could be read two ways is a 400 (RFC 9112 §3.2, §5.1, §6.3), a request that does
not arrive in time a 408, and every error the HTTP server sends itself is the SPEC §2 envelope,
not an HTML page.
"""

from __future__ import annotations

import functools
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e import local_stack
from tests.e2e.local_stack import api_server, eventually, run_manage

pytestmark = pytest.mark.e2e

STARTUP_TIMEOUT = 60
SOCKET_TIMEOUT = 20
BODY_LIMIT = 4096
READ_TIMEOUT = 2  # the server's, shortened from its 30 s so that a test can wait for it
start_stack = local_stack.start_stack  # the fixture: `make run`'s whole stack, its output kept


@pytest.fixture
def server(aws: Any) -> Iterator[int]:
    """The local stack's API server on the test's local AWS, with a small body limit and read timeout."""
    with api_server(
        aws.server.url,
        STARTUP_TIMEOUT,
        MAX_REQUEST_BODY_BYTES=str(BODY_LIMIT),
        LOCAL_HTTP_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT),
    ) as port:
        yield port


def exchange(connection: socket.socket, request: bytes) -> tuple[http.client.HTTPResponse, bytes]:
    """Sends `request` as it is and reads one response (status, headers, body)."""
    connection.sendall(request)
    response = http.client.HTTPResponse(connection, method=request.split(b" ", 1)[0].decode("latin-1"))
    response.begin()
    return response, response.read()


def send(port: int, request: bytes) -> tuple[http.client.HTTPResponse, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT) as connection:
        return exchange(connection, request)


def chunked(*chunks: bytes, extension: bytes = b"", trailer: bytes = b"") -> bytes:
    """`chunks` framed as RFC 9112 §7.1 says; `extension` goes on every chunk-size line."""
    framed = b"".join(b"%x%s\r\n%s\r\n" % (len(chunk), extension, chunk) for chunk in chunks)
    return framed + b"0\r\n" + trailer + b"\r\n"


def chunked_post(body: bytes, *, headers: bytes = b"", target: bytes = b"/tasks") -> bytes:
    return (
        b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n" + headers + b"\r\n" + body
    )


def assert_envelope(
    response: http.client.HTTPResponse, body: bytes, status: int, code: str, *, request_id: str | None = None
) -> str:
    """The SPEC §2 error envelope of `status` and `code`, with `request_id` as its X-Request-ID
    (the client's), or a new one when None; returns its message."""
    assert response.status == status, body[:500]
    assert response.getheader("Content-Type") == "application/json", body[:500]
    envelope = json.loads(body)
    assert envelope["success"] is False
    assert envelope["error"]["code"] == code
    assert envelope["error"]["message"]
    # Like every answer of the API's, whoever sent it (README: "Every response carries X-Request-ID").
    if request_id is None:
        assert re.fullmatch(r"[0-9a-f]{32}", response.getheader("X-Request-ID") or ""), response.getheaders()
    else:
        assert response.getheader("X-Request-ID") == request_id, response.getheaders()
    return str(envelope["error"]["message"])


def task_json(title: str) -> bytes:
    return json.dumps({"user_id": "u-chunked", "title": title}).encode()


# Chunked request bodies -------------------------------------------------------------------------


def test_a_task_sent_chunked_is_created_with_what_was_sent(server):
    response, body = send(server, chunked_post(chunked(task_json("sent chunked"))))
    assert response.status == 201, body
    assert json.loads(body)["data"]["title"] == "sent chunked"


def test_chunks_extensions_and_trailers_are_framing_not_body(server):
    payload = task_json("in three chunks")
    parts = (payload[:5], payload[5:17], payload[17:])
    request = chunked_post(chunked(*parts, extension=b";name=value", trailer=b"X-Checksum: 1\r\n"))
    response, body = send(server, request)
    assert response.status == 201, body
    assert json.loads(body)["data"]["title"] == "in three chunks"


def test_the_connection_stays_usable_after_a_chunked_request(server):
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT) as connection:
        first, _ = exchange(connection, chunked_post(chunked(task_json("first"))))
        second, body = exchange(connection, chunked_post(chunked(task_json("second"))))
    assert (first.status, second.status) == (201, 201)
    assert json.loads(body)["data"]["title"] == "second"


def test_a_chunked_body_over_the_limit_is_a_413(server):
    big = b'{"user_id": "u", "title": "' + b"x" * BODY_LIMIT + b'"}'
    response, body = send(server, chunked_post(chunked(big[:1000], big[1000:])))
    assert "limit" in assert_envelope(response, body, 413, "PAYLOAD_TOO_LARGE")


def oversized_post(size: int, *, framing: str, headers: bytes = b"") -> bytes:
    """A create whose body is `size` bytes, sent whole with a Content-Length or in one chunk."""
    payload = b"x" * size
    start = b"POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + headers
    if framing == "chunked":
        return start + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(payload)
    return start + b"Content-Length: %d\r\n\r\n%s" % (size, payload)


def assert_rendered_as_the_api_renders(body: bytes) -> None:
    """The API's answers are DRF's compact JSON (`{"success":false,...}`), UTF-8, whoever sent them."""
    assert body == json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode(), body


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("size", [BODY_LIMIT + 1, 8 * 1024 * 1024], ids=["just over", "8 MiB"])
def test_a_body_over_the_limit_is_a_413_in_the_apis_own_bytes_not_a_reset(server, framing, size):
    response, body = send(server, oversized_post(size, framing=framing))  # sent whole, then read
    assert "limit" in assert_envelope(response, body, 413, "PAYLOAD_TOO_LARGE")
    assert_rendered_as_the_api_renders(body)
    if framing == "content-length":
        assert json.loads(body)["error"]["message"] == f"The body is {size} bytes; the limit is {BODY_LIMIT}."


def test_an_oversized_content_length_is_answered_before_the_body_is_sent(server):
    # A client may wait for an answer before it sends a large body: it gets the 413 at once.
    started = time.monotonic()
    request = (
        b"POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 99999\r\n\r\n"
    )
    response, body = send(server, request)
    assert_envelope(response, body, 413, "PAYLOAD_TOO_LARGE")
    assert_rendered_as_the_api_renders(body)
    assert time.monotonic() - started < READ_TIMEOUT, "the server waited for a body it refuses"


CLIENT_ID = "client-chose-this:1"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (
            oversized_post(
                BODY_LIMIT + 1, framing="content-length", headers=b"X-Request-ID: %s\r\n" % CLIENT_ID.encode()
            ),
            413,
        ),
        (oversized_post(BODY_LIMIT + 1, framing="chunked", headers=b"X-Request-ID: %s\r\n" % CLIENT_ID.encode()), 413),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nX-Request-ID: %s\r\n\r\n" % CLIENT_ID.encode(), 400),
    ],
    ids=["413 content-length", "413 chunked", "400 framing"],
)
def test_the_servers_own_answer_echoes_the_clients_request_id_as_the_app_does(server, request_bytes, status):
    code = "PAYLOAD_TOO_LARGE" if status == 413 else "VALIDATION_ERROR"
    assert_envelope(*send(server, request_bytes), status, code, request_id=CLIENT_ID)
    # The app's own answer to the same id, for comparison.
    app_response, _ = send(
        server, b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: %s\r\n\r\n" % CLIENT_ID.encode()
    )
    assert (app_response.status, app_response.getheader("X-Request-ID")) == (404, CLIENT_ID)


@pytest.mark.parametrize(
    "request_id_headers",
    [
        b"X-Request-ID: has spaces in it\r\n",
        b"X-Request-ID: " + b"a" * 129 + b"\r\n",
        b"X-Request-ID: a\r\nX-Request-ID: b\r\n",
    ],
    ids=["spaces", "too long", "twice"],
)
def test_a_request_id_the_app_would_refuse_gets_a_new_one_from_the_server_too(server, request_id_headers):
    request = oversized_post(BODY_LIMIT + 1, framing="content-length", headers=request_id_headers)
    assert_envelope(*send(server, request), 413, "PAYLOAD_TOO_LARGE")  # a new 32-hex id
    app_response, _ = send(server, b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n" + request_id_headers + b"\r\n")
    assert app_response.status == 404
    assert re.fullmatch(r"[0-9a-f]{32}", app_response.getheader("X-Request-ID") or "")


def test_a_refused_request_never_takes_the_previous_requests_id(server):
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT) as connection:
        first, _ = exchange(connection, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: first-request\r\n\r\n")
        assert (first.status, first.getheader("X-Request-ID")) == (200, "first-request")
        second, body = exchange(connection, b"GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n")  # refused before its headers
    assert_envelope(second, body, 505, "VALIDATION_ERROR")  # a new id, not the first request's


@pytest.mark.parametrize(
    "framing",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # not a hexadecimal size
        b"2\r\n{}}\r\n0\r\n\r\n",  # a chunk longer than its size
        b"0x2\r\n{}\r\n0\r\n\r\n",  # Python's int() would take it; RFC 9112 does not
        b"20\r\n{}\r\n0\r\n\r\n",  # ends inside a chunk (the client closes its side)
    ],
)
def test_a_malformed_chunked_body_is_a_400(server, framing):
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT) as connection:
        connection.sendall(chunked_post(framing))
        connection.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(connection, method="POST")
        response.begin()
        message = assert_envelope(response, response.read(), 400, "VALIDATION_ERROR")
    assert "chunked body is malformed" in message, "the framing is at fault, not a field"


def test_a_transfer_coding_other_than_chunked_is_refused_in_the_envelope(server):
    request = b"POST /tasks HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + chunked(b"{}")
    response, body = send(server, request)
    assert "gzip" in assert_envelope(response, body, 501, "VALIDATION_ERROR")
    last_not_chunked = b"POST /tasks HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
    assert_envelope(*send(server, last_not_chunked), 400, "VALIDATION_ERROR")


def test_a_content_length_next_to_chunked_is_ignored(server):
    request = chunked_post(chunked(task_json("framed twice")), headers=b"Content-Length: 3\r\n")
    response, body = send(server, request)
    assert response.status == 201, body
    assert json.loads(body)["data"]["title"] == "framed twice"


def test_a_body_with_a_content_length_still_works(server):
    payload = task_json("plain")
    request = (
        b"POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
    )
    response, body = send(server, request)
    assert response.status == 201, body


# The server's own errors ------------------------------------------------------------------------


def test_a_url_of_100_kb_is_a_414_in_the_envelope(server):
    response, body = send(server, b"GET /tasks?user_id=" + b"u" * 100_000 + b" HTTP/1.1\r\nHost: h\r\n\r\n")
    assert "URL" in assert_envelope(response, body, 414, "VALIDATION_ERROR")


def test_a_header_of_100_kb_is_a_431_in_the_envelope(server):
    response, body = send(server, b"GET /tasks HTTP/1.1\r\nHost: h\r\nX-Big: " + b"b" * 100_000 + b"\r\n\r\n")
    assert_envelope(response, body, 431, "VALIDATION_ERROR")


def test_too_many_headers_are_a_431_in_the_envelope(server):
    headers = b"".join(b"X-H%d: v\r\n" % number for number in range(150))
    response, body = send(server, b"GET /tasks HTTP/1.1\r\nHost: h\r\n" + headers + b"\r\n")
    assert_envelope(response, body, 431, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"GARBAGE\r\n", 400),
        (b"GET / HTTP/1.1 extra\r\n", 400),
        (b"GET / HTTP/x.y\r\n", 400),
        (b"GET / HTTP/2.0\r\n", 505),
    ],
)
def test_a_request_line_the_server_cannot_serve_is_answered_in_the_envelope(server, request_line, status):
    response, body = send(server, request_line + b"Host: h\r\n\r\n")
    assert_envelope(response, body, status, "VALIDATION_ERROR")


# Framing that could be read two ways (RFC 9112) ---------------------------------------------------


def assert_refused_and_closed(connection: socket.socket, request: bytes, status: int = 400) -> str:
    """Sends `request`; the answer must be the envelope, and then the connection closes (nothing
    left of the request may be read as another one)."""
    response, body = exchange(connection, request)
    message = assert_envelope(response, body, status, "VALIDATION_ERROR")  # the client's fault, 408 too
    assert response.getheader("Connection") == "close"
    connection.settimeout(READ_TIMEOUT + 5)
    assert connection.recv(1) == b"", "the server must close after refusing the framing"
    return message


def test_whitespace_before_a_header_colon_is_a_400_not_a_second_request(server):
    smuggled = b"GET /nope-smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    request = (
        b"POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding : chunked\r\n\r\n" + chunked(smuggled)
    )
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT) as connection:
        assert "RFC 9112 §5.1" in assert_refused_and_closed(connection, request)


def test_an_empty_transfer_encoding_with_a_body_is_a_400(server):
    request = b"POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding:\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT) as connection:
        message = assert_refused_and_closed(connection, request + chunked(task_json("unframed")))
    assert "Transfer-Encoding" in message, "the framing is at fault, not a field"


def content_length_post(payload: bytes, *lengths: int) -> bytes:
    fields = b"".join(b"Content-Length: %d\r\n" % length for length in lengths)
    return b"POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + fields + b"\r\n" + payload


def test_content_lengths_that_differ_are_a_400(server):
    payload = task_json("two lengths")
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT) as connection:
        assert "Content-Length" in assert_refused_and_closed(connection, content_length_post(payload, len(payload), 2))


def test_equal_content_lengths_are_one(server):
    payload = task_json("the same length twice")
    response, body = send(server, content_length_post(payload, len(payload), len(payload)))
    assert response.status == 201, body


@pytest.mark.parametrize("hosts", [b"", b"Host: a\r\nHost: b\r\n"], ids=["no host", "two hosts"])
def test_an_http_11_request_needs_exactly_one_host(server, hosts):
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT) as connection:
        assert "Host" in assert_refused_and_closed(connection, b"GET / HTTP/1.1\r\n" + hosts + b"\r\n")


def test_empty_lines_before_the_request_line_are_skipped(server):
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT) as connection:
        response, body = exchange(connection, b"\r\n\r\nGET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert response.status == 200, body
    assert json.loads(body)["success"] is True


# Read timeout -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "partial",
    [b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", content_length_post(b'{"user_id"', 30)],
    ids=["headers unfinished", "body short of its length"],
)
def test_a_request_not_received_in_time_is_a_408(server, partial):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT) as connection:
        assert_refused_and_closed(connection, partial, status=408)
    assert time.monotonic() - started < READ_TIMEOUT + 5


def test_an_idle_connection_is_closed_without_an_answer(server):
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT) as connection:
        started = time.monotonic()
        assert connection.recv(1) == b""
    assert time.monotonic() - started < READ_TIMEOUT + 5


# The server's own answers in the logs ------------------------------------------------------------


def test_the_servers_own_answers_are_logged_and_traced_like_the_apps(start_stack):
    # `make run`: the terminal shows each request's metrics line, and `request_trail <id>` its access line.
    stack = start_stack(reload=False)
    too_big = (
        b"POST /tasks?token=secret HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: too-big-1\r\n"
        b"Content-Length: 20000000\r\n\r\n"
    )
    assert_envelope(*send(stack.api_port, too_big), 413, "PAYLOAD_TOO_LARGE", request_id="too-big-1")
    two_hosts = b"GET /tasks HTTP/1.1\r\nHost: a\r\nHost: b\r\nX-Request-ID: two-hosts-1\r\n\r\n"
    assert_envelope(*send(stack.api_port, two_hosts), 400, "VALIDATION_ERROR", request_id="two-hosts-1")

    def metrics_line(request_id: str) -> dict[str, Any] | None:
        lines = [json.loads(line) for line in stack.lines if '"_aws"' in line and f'"{request_id}"' in line]
        return lines[0] if lines else None

    expected = {
        "too-big-1": ("tasks.create", "POST", "/tasks?token=***", 413, "4xx"),
        "two-hosts-1": ("tasks.list", "GET", "/tasks", 400, "4xx"),
    }
    for request_id, (operation, method, path, status, status_class) in expected.items():
        line = eventually(functools.partial(metrics_line, request_id), 10, f"{request_id}'s metrics line")
        assert (line["operation"], line["method"], line["path"]) == (operation, method, path), line
        assert (line["status"], line["status_class"], line["source_ip"]) == (status, status_class, "127.0.0.1"), line
        assert line["Latency"][0] >= 0, line

        trail = run_manage("request_trail", request_id, "--state-dir", str(stack.state_dir), env=stack.env)
        assert trail.returncode == 0, trail.stdout + trail.stderr
        assert f'"{method} {path} HTTP/1.1" {status} ' in trail.stdout, trail.stdout


def test_a_burst_of_concurrent_connections_is_served_without_resets(server):
    """Clients opening many connections at once (a load test, a retry storm) are all answered:
    none is reset because the server's listen backlog ran over (Django's is 10)."""
    clients = 200
    start = threading.Barrier(clients, timeout=SOCKET_TIMEOUT)

    def fetch(client: int) -> int | str:
        start.wait()  # every client connects at the same moment
        try:
            response, _ = send(server, b"GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        except OSError as error:
            return type(error).__name__
        return response.status

    with ThreadPoolExecutor(max_workers=clients) as pool:
        statuses = list(pool.map(fetch, range(clients)))
    assert statuses == [200] * clients

"""The local HTTP server behind `manage.py runserver`: chunked request bodies, and its own errors as JSON.

Django's development server (`django.core.servers.basehttp`) reads a body only by its
`Content-Length`: a chunked body (RFC 9112 §7.1) reached the application empty, so a create
sent with `Transfer-Encoding: chunked` was refused for a missing `title` that the client had
sent. And the errors `http.server` sends itself, before Django sees the request (a request line
or a header too long, a malformed request line, an HTTP version it does not speak), were HTML
pages. Here the body is de-chunked before the application sees it, as API Gateway does for the
deployed API, and every such error leaves as the error envelope of SPEC §2, in the bytes the
application renders (`ops.local.server_answers`). A body over `MAX_REQUEST_BODY_BYTES`, chunked or
not, is refused here with a 413 before the application sees it, as API Gateway refuses its own.

Framing that could be read two ways is refused with a 400 and a closed connection (RFC 9112 §5.1,
§6.3, §3.2): whitespace before a header's colon, an empty Transfer-Encoding, Content-Length
values that differ, an HTTP/1.1 request without exactly one Host. Empty lines before a request
line are skipped (§2.2), and a request not received whole within `READ_TIMEOUT_SECONDS` is a 408.

Local only: the Lambda package has no `ops`, and API Gateway does its own framing there.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import socket
import socketserver
import time
from http import HTTPStatus
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.core.servers.basehttp import ServerHandler, WSGIRequestHandler, WSGIServer

from ops.local.chunked_body import BodyRefused, read_chunked
from ops.local.server_answers import MAX_LINE, envelope, record_answer, request_id_of
from tasks_app import correlation
from tasks_app.api.errors import INTERNAL_ERROR_MESSAGE

_MESSAGE_LIMIT = 200  # characters of `http.server`'s own reason kept (it quotes the request line)
# Empty lines skipped before a request line (RFC 9112 §2.2 asks for at least one): a bound, so a
# client cannot keep a connection busy with nothing but line ends.
MAX_EMPTY_LINES = 8
# How long a connection may take to send a whole request, and stay idle between two: a partial
# request is otherwise held open forever. The environment variable is for the server's tests.
READ_TIMEOUT_SECONDS = float(os.environ.get("LOCAL_HTTP_READ_TIMEOUT_SECONDS", "30"))
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")
# After refusing a body over the limit, what the server still reads and drops of it before closing:
# a socket closed with unread data is reset, and the reset can reach the client before it has read
# the 413 (RFC 9112 §9.6). So the server half-closes and reads on until the client closes, for at
# most this long and this much.
LINGER_SECONDS = 5.0
LINGER_BYTES = 64 * 1024 * 1024


class EnvelopeServerHandler(ServerHandler):
    """Django's WSGI server handler, whose answer to an application that raised is the 500 envelope.

    wsgiref's own is a `text/plain` sentence; Django catches nearly everything, so this is the
    last resort for what escapes it (an exception while the response is iterated).
    """

    request_handler: WSGIRequestHandler  # set by the request handler: Django's closes the connection through it
    error_headers = [("Content-Type", "application/json")]
    error_body = envelope(HTTPStatus.INTERNAL_SERVER_ERROR, INTERNAL_ERROR_MESSAGE)


class LocalRequestHandler(WSGIRequestHandler):
    """Django's request handler, with chunked request bodies and every error of its own in the envelope."""

    timeout = READ_TIMEOUT_SECONDS  # `StreamRequestHandler.setup` sets it on the socket
    _started = 0.0  # `time.perf_counter()` when the request being handled began to arrive

    def handle_one_request(self) -> None:
        """Django's `handle_one_request`, with the request framed and its body read before the application runs."""
        self.requestline, self.command, self.request_version = "", "", self.default_request_version
        # None yet: not the previous request's, for `send_error`.
        self.path, self.headers = "", http.client.HTTPMessage()
        try:
            if not self.rfile.peek(1):  # type: ignore[attr-defined]  # a BufferedReader (rbufsize -1)
                self.close_connection = True  # the client closed: nothing to answer
                return
        except TimeoutError:
            # Idle between two requests, nothing started: closed without an answer (RFC 9112 §9.5).
            self.close_connection = True
            return
        self._started = time.perf_counter()  # the request has begun to arrive
        try:
            request = self._read_request()
        except TimeoutError:
            self.send_error(
                HTTPStatus.REQUEST_TIMEOUT, f"The request was not received whole within {self.timeout:g} seconds."
            )
            return
        except BodyRefused as refused:
            self.send_error(refused.status, refused.message)
            if refused.status == HTTPStatus.CONTENT_TOO_LARGE:
                self._linger()  # the body is most likely still arriving
            return
        if request is None:  # `http.server` has answered already, through `send_error`
            return
        stdin, length = request
        environ = self.get_environ()
        if length is not None:
            # What API Gateway hands Lambda: the whole body, its length, no transfer coding.
            environ["CONTENT_LENGTH"] = str(length)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        handler = EnvelopeServerHandler(stdin, self.wfile, self.get_stderr(), environ)
        handler.request_handler = self
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def _read_request(self) -> tuple[BinaryIO, int | None] | None:
        """The request line, the headers and the body; None once `http.server` has refused them."""
        for _ in range(MAX_EMPTY_LINES + 1):
            self.raw_requestline = self.rfile.readline(MAX_LINE + 1)
            if self.raw_requestline not in (b"\r\n", b"\n"):  # RFC 9112 §2.2: skip empty lines first
                break
        else:
            raise BodyRefused(400, f"The request line is missing: more than {MAX_EMPTY_LINES} empty lines came first.")
        if len(self.raw_requestline) > MAX_LINE:
            self.requestline = self.request_version = self.command = ""
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return None
        if not self.parse_request():
            return None
        self._check_header_framing()
        return self._request_body()

    def _check_header_framing(self) -> None:
        """Raises `BodyRefused` (400) for headers a proxy might read otherwise than this server.

        RFC 9112 §5.1: no whitespace between a field name and its colon (the parser would stop
        there, and the rest, Transfer-Encoding included, be read as the next request); §5.2: no
        line folding; §3.2: an HTTP/1.1 request has exactly one Host; §6.3: Content-Length values
        that differ, or are not a number, leave the body's length unknown.
        """
        if self.headers.defects or self.headers.get_payload():
            raise BodyRefused(
                400, "A header line is malformed: a name followed by whitespace, or no colon (RFC 9112 §5.1)."
            )
        if any("\n" in value for value in self.headers.values()):
            raise BodyRefused(400, "A header value is folded over lines: send it on one line (RFC 9112 §5.2).")
        hosts = self.headers.get_all("Host", [])
        if len(hosts) > 1 or (not hosts and self.request_version == "HTTP/1.1"):
            raise BodyRefused(400, "An HTTP/1.1 request needs exactly one Host header (RFC 9112 §3.2).")
        lengths = {value.strip() for field in self.headers.get_all("Content-Length", []) for value in field.split(",")}
        if not all(_CONTENT_LENGTH.fullmatch(value) for value in lengths):
            raise BodyRefused(400, "The Content-Length header is not a number.")
        if len({int(value) for value in lengths}) > 1:
            raise BodyRefused(400, "The Content-Length headers disagree: send one (RFC 9112 §6.3).")
        if lengths:  # equal duplicates, as RFC 9110 §8.6 allows: one header for the application
            del self.headers["Content-Length"]
            self.headers["Content-Length"] = str(int(lengths.pop()))

    def _request_body(self) -> tuple[BinaryIO, int | None]:
        """The stream the application reads the body from, and its length if this server decoded it.

        RFC 9112 §6.1 and §6.3: chunked must be the final transfer coding (400 otherwise, the
        length being unknowable), an HTTP/1.0 message with Transfer-Encoding is faulty framing
        (400), and Transfer-Encoding overrides Content-Length, after which the connection closes
        (the pair is how requests are smuggled past proxies that read the other one).
        """
        codings = [
            coding.strip().lower()
            for value in self.headers.get_all("Transfer-Encoding", [])
            for coding in value.split(",")
            if coding.strip()
        ]
        if not codings:
            if "Transfer-Encoding" in self.headers:  # present, and empty: the body's length is unknowable
                raise BodyRefused(400, "The Transfer-Encoding header is empty: send chunked, or a Content-Length.")
            return self._body_of_length()
        if self.request_version == "HTTP/1.0":
            raise BodyRefused(400, "Transfer-Encoding needs HTTP/1.1: send the body with a Content-Length.")
        if codings[-1] != "chunked":
            raise BodyRefused(400, "The last Transfer-Encoding must be chunked: send it, or a Content-Length.")
        if codings != ["chunked"]:
            unsupported = ", ".join(coding for coding in codings[:-1])
            raise BodyRefused(501, f"Transfer-Encoding {unsupported} is not supported: send the body chunked only.")
        if "Content-Length" in self.headers:
            self.close_connection = True
            del self.headers["Content-Length"]
        body = read_chunked(self.rfile, settings.MAX_REQUEST_BODY_BYTES)
        return io.BytesIO(body), len(body)

    def _body_of_length(self) -> tuple[BinaryIO, int | None]:
        """A `Content-Length` body, read here whole (as API Gateway does) so that a client slower
        than the read timeout gets a 408 from the server, not an error from inside the application.

        Raises `BodyRefused`: 413 for a length over the limit, before reading any of it (as API
        Gateway answers its own; the application's 413 would have Django read the whole body
        first, and a client waiting for an answer before it sends would wait for the read
        timeout), and 400 for a body shorter than its length.
        """
        length = int(self.headers.get("Content-Length", "0"))
        limit = settings.MAX_REQUEST_BODY_BYTES
        if length > limit:
            raise BodyRefused(413, f"The body is {length} bytes; the limit is {limit}.")  # the application's words
        body = self.rfile.read(length)
        if len(body) != length:
            raise BodyRefused(400, f"The body ends after {len(body)} of the {length} bytes its Content-Length says.")
        return io.BytesIO(body), length

    def _linger(self) -> None:
        """Half-close the connection after an answer, then read and drop what the client still
        sends until it closes, `LINGER_SECONDS` pass or `LINGER_BYTES` arrive (RFC 9112 §9.6), so
        that it reads the answer rather than a reset. Raises nothing: the connection closes next
        whatever happens here."""
        deadline, dropped = time.monotonic() + LINGER_SECONDS, 0
        # The client's socket (`StreamRequestHandler.setup`); django-stubs calls it a WSGIRequest.
        connection = cast(socket.socket, self.connection)
        try:
            self.wfile.flush()
            connection.shutdown(socket.SHUT_WR)
            while dropped < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
                connection.settimeout(left)
                chunk = self.rfile.read1(65536)
                if not chunk:
                    return
                dropped += len(chunk)
        except OSError:  # the client reset it, or went quiet: nothing more to wait for
            return

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """`http.server`'s error answer, as the SPEC §2 error envelope in JSON instead of an HTML page.

        The status is kept; the code and the message are `server_answers.envelope`'s, in the
        bytes the application renders, with the request id the application would give
        (`server_answers.request_id_of`: the client's, if it sent one the app accepts, once its
        headers are read). Its lines are the application's: the access line with the size sent
        and the metrics line (`server_answers.record_answer`), each with the request id, so
        `request_trail` finds it. The connection closes, as `http.server` does.
        """
        status = HTTPStatus(code)
        reason = (message or status.phrase)[:_MESSAGE_LIMIT]
        if self.request_version == "HTTP/0.9":
            # What http.server assumes of a request line it cannot parse: it would then send no
            # status line and no headers, and the envelope would reach the client as garbage.
            self.request_version = "HTTP/1.0"
        # Every response carries an X-Request-ID, these too, the client's as the app echoes it.
        request_id = request_id_of(self.headers)
        body = envelope(status, reason)
        sent = b"" if self.command == "HEAD" or status in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED) else body
        # The request's lines carry its id, as the application's do (`config.observability`).
        with correlation.bound(request_id=request_id, event_id=None):
            self.log_error("code %d, message %s", status.value, reason)
            try:
                self.send_response_only(status)
                for name, value in (("Server", self.version_string()), ("Date", self.date_time_string())):
                    self.send_header(name, value)  # what `send_response` adds; it logs before the size is known
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Request-ID", request_id)
                self.send_header("Connection", "close")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(sent)
            finally:
                self.log_request(status.value, len(sent))  # the access line, as wsgiref writes it after the body
                record_answer(
                    method=self.command,
                    target=self.path,
                    client=str(self.client_address[0]),
                    status=status.value,
                    latency_ms=(time.perf_counter() - self._started) * 1000,
                    request_id=request_id,
                )


class LocalWSGIServer(WSGIServer):
    """Django's development server, serving with `LocalRequestHandler`.

    `django.core.servers.basehttp.run` always passes Django's own handler class; `runserver`'s
    `server_cls` extension point is the server, so the server picks its handler here.
    """

    # Django's listen backlog is 10: a burst of clients connecting at once (a load test, a retry
    # storm, `make bench`'s local part) overflowed it, and the connections it dropped timed out.
    # The kernel caps it at net.core.somaxconn.
    request_queue_size = socket.SOMAXCONN

    def __init__(
        self,
        server_address: tuple[str, int],
        RequestHandlerClass: type[socketserver.BaseRequestHandler],  # socketserver's name
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(server_address, LocalRequestHandler, *args, **kwargs)

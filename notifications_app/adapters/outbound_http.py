"""The webhook sender: POSTs to a user's URL without letting that URL reach inside (issue 14 item 3).

Two checks, two times. `check_url` judges the URL as registered (no DNS). `UrllibSender.post`
judges it again at delivery, resolves the host, refuses if *any* answer is not a public address,
then connects to the address it checked (never resolving again, so DNS rebinding cannot swap it)
while sending the original Host header and, for https, SNI and certificate verification for the
name. No redirects, one total deadline, a bounded response. urllib3 comes with botocore: no
HTTP client is added.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.client import HTTPException

import certifi
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ProtocolError
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.util.ssl_ import create_urllib3_context

from notifications_app.adapters.outbound_addresses import IPAddress, address_refusal, parse_address
from notifications_app.adapters.outbound_deadline import Deadline
from notifications_app.adapters.outbound_urls import OutboundPolicy, Target, UnsafeUrl, check_url, parse_url

# The interface the delivery code uses, in one place (the URL rules live in `outbound_urls`).
__all__ = ["HttpResult", "OutboundPolicy", "UnsafeUrl", "UrllibSender", "check_url"]

MAX_KEPT_BYTES = 4096  # of the response body (issue 14: "at most 4 KB of the response kept")


@dataclass(frozen=True)
class HttpResult:
    """What one POST got: the status and at most 4096 bytes of body, the time taken (seconds), or,
    when there was no HTTP answer (refused, timed out, unreachable), `status_code` None and `error`."""

    status_code: int | None
    body: bytes
    latency_seconds: float
    error: str | None


class _NoAnswer(Exception):
    """No HTTP answer: the message is `HttpResult.error`."""


class _Unreachable(_NoAnswer):
    """The TCP connection could not be made (refused, unreachable): nothing was sent, so the next
    checked address may be tried."""


class UrllibSender:
    """POSTs a webhook delivery under the outbound rules of issue 14 item 3 (see the module)."""

    def __init__(self, policy: OutboundPolicy, timeout_seconds: float = 5.0, *, ca_certs: str | None = None) -> None:
        """`timeout_seconds`: the total for resolving, connecting, sending and reading.
        `ca_certs`: the certificate authorities trusted for https (default: certifi's bundle, the
        one botocore and requests use)."""
        self._policy = policy
        self._timeout = timeout_seconds
        # One TLS context for every delivery: urllib3 given `ca_certs` builds a context and loads
        # the bundle for each connection (about 20 ms of CPU here). Certificates and the name
        # (`server_hostname`) are checked as before: CERT_REQUIRED, check_hostname.
        self._tls = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
        self._tls.load_verify_locations(cafile=ca_certs or certifi.where())

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResult:
        """POST `body` with `headers` (Host is set from the URL) to `url`; never follows redirects.

        Returns the status and the first 4096 bytes of the body; for any refusal or network fault,
        `status_code` None and `error` saying what happened. Never raises for those.
        """
        started = time.monotonic()
        with Deadline(self._timeout) as deadline:
            try:
                target = parse_url(url, self._policy)
                status, kept = self._deliver(target, self._resolve(target, deadline), body, headers, deadline)
            except UnsafeUrl as error:
                return HttpResult(None, b"", time.monotonic() - started, f"refused: {error}")
            except _NoAnswer as error:
                return HttpResult(None, b"", time.monotonic() - started, str(error))
        return HttpResult(status, kept, time.monotonic() - started, None)

    def _deliver(
        self,
        target: Target,
        addresses: list[IPAddress],
        body: bytes,
        headers: Mapping[str, str],
        deadline: Deadline,
    ) -> tuple[int, bytes]:
        """Try the checked addresses in the resolver's order until one takes the connection (an
        IPv6 answer first on a network without IPv6 must not stop the delivery)."""
        for index, address in enumerate(addresses):
            try:
                return self._exchange(target, address, body, headers, deadline)
            except _Unreachable:
                if index == len(addresses) - 1 or deadline.expired:
                    raise
        raise _NoAnswer(f"DNS lookup of {target.host} returned no address")

    def _resolve(self, target: Target, deadline: Deadline) -> list[IPAddress]:
        """The addresses to connect to, in the resolver's order, after checking every one of them."""
        if target.literal is not None:
            return [target.literal]
        answers = deadline.run(
            lambda: socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        )
        if isinstance(answers, OSError):
            raise _NoAnswer(f"DNS lookup of {target.host} failed: {answers}")
        if answers is None:
            raise _NoAnswer(f"timed out after {self._timeout:g} s (resolving {target.host})")
        addresses: list[IPAddress] = []
        for answer in dict.fromkeys(str(answer[4][0]) for answer in answers):
            address = parse_address(answer)
            if address is None:
                raise _NoAnswer(f"refused: {answer!r} is not an IP address ({target.host} resolves to it)")
            reason = self._refusal(target, address)
            if reason is not None:
                # Any bad answer refuses the lot: a name that resolves to both a public and a private
                # address is the classic way to slip past a check that picks one.
                raise _NoAnswer(f"refused: {reason} ({target.host} resolves to it)")
            addresses.append(address)
        return addresses

    def _refusal(self, target: Target, address: IPAddress) -> str | None:
        reason = address_refusal(address, allow_loopback=self._policy.allow_loopback_http)
        if reason is None and target.scheme == "http" and not address.is_loopback:
            reason = f"{address} is not a loopback address, and http:// is for a local receiver only"
        return reason

    def _exchange(
        self, target: Target, address: IPAddress, body: bytes, headers: Mapping[str, str], deadline: Deadline
    ) -> tuple[int, bytes]:
        """Connect to `address`, send the request, read the status and up to 4096 bytes of body."""
        connection = self._connection(target, address, deadline)
        try:
            try:
                connection.connect()
            except NewConnectionError as error:
                if deadline.expired or isinstance(error.__cause__, TimeoutError):
                    raise _NoAnswer(f"timed out after {self._timeout:g} s") from None
                raise _Unreachable(self._describe(error, target, address, deadline)) from None
            except (OSError, HTTPException, HTTPError) as error:
                raise _NoAnswer(self._describe(error, target, address, deadline)) from None
            try:
                sent = {name: value for name, value in headers.items() if name.lower() != "host"}
                sent |= {"Host": target.host_header, "Connection": "close"}
                connection.request(
                    "POST", target.request_target, body=body, headers=sent, preload_content=False, decode_content=False
                )
                response = connection.getresponse()
            except (OSError, HTTPException, HTTPError) as error:
                raise _NoAnswer(self._describe(error, target, address, deadline)) from None
            if deadline.expired:
                # The deadline's shutdown reads as the end of the headers: they were cut, not complete.
                raise _NoAnswer(f"timed out after {self._timeout:g} s")
            kept = b""
            try:  # an answer came: a body cut short by the deadline or the peer still leaves the status
                while len(kept) < MAX_KEPT_BYTES and (chunk := response.read1(MAX_KEPT_BYTES - len(kept))):
                    kept += chunk
            except (OSError, HTTPException, HTTPError):
                pass
            return response.status, kept[:MAX_KEPT_BYTES]
        finally:
            connection.close()

    def _connection(self, target: Target, address: IPAddress, deadline: Deadline) -> HTTPConnection:
        """A connection to the checked address; for https, SNI and the certificate for the name."""
        timeout = max(deadline.remaining(), 0.001)  # each socket operation; the deadline bounds the total
        if target.scheme == "https":
            return _WatchedHTTPSConnection(
                deadline,
                host=str(address),
                port=target.port,
                timeout=timeout,
                server_hostname=target.host,  # SNI, and the name OpenSSL checks the certificate against
                ssl_context=self._tls,
            )
        return _WatchedHTTPConnection(deadline, host=str(address), port=target.port, timeout=timeout)

    def _describe(self, error: BaseException, target: Target, address: IPAddress, deadline: Deadline) -> str:
        where = f"[{address}]:{target.port}" if address.version == 6 else f"{address}:{target.port}"
        # urllib3's NewConnectionError is a ConnectTimeoutError too (for compatibility): its cause says which.
        cause = error.__cause__ if isinstance(error, NewConnectionError) else error
        if deadline.expired or isinstance(cause, TimeoutError) or type(error) is ConnectTimeoutError:
            return f"timed out after {self._timeout:g} s"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {where}"
        if isinstance(error, ssl.SSLError | Urllib3SSLError):
            return f"TLS with {target.host} at {where} failed: {error}"
        if isinstance(error, ProtocolError | HTTPException):
            return f"{where} closed the connection or did not answer in HTTP: {error}"
        return f"could not reach {where}: {cause}"


class _WatchedHTTPConnection(HTTPConnection):
    """An urllib3 connection whose socket the deadline can shut as soon as it exists."""

    def __init__(self, deadline: Deadline, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._deadline = deadline

    def _new_conn(self) -> socket.socket:
        # urllib3's own extension point for socket creation (its SOCKS support overrides it too).
        sock = super()._new_conn()
        self._deadline.watch(sock)
        return sock


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """As `_WatchedHTTPConnection`, for TLS: the deadline also bounds the handshake."""

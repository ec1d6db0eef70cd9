"""A DynamoDB proxy for tests that watch or break the API's requests on the wire."""

from __future__ import annotations

import contextlib
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from typing import Any


class ForwardingHandler(BaseHTTPRequestHandler):
    """Forwards a DynamoDB request to `self.upstream()` and sends back its answer; subclasses
    decide in `do_POST` what to forward and what to answer themselves (`answer`)."""

    def upstream(self) -> str:
        return str(self.server.upstream)  # type: ignore[attr-defined]

    def operation(self) -> str:
        """The DynamoDB operation of the request (`GetItem`...), from its `X-Amz-Target`."""
        return self.headers.get("X-Amz-Target", "").rpartition(".")[2]

    def forward(self, body: bytes, *, answer_after: float = 0) -> None:
        """Send `body` upstream and its answer back, `answer_after` seconds after upstream gave it
        (a request applied, whose answer the client may no longer be waiting for)."""
        status, payload, headers = self.send_upstream(body)
        time.sleep(answer_after)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            self.answer(status, payload, headers)

    def send_upstream(self, body: bytes) -> tuple[int, bytes, dict[str, Any]]:
        """Send `body` upstream; returns its answer's status, body and headers."""
        request = urllib.request.Request(self.upstream(), data=body, headers=dict(self.headers), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read(), dict(refused.headers)

    def answer(self, status: int, payload: bytes, headers: dict[str, Any]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in {"content-length", "connection", "transfer-encoding", "date", "server"}:
                self.send_header(name, value)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass

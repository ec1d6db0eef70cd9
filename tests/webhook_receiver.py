"""A webhook receiver on 127.0.0.1 for tests: records every request, answers with the statuses
it is given in turn (then 200), on a thread of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """One request as the receiver saw it; `at` is time.monotonic() on arrival."""

    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """What the receiver got so far, and what it answers next."""

    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    holds: list[float] = field(default_factory=list)  # seconds to wait before answering each request

    def answer(self) -> int:
        return self.statuses.pop(0) if self.statuses else 200

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """The first `count` requests, waiting up to `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.received) >= count, f"the receiver got {len(self.received)} requests, not {count}"
        return self.received[:count]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A sender that went away mid-request (a killed worker) is what some tests do."""


@contextmanager
def running_receiver(statuses: list[int] | None = None, holds: list[float] | None = None) -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1, stopped on exit; it answers the given `statuses`
    in turn (then 200), each after the given `holds` in seconds (then at once)."""
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
            if receiver.holds:
                time.sleep(receiver.holds.pop(0))
            self.send_response(receiver.answer())
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    receiver.statuses = list(statuses or [])
    receiver.holds = list(holds or [])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()

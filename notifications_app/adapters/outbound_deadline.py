"""One total time limit over a delivery's blocking work (DNS, connect, TLS, request, response).

Socket timeouts bound each operation, not their sum: a server that drips a byte every second
keeps every read under any per-read timeout and holds the worker for as long as it likes. So
a timer shuts the connection's socket at the deadline, which ends whatever read or handshake is
blocked on it at once (issue 14 item 3: "5 s total timeout").
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self


class Deadline:
    """`with Deadline(5.0) as deadline:` — `watch` a socket and it is shut down when the time is up."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._expires = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._guard: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self.expired = False

    def __enter__(self) -> Self:
        self._expires = time.monotonic() + self._seconds
        self._timer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._timer.cancel()
        with self._lock:
            if self._guard is not None:
                self._guard.close()
                self._guard = None

    def remaining(self) -> float:
        """Seconds left (0 when expired)."""
        return max(self._expires - time.monotonic(), 0.0)

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` down at the deadline (at once if it has passed)."""
        with self._lock:
            if self._guard is not None:  # the previous address's connection, which failed
                self._guard.close()
            # A duplicate descriptor of the same socket: TLS wrapping detaches the original object,
            # and shutdown(2) on any descriptor acts on the connection itself.
            self._guard = sock.dup()
            if self.expired:
                _shut(self._guard)

    def run[T](self, work: Callable[[], T]) -> T | OSError | None:
        """Run `work` (a call that cannot be interrupted, like `getaddrinfo`) for at most the time
        left: its result, the `OSError` it raised, or None when the deadline came first (the call
        then finishes in the background, bounded by its own timeouts, and its result is dropped)."""
        outcome: list[T | OSError] = []

        def call() -> None:
            try:
                outcome.append(work())
            except OSError as error:  # a network fault (gaierror): handed back to the caller
                outcome.append(error)

        thread = threading.Thread(target=call, name="deadline-bounded-call", daemon=True)
        thread.start()
        thread.join(self.remaining())
        return outcome[0] if outcome else None

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._guard is not None:
                _shut(self._guard)


def _shut(sock: socket.socket) -> None:
    # OSError: already closed by its peer or by the connection, so nothing is left to stop.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)

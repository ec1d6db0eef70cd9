"""The embedded local AWS: moto's server mode on 127.0.0.1, in a child process that dies with us.

`EmbeddedAws` starts it and stops it by PID. Run as a module, this file is the child: it serves
moto, prints `ready <port>` once it accepts connections, and exits on SIGTERM, SIGINT, or when
its parent is gone, so a crashed test run or supervisor cannot leave a server behind.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from ops.errors import OperationsError

_READY = "ready"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]  # where `python -m ops.local.embedded_aws` finds this module


class LocalAwsError(OperationsError):
    """The local AWS could not start; the message says why and what to do."""


class EmbeddedAws:
    """A moto server child process; `port=0` lets the system pick a free port."""

    def __init__(self, port: int = 0, *, log_path: Path | None = None) -> None:
        self.requested_port = port
        self.port = port
        self.log_path = log_path
        self._process: subprocess.Popen[str] | None = None
        self._recording = Path(tempfile.gettempdir()) / f"local-aws-recording-{os.getpid()}-{id(self)}.jsonl"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = 30.0) -> EmbeddedAws:
        with open(self.log_path or os.devnull, "a") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, "--port", str(self.requested_port)],
                cwd=_PROJECT_ROOT,
                env={**os.environ, "MOTO_RECORDER_FILEPATH": str(self._recording)},
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,  # a terminal's Ctrl-C reaches the supervisor, which stops us in order
            )
        self.port = self._read_ready_port(timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        self._recording.unlink(missing_ok=True)

    def reset(self) -> None:
        """Forget every resource and item, as if freshly started."""
        self._moto_api("reset")

    @contextmanager
    def recording(self) -> Iterator[list[AwsCall]]:
        """Collects every AWS call made inside the block, in order, from moto's request recorder."""
        calls: list[AwsCall] = []
        self._moto_api("recorder/reset-recording")
        self._moto_api("recorder/start-recording")
        try:
            yield calls
        finally:
            self._moto_api("recorder/stop-recording")
            lines = self._moto_api("recorder/download-recording").splitlines()
            calls.extend(AwsCall.from_entry(json.loads(line)) for line in lines if line.strip())

    def _moto_api(self, path: str) -> str:
        request = urllib.request.Request(f"{self.url}/moto-api/{path}", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.read().decode())

    def __enter__(self) -> EmbeddedAws:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _read_ready_port(self, timeout: float) -> int:
        if self._process is None or self._process.stdout is None:
            raise LocalAwsError("The local AWS was not started.")
        selector = selectors.DefaultSelector()
        selector.register(self._process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                line = self._process.stdout.readline()
                if line.startswith(_READY):
                    return int(line.split()[1])
                if not line:
                    break
            if self._process.poll() is not None:
                break
        self.stop()
        where = f" See {self.log_path}." if self.log_path else ""
        raise LocalAwsError(
            f"The local AWS did not start on 127.0.0.1:{self.requested_port}.{where} If the port is "
            "in use, stop what holds it or set LOCAL_AWS_PORT to another port."
        )


@dataclass(frozen=True)
class AwsCall:
    """One recorded request: the signing service ("dynamodb", "sns", "sqs") and the operation."""

    service: str
    operation: str

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> AwsCall:
        headers = {str(name).lower(): str(value) for name, value in (entry.get("headers") or {}).items()}
        scope = _CREDENTIAL_SCOPE.search(headers.get("authorization", ""))
        service = scope["service"] if scope else "unknown"
        target = headers.get("x-amz-target", "")
        if "." in target:  # JSON protocols name the operation in a header: DynamoDB_20120810.GetItem
            return cls(service, target.split(".", 1)[1])
        body = str(entry.get("body") or "")
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        return cls(service, urllib.parse.parse_qs(body).get("Action", ["unknown"])[0])  # query protocols (SNS)


_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request")


def _one_dynamodb_call_at_a_time(app: Any) -> Any:
    """moto's DynamoDB is not thread-safe: a transaction copies the whole table to roll back, and
    a write arriving meanwhile fails it with a 500. Real DynamoDB takes concurrent calls, so
    concurrent callers must work here too; serialising DynamoDB (and only it, not SQS's long
    polls) makes them."""
    lock = threading.Lock()

    def serialised(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with lock:
                return app(environ, start_response)
        return app(environ, start_response)

    return serialised


def _serve(port: int) -> None:
    # ThreadedMotoServer binds inside its thread and hangs when the port is taken; binding
    # here, with the same parts, turns that into an immediate error.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from ops.local import moto_patches as moto_fixes

    moto_fixes.install()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is too much
    app = _one_dynamodb_call_at_a_time(DomainDispatcherApplication(create_backend_app))
    try:
        server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    except (OSError, SystemExit) as error:
        print(f"cannot listen on 127.0.0.1:{port}: {error}", file=sys.stderr)  # noqa: T201 - the child's log
        raise SystemExit(1) from None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    parent = os.getppid()
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"{_READY} {server.server_port}", flush=True)  # noqa: T201 - how the parent learns the port
    while not stopping.wait(0.5):
        if os.getppid() != parent:
            break
    server.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    _serve(parser.parse_args().port)

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
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from ops.errors import OperationsError
from ops.local import persistence
from ops.local.aws_server import STATE_PATH, Owner, StateKeeper, local_aws_app

_READY = "ready"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]  # where `python -m ops.local.embedded_aws` finds this module


class LocalAwsError(OperationsError):
    """The local AWS could not start; the message says why and what to do."""


class EmbeddedAws:
    """A moto server child process; `port=0` lets the system pick a free port."""

    def __init__(
        self,
        port: int = 0,
        *,
        log_path: Path | None = None,
        state_dir: Path | None = None,
        region: str = "us-east-1",
        owner: Owner | None = None,
    ) -> None:
        self.requested_port = port
        self.port = port
        self.log_path = log_path
        self.state_dir = state_dir
        self._merging = threading.Lock()  # an autosave and the stop's save must not merge the same journals
        self._options = ["--region", region]
        if state_dir is not None:
            self._options += ["--state-dir", str(state_dir)]
        if owner is not None:
            self._options += ["--owner-id", owner.client_id, "--owner-checkout", owner.checkout]
        self._process: subprocess.Popen[str] | None = None
        self._recording = Path(tempfile.gettempdir()) / f"local-aws-recording-{os.getpid()}-{id(self)}.jsonl"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def resume(self) -> None:
        """Continue the server if something paused it (SIGSTOP); nothing if it is running or gone."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGCONT)

    def exit_status(self) -> int | None:
        """The exit status if the server was started and has exited (crashed, or killed); else None."""
        return self._process.poll() if self._process else None

    def start(self, timeout: float = 30.0) -> EmbeddedAws:
        with open(self.log_path or os.devnull, "a") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, "--port", str(self.requested_port), *self._options],
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
        os.kill(process.pid, signal.SIGCONT)  # a paused server could not act on SIGTERM
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

    def load_state(self, table_name: str, queue_names: list[str]) -> dict[str, Any]:
        """Restore the table and queues from the state directory (after provisioning), then keep them.

        Returns {"items": n, "messages": {queue: n}}. Raises LocalAwsError with the server's
        reason (a malformed file, named with its line) if it cannot.
        """
        return self._state_call("load", {"table": table_name, "queues": queue_names}, timeout=600)

    def save_state(self, *, compact: bool, timeout: float = 120.0) -> dict[str, Any]:
        """Save the queues, and merge the table's journal into its snapshot when `compact` or it has grown.

        The server seals the journal; the merge runs here, in the caller's process (see
        `persistence.merge_journals`). Returns {"items": n, "messages": {queue: n},
        "lock_held_seconds": s, ...}. Raises LocalAwsError if the server refuses, StateError if a
        file is malformed, or OSError (a timeout, say) if the server does not answer.
        """
        report = self._state_call("save", {"compact": compact}, timeout=timeout)
        if report["sealed_journals"] and self.state_dir is not None:
            with self._merging:
                persistence.merge_journals(self.state_dir, tuple(report["key_names"]), report["sealed_journals"])
        return report

    def _state_call(self, action: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}{STATE_PATH}{action}", data=json.dumps(body).encode(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as error:
            raise LocalAwsError(str(json.loads(error.read()).get("error", error))) from None

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


def _serve(port: int, keeper: StateKeeper | None, owner: Owner | None) -> None:
    # ThreadedMotoServer binds inside its thread and hangs when the port is taken; binding
    # here, with the same parts, turns that into an immediate error.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from ops.local import moto_patches as moto_fixes

    moto_fixes.install()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is too much
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = local_aws_app(DomainDispatcherApplication(create_backend_app), keeper, owner)
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
    if keeper is not None and keeper.journal is not None:
        # The last word on the queues, even when the supervisor was killed before it could save.
        keeper.save(compact=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-dir", type=Path, help="Keep the table and queues here (see ops.local.persistence).")
    parser.add_argument("--region", default="us-east-1", help="The region whose table and queues are kept.")
    parser.add_argument("--owner-id", help="Refuse clients of any other checkout (see ops.local.aws_server).")
    parser.add_argument("--owner-checkout", default="", help="The owner's checkout directory, for messages.")
    arguments = parser.parse_args()
    state = StateKeeper(arguments.state_dir, arguments.region) if arguments.state_dir else None
    owned_by = Owner(arguments.owner_id, arguments.owner_checkout) if arguments.owner_id else None
    _serve(arguments.port, state, owned_by)

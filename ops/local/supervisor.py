"""`make run`: the local AWS, the API, the event worker and the outbox relay, started and stopped together.

Children run in their own sessions, so a terminal's Ctrl-C reaches only this supervisor, which
then stops them in order: the API and the relay, then the worker once it has applied what is
queued; then it snapshots the table while the local AWS is still up, and stops the local AWS.
The snapshot is restored on the next start.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from ops import queues
from ops.errors import OperationsError
from ops.local.children import ChildProcesses, child_environment
from ops.local.embedded_aws import EmbeddedAws
from ops.local.snapshot import SnapshotError, TableSnapshot
from ops.provisioning.resources import Resources, provision
from tasks_app.adapters.aws import AwsTarget

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

SNAPSHOT_NAME = "table-snapshot.jsonl"


class LocalStackError(OperationsError):
    """The local stack cannot start; the message says what to change."""


@dataclass(frozen=True)
class LocalStackOptions:
    """Ports, where state is kept, and what to provision."""

    api_port: int
    aws_port: int
    state_dir: Path
    autosave_seconds: float
    reload: bool
    region: str
    resources: Resources
    manage_py: Path


class LocalStack:
    """Starts, watches and stops the local AWS and the API; keeps the table across restarts."""

    def __init__(self, options: LocalStackOptions, say: Callable[[str], None]) -> None:
        self.options = options
        self.say = say
        self.aws = EmbeddedAws(options.aws_port, log_path=options.state_dir / "local-aws.log")
        path, table = options.state_dir / SNAPSHOT_NAME, options.resources.table_name
        # A client factory, not a client: the local AWS's URL is final only once it has started.
        self.snapshot = TableSnapshot(path, table, lambda: self._aws_target().client("dynamodb"), say)
        self._children = ChildProcesses()  # the API, the worker, the relay
        self._stop_reason: str | None = None

    def run(self) -> None:
        """Start everything, serve until told to stop or a child exits, then stop everything in order.

        Returns once all is stopped. Raises LocalStackError (or another OperationsError) when the
        stack cannot start: a port is taken, the snapshot is unreadable, or a child fails to start.
        """
        for port, variable in ((self.options.aws_port, "LOCAL_AWS_PORT"), (self.options.api_port, "LOCAL_API_PORT")):
            _require_free_port(port, variable)
        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        with _stop_signals_call(self._request_stop):
            try:
                self._start()
                self._supervise()
            finally:
                self._shutdown()

    def _start(self) -> None:
        self.aws.start()
        for change in provision(self._aws_target(), self.options.resources):
            if change.action != "unchanged":
                self.say(f"  {change}")
        try:
            self.snapshot.restore()
        except SnapshotError as error:
            raise LocalStackError(str(error)) from None
        env = child_environment(self.aws.url, self.options.state_dir)
        for name, command in _child_commands(self.options).items():
            self._children.start(name, command, env)
        _wait_for_api(self.api_url, self._children, stopping=lambda: self._stop_reason is not None)
        self.say(_banner(self.api_url, self.aws.url, self.options, self.snapshot.path))

    def _supervise(self) -> None:
        parent = os.getppid()
        next_save = time.monotonic() + self.options.autosave_seconds
        while self._stop_reason is None:
            time.sleep(0.25)
            if exited := self._children.exited():
                self._stop_reason = "; ".join(f"{name} exited with status {code}" for name, code in exited)
            elif os.getppid() != parent:
                self._stop_reason = "the process that started `make run` is gone"
            elif self.options.autosave_seconds and time.monotonic() >= next_save:
                self.snapshot.save(quiet=True)
                next_save = time.monotonic() + self.options.autosave_seconds

    def _shutdown(self) -> None:
        """Stop what writes first, let the worker apply what is queued, then save the table."""
        self.say(f"Stopping ({self._stop_reason or 'start-up failed'})...")
        self._children.stop("the API")
        self._children.stop("the outbox relay")
        self._let_worker_drain_queue()
        self._children.stop("the worker")
        if self.aws.pid is not None:  # the snapshot itself refuses to save before it was restored
            try:
                self.snapshot.save(quiet=False)
            except Exception as error:  # noqa: BLE001 - stopping must go on; the last autosave stays
                self.say(f"Could not save the snapshot: {error}")
        self.aws.stop()
        self.say("Stopped.")

    def _let_worker_drain_queue(self, timeout: float = 10.0) -> None:
        """Queued events are not part of the snapshot: give the worker a moment to apply them."""
        if self.aws.pid is None or not self._children.is_running("the worker"):
            return
        sqs = self._aws_target().client("sqs")
        url = sqs.get_queue_url(QueueName=self.options.resources.queue_name)["QueueUrl"]
        if left := _events_left_after(sqs, url, timeout):
            self.say(f"{left} events were still on the queue; they are not kept.")

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stop_reason = self._stop_reason or f"received {signal.Signals(signum).name}"

    def _aws_target(self) -> AwsTarget:
        return AwsTarget(region=self.options.region, endpoint_url=self.aws.url)

    @property
    def api_url(self) -> str:
        """The API's base URL, with no trailing slash."""
        return f"http://127.0.0.1:{self.options.api_port}"


@contextmanager
def _stop_signals_call(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP call `handler`; the previous handlers come back after it."""
    # SIGHUP: the terminal was closed, which must stop the stack as cleanly as Ctrl-C.
    stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, handler) for sig in stop_signals}
    try:
        yield
    finally:
        for sig, previous_handler in previous.items():
            signal.signal(sig, previous_handler)


def _wait_for_api(api_url: str, children: ChildProcesses, stopping: Callable[[], bool], timeout: float = 60.0) -> None:
    """Return once `api_url` answers, or as soon as `stopping()` is true (the stop is then under way).

    Raises LocalStackError if a child exits meanwhile, or if the API does not answer within `timeout` s.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping():
        if exited := children.exited():
            name, code = exited[0]
            raise LocalStackError(f"{name.capitalize()} exited with status {code} while starting.")
        try:
            with urllib.request.urlopen(f"{api_url}/", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    if not stopping():
        raise LocalStackError(f"The API did not answer on {api_url} within {timeout:.0f} s.")


def _events_left_after(sqs: SQSClient, queue_url: str, timeout: float) -> int:
    """Wait up to `timeout` s for the queue to have nothing waiting or in flight; return how much is left."""
    left = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        depth = queues.depth(sqs, queue_url)
        if not (left := depth.waiting + depth.in_flight):
            return 0
        time.sleep(0.2)
    return left


def _child_commands(options: LocalStackOptions) -> dict[str, list[str]]:
    """The API, the worker and the outbox relay, by name, in the order they start."""
    python, manage_py = sys.executable, str(options.manage_py)
    server = [python, manage_py, "runserver", f"127.0.0.1:{options.api_port}"]
    return {
        "the API": server if options.reload else [*server, "--noreload"],
        "the worker": [python, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO"],
        "the outbox relay": [python, manage_py, "relay_outbox", "--loop", "--interval", "2"],
    }


def _banner(api_url: str, aws_url: str, options: LocalStackOptions, snapshot: Path) -> str:
    """What is running where, shown once the API answers."""
    resources, autosave = options.resources, options.autosave_seconds
    return "\n".join(
        [
            "",
            "Task API is running:",
            f"  API         {api_url}/tasks",
            f"  Swagger UI  {api_url}/swagger",
            f"  OpenAPI     {api_url}/api/schema",
            f"  Local AWS   {aws_url}  (table {resources.table_name}, topic {resources.topic_name}, "
            f"queue {resources.queue_name})",
            f"  Events      a Celery worker applies them (history: {api_url}/tasks/<id>/events); "
            "the outbox relay runs every 2 s",
            f"  Data        {snapshot}  (saved on stop" + (f" and every {autosave:g} s)" if autosave else ")"),
            "Press Ctrl-C to stop.",
            "",
        ]
    )


def _require_free_port(port: int, variable: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers will: connections still closing from a previous run must not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise LocalStackError(
                f"Port {port} on 127.0.0.1 is in use (is another `make run` running?). "
                f"Stop it, or choose another port with {variable}=<port>."
            ) from None

"""`make run`: the local AWS, the API, the event worker and the outbox relay, started and stopped together.

Children run in their own sessions, so a terminal's Ctrl-C reaches only this supervisor, which
then stops them in order: it snapshots the table while the local AWS is still up, stops the
API, then the local AWS. The snapshot is restored on the next start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from events_app import queues
from tasks_app.adapters.aws import AwsTarget
from tasks_app.infrastructure import table_dump
from tasks_app.infrastructure.errors import InfrastructureError
from tasks_app.infrastructure.local_aws import LocalAws
from tasks_app.infrastructure.provisioning import Resources, provision

SNAPSHOT_NAME = "table-snapshot.jsonl"


class LocalStackError(InfrastructureError):
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
        self.snapshot = options.state_dir / SNAPSHOT_NAME
        self.aws = LocalAws(options.aws_port, log_path=options.state_dir / "local-aws.log")
        self._children: dict[str, subprocess.Popen[bytes]] = {}  # the API, the worker, the relay
        self._stop_reason: str | None = None
        self._restored = False  # until then, saving would overwrite the snapshot with an empty table

    def run(self) -> None:
        for port, variable in ((self.options.aws_port, "LOCAL_AWS_PORT"), (self.options.api_port, "LOCAL_API_PORT")):
            _require_free_port(port, variable)
        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        # SIGHUP: the terminal was closed, which must stop the stack as cleanly as Ctrl-C.
        stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {sig: signal.signal(sig, self._request_stop) for sig in stop_signals}
        try:
            self._start()
            self._supervise()
        finally:
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self) -> None:
        self.aws.start()
        target = AwsTarget(region=self.options.region, endpoint_url=self.aws.url)
        for change in provision(target, self.options.resources):
            if change.action != "unchanged":
                self.say(f"  {change}")
        if self.snapshot.is_file():
            try:
                count = table_dump.import_from_file(
                    target.client("dynamodb"), self.options.resources.table_name, self.snapshot
                )
            except InfrastructureError as error:
                raise LocalStackError(
                    f"Could not restore {self.snapshot}: {error}. "
                    "The file is left as it is: fix or move it, then start again."
                ) from None
            self.say(f"Restored {count} items from {self.snapshot}.")
        self._restored = True
        self._start_child("the API", self._api_command())
        self._start_child(
            "the worker", [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO"]
        )
        relay = [sys.executable, str(self.options.manage_py), "relay_outbox", "--loop", "--interval", "2"]
        self._start_child("the outbox relay", relay)
        self._wait_for_api()
        self._banner()

    def _start_child(self, name: str, command: list[str]) -> None:
        guarded = [sys.executable, "-m", "tasks_app.infrastructure.orphan_guard", *command]
        self._children[name] = subprocess.Popen(guarded, env=self._child_env(), start_new_session=True)

    def _supervise(self) -> None:
        parent = os.getppid()
        next_save = time.monotonic() + self.options.autosave_seconds
        while self._stop_reason is None:
            time.sleep(0.25)
            exited = [(name, child.returncode) for name, child in self._children.items() if child.poll() is not None]
            if exited:
                self._stop_reason = "; ".join(f"{name} exited with status {code}" for name, code in exited)
            elif os.getppid() != parent:
                self._stop_reason = "the process that started `make run` is gone"
            elif self.options.autosave_seconds and time.monotonic() >= next_save:
                self._save_snapshot(quiet=True)
                next_save = time.monotonic() + self.options.autosave_seconds

    def _shutdown(self) -> None:
        """Stop what writes first, let the worker apply what is queued, then save the table."""
        self.say(f"Stopping ({self._stop_reason or 'start-up failed'})...")
        for name in ("the API", "the outbox relay", "the worker"):
            child = self._children.get(name)
            if child is None:
                continue
            if name == "the worker":
                self._let_worker_drain_queue()
            _stop_group(child)
        if self._restored and self.aws.pid is not None:
            try:
                self._save_snapshot(quiet=False)
            except Exception as error:  # noqa: BLE001 - stopping must go on; the last autosave stays
                self.say(f"Could not save the snapshot: {error}")
        self.aws.stop()
        self.say("Stopped.")

    def _let_worker_drain_queue(self, timeout: float = 10.0) -> None:
        """Queued events are not part of the snapshot: give the worker a moment to apply them."""
        if self.aws.pid is None or self._children["the worker"].poll() is not None:
            return
        sqs = AwsTarget(region=self.options.region, endpoint_url=self.aws.url).client("sqs")
        url = sqs.get_queue_url(QueueName=self.options.resources.queue_name)["QueueUrl"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            depth = queues.depth(sqs, url)
            if not depth.waiting + depth.in_flight:
                return
            time.sleep(0.2)
        self.say(f"{depth.waiting + depth.in_flight} events were still on the queue; they are not kept.")

    def _save_snapshot(self, *, quiet: bool) -> None:
        client = AwsTarget(region=self.options.region, endpoint_url=self.aws.url).client("dynamodb")
        count = table_dump.export_to_file(client, self.options.resources.table_name, self.snapshot)
        if not quiet:
            self.say(f"Saved {count} items to {self.snapshot}.")

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stop_reason = self._stop_reason or f"received {signal.Signals(signum).name}"

    def _api_command(self) -> list[str]:
        server = [sys.executable, str(self.options.manage_py), "runserver", f"127.0.0.1:{self.options.api_port}"]
        return server if self.options.reload else [*server, "--noreload"]

    def _child_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ENVIRONMENT": "development",
            "AWS_ENDPOINT_URL": self.aws.url,
            "LOCAL_STATE_DIR": str(self.options.state_dir),  # where the local token key lives
        }

    def _wait_for_api(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._stop_reason is None:
            for name, child in self._children.items():
                if child.poll() is not None:
                    raise LocalStackError(f"{name.capitalize()} exited with status {child.returncode} while starting.")
            try:
                with urllib.request.urlopen(f"{self.api_url}/", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        if self._stop_reason is None:
            raise LocalStackError(f"The API did not answer on {self.api_url} within {timeout:.0f} s.")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.options.api_port}"

    def _banner(self) -> None:
        resources = self.options.resources
        self.say(
            "\n".join(
                [
                    "",
                    "Task API is running:",
                    f"  API         {self.api_url}/tasks",
                    f"  Swagger UI  {self.api_url}/swagger",
                    f"  OpenAPI     {self.api_url}/api/schema",
                    f"  Local AWS   {self.aws.url}  (table {resources.table_name}, topic {resources.topic_name}, "
                    f"queue {resources.queue_name})",
                    f"  Events      a Celery worker applies them (history: {self.api_url}/tasks/<id>/events); "
                    "the outbox relay runs every 2 s",
                    f"  Data        {self.snapshot}  (saved on stop"
                    + (f" and every {self.options.autosave_seconds:g} s)" if self.options.autosave_seconds else ")"),
                    "Press Ctrl-C to stop.",
                    "",
                ]
            )
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


def _stop_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a child and everything it started (runserver's reloader runs the server as a child)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

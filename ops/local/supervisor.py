"""`make run`: the local AWS, the API, the event worker, the outbox relay and the reminder sweep,
kept running together.

Children run in their own sessions, so a terminal's Ctrl-C reaches only this supervisor. A child
that crashes (the worker, the relay, even the API) is restarted with backoff while the rest go on
serving; only the local AWS exiting, Ctrl-C, or the terminal closing stops the stack. It then
stops the children in order: the API, the reminder sweep and the relay (what writes events), then
the worker once it has applied what is queued, then saves the table and the queues
(`ops.local.persistence`) and stops the local AWS.
The local AWS journals every table write and every message sent or deleted as it happens; every
`autosave_seconds` the supervisor has it write the queues whole and fold the journals into
snapshots. A failed autosave is reported and tried again, never a reason to stop.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from argparse import ArgumentTypeError
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from django.conf import settings

from config.local_stack import StackEndpoints, StackLock, StackRunningError, client_id
from ops import queues
from ops.errors import OperationsError
from ops.local.aws_server import Owner
from ops.local.children import ChildProcesses, child_environment
from ops.local.embedded_aws import EmbeddedAws, LocalAwsError
from ops.local.log_trail import LOG_DIRECTORY, process_log_files
from ops.management.commands.remind_due_tasks import DEFAULT_INTERVAL_SECONDS, INTERVAL_VARIABLE, interval_seconds
from ops.provisioning.resources import Resources, provision
from ops.provisioning.ses import ensure_local_ses
from tasks_app.adapters.aws import AwsTarget
from tasks_app.api.auth import tokens_are_local
from tasks_app.api.openapi import LOCAL_EXAMPLE_USER
from tasks_app.management.base import counted

DRAIN_SECONDS = 10.0  # how long a stop lets the worker apply what is queued (what is left is kept anyway)


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
    """Starts, watches, heals and stops the local AWS and the API; keeps the table and queues across restarts."""

    def __init__(self, options: LocalStackOptions, say: Callable[[str], None]) -> None:
        self.options = options
        self.say = say
        checkout = options.manage_py.parent
        self.aws = EmbeddedAws(
            options.aws_port,
            log_path=options.state_dir / "local-aws.log",
            state_dir=options.state_dir,
            region=options.region,
            owner=Owner(client_id(checkout), str(checkout)),
        )
        self._lock = StackLock(options.state_dir)
        self._children = ChildProcesses()  # the API, the worker, the relay, the reminder sweep
        self._stop_reason: str | None = None
        self._loaded = False  # until the state is restored, saving would overwrite it with nothing

    def run(self) -> None:
        """Start everything, serve (healing crashed children) until told to stop, then stop everything in order.

        Returns once all is stopped. Raises LocalStackError (or another OperationsError) when the
        stack cannot start: another stack holds the state directory, a port is taken, the saved
        state is unreadable, or a child fails to start.
        """
        try:
            self.options.state_dir.mkdir(parents=True, exist_ok=True)
            self._lock.acquire(
                StackEndpoints(
                    os.getpid(), self.api_url, self._planned_aws_url, str(self.options.state_dir), settings.AUTH_MODE
                )
            )
        except StackRunningError as error:
            raise LocalStackError(str(error)) from None
        except OSError as error:
            raise LocalStackError(
                f"Cannot keep the stack's state in {self.options.state_dir}: {error.strerror}. "
                "Choose a writable directory with --state-dir or LOCAL_STATE_DIR."
            ) from None
        try:
            for port, variable in (
                (self.options.aws_port, "LOCAL_AWS_PORT"),
                (self.options.api_port, "LOCAL_API_PORT"),
            ):
                _require_free_port(port, variable)
            with _stop_signals_call(self._request_stop):
                try:
                    self._start()
                    self._supervise()
                except BaseException as error:
                    failed = "failed" if self._loaded else "start-up failed"
                    self._stop_reason = self._stop_reason or f"{failed}: {error or type(error).__name__}"
                    raise
                finally:
                    self._shutdown()
        finally:
            self._lock.release()

    def _start(self) -> None:
        self.aws.start()
        self.say("Provisioning the local AWS (it starts empty; the saved data is restored next):")
        for change in [*provision(self._aws_target(), self.options.resources), *ensure_local_ses(self._aws_target())]:
            if change.action != "unchanged":
                self.say(f"  {change}")
        resources = self.options.resources
        try:
            restored = self.aws.load_state(resources.table_name, _kept_queues(resources))
        except LocalAwsError as error:
            raise LocalStackError(
                f"Could not restore {error}. The file is left as it is: fix or move it, then start again."
            ) from None
        self._loaded = True
        self.say(
            f"Restored {counted(restored['items'], 'item')}, {_messages(restored['messages'], resources)} "
            f"from {self.options.state_dir}."
        )
        env = child_environment(self.aws.url, self.options.state_dir)
        log_files = process_log_files(self.options.state_dir)
        log_files["the API"].parent.mkdir(parents=True, exist_ok=True)
        for name, command in _child_commands(self.options).items():
            # Each also writes its JSON lines to a file of its own, for `manage.py request_trail`.
            self._children.start(name, command, {**env, "LOG_FILE": str(log_files[name])})
        _wait_for_api(self.api_url, self._children, stopping=lambda: self._stop_reason is not None)
        if self.options.autosave_seconds:
            threading.Thread(target=self._autosave, name="autosave", daemon=True).start()
        self.say(_banner(self.api_url, self.aws.url, self.options))

    def _supervise(self) -> None:
        parent = os.getppid()
        while self._stop_reason is None:
            time.sleep(0.25)
            if (code := self.aws.exit_status()) is not None:
                self._stop_reason = f"the local AWS {_exit(code)}; see {self.options.state_dir / 'local-aws.log'}"
            elif os.getppid() != parent:
                self._stop_reason = "the process that started `make run` is gone"
            else:
                self._heal()

    def _heal(self) -> None:
        """Restart crashed children once their backoff has passed, saying so."""
        try:
            crashes, restarted = self._children.heal()
        except OSError as error:
            self.say(f"Could not restart a process: {error}; trying again.")
            return
        for crash in crashes:
            self.say(f"{_sentence(crash.name)} {_exit(crash.status)}; restarting it in {crash.restart_in:g} s.")
        for child in restarted:
            group = child.process.pid if child.process else "?"
            self.say(f"Restarted {child.name} (restart {child.restarts}, process group {group}).")

    def _autosave(self) -> None:
        """Every `autosave_seconds`, save the queues (and merge the table's journal once it has grown)."""
        failing = False
        while self._stop_reason is None:
            time.sleep(self.options.autosave_seconds)
            if self._stop_reason is not None:
                return
            try:
                self.aws.save_state(compact=False, timeout=max(30.0, self.options.autosave_seconds))
            except Exception as error:  # noqa: BLE001 - whatever it is, the stack keeps serving and tries again
                self.say(f"Autosave failed ({error}); trying again in {self.options.autosave_seconds:g} s.")
                failing = True
                continue
            if failing:
                self.say("Autosave works again.")
                failing = False

    def _shutdown(self) -> None:
        """Stop what writes first, let the worker apply what is queued, then save the table and queues."""
        self.say(f"Stopping ({self._stop_reason})...")
        self.aws.resume()  # a paused local AWS would hold the stop up for minutes and miss the last save
        self._children.stop("the API")
        self._children.stop("the reminder sweep")  # before the relay, which publishes what it records
        self._children.stop("the outbox relay")
        self._let_worker_drain_queue()
        self._children.stop("the worker")
        if self._loaded and self.aws.exit_status() is None:
            try:
                saved = self.aws.save_state(compact=True)
                resources = self.options.resources
                self.say(
                    f"Saved {counted(saved['items'], 'item')}, {_messages(saved['messages'], resources)} "
                    f"to {self.options.state_dir}."
                )
            except (OSError, LocalAwsError) as error:
                self.say(
                    f"Could not save: {error}. Nothing is lost: every table write and every message "
                    "was journalled as it happened, and the next start replays the journals."
                )
        elif self._loaded:
            self.say(
                "Every table write and every queued message up to the local AWS's end was journalled; "
                "the next start replays them."
            )
        self.aws.stop()
        self.say("Stopped.")

    def _let_worker_drain_queue(self) -> None:
        """Give the worker a moment to apply what is queued; what it does not get to is saved."""
        if self.aws.exit_status() is not None or not self._children.is_running("the worker"):
            return
        sqs = self._aws_target().client("sqs")
        try:
            url = sqs.get_queue_url(QueueName=self.options.resources.queue_name)["QueueUrl"]
            deadline = time.monotonic() + DRAIN_SECONDS
            while time.monotonic() < deadline and _unfinished(queues.depth(sqs, url)):
                time.sleep(0.2)
        except Exception as error:  # noqa: BLE001 - a stop must go on: what is left is saved anyway
            self.say(f"Could not watch the queue drain: {error}")

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stop_reason = self._stop_reason or f"received {signal.Signals(signum).name}"

    def _aws_target(self) -> AwsTarget:
        return AwsTarget(region=self.options.region, endpoint_url=self.aws.url)

    @property
    def _planned_aws_url(self) -> str:
        return f"http://127.0.0.1:{self.options.aws_port}"

    @property
    def api_url(self) -> str:
        """The API's base URL, with no trailing slash."""
        return f"http://127.0.0.1:{self.options.api_port}"


def _exit(status: int) -> str:
    """How a child ended, from its exit status: 'was killed by SIGKILL' (status 128 + 9) or 'exited with status 1'."""
    number = -status if status < 0 else status - 128  # negative: Popen's own report of a signal
    if number > 0 and number in {sig.value for sig in signal.Signals}:
        return f"was killed by {signal.Signals(number).name}"
    return f"exited with status {status}"


def _sentence(name: str) -> str:
    """'the API' -> 'The API': a child's name at the start of a sentence (str.capitalize lowercases the rest)."""
    return name[:1].upper() + name[1:]


def _unfinished(depth: queues.QueueDepth) -> int:
    return depth.waiting + depth.in_flight


def _kept_queues(resources: Resources) -> list[str]:
    """The queues whose messages survive a restart: the events queue, the webhooks queue (its
    delayed messages are deliveries' pending retries, issue 14) and their dead-letter queues."""
    return [
        resources.queue_name,
        resources.dead_letter_queue_name,
        resources.webhooks_queue_name,
        resources.webhooks_dead_letter_queue_name,
    ]


def _messages(counts: dict[str, int], resources: Resources) -> str:
    """'3 queued events and 1 dead letter', from messages per queue name (both queues' messages,
    and both dead-letter queues')."""
    queued = counts.get(resources.queue_name, 0) + counts.get(resources.webhooks_queue_name, 0)
    dead = counts.get(resources.dead_letter_queue_name, 0) + counts.get(resources.webhooks_dead_letter_queue_name, 0)
    return f"{counted(queued, 'queued event')} and {counted(dead, 'dead letter')}"


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


# What the start-up check asks for: a plain Django view, not one of DRF's, so it costs no one a
# rate-limit token (`tasks_app.api.throttling` counts DRF views' requests, and 401s). Asking for
# the root took one from 127.0.0.1's count: the user's first window had a request fewer.
READINESS_PATH = "/favicon.ico"


def _wait_for_api(api_url: str, children: ChildProcesses, stopping: Callable[[], bool], timeout: float = 60.0) -> None:
    """Return once `api_url` answers (`GET READINESS_PATH`, which no rate limit counts), or as
    soon as `stopping()` is true (the stop is then under way).

    Raises LocalStackError if a child exits meanwhile, or if the API does not answer within `timeout` s.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping():
        if exited := children.exited():
            name, code = exited[0]
            raise LocalStackError(f"{_sentence(name)} exited with status {code} while starting.")
        try:
            with urllib.request.urlopen(f"{api_url}{READINESS_PATH}", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any answer means it serves: a 429 (rate limits) or 503 is not worth retrying into
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    if not stopping():
        raise LocalStackError(f"The API did not answer on {api_url} within {timeout:.0f} s.")


def _child_commands(options: LocalStackOptions) -> dict[str, list[str]]:
    """The API, the worker, the outbox relay and the reminder sweep, by name, in the order they start.

    Raises LocalStackError when REMINDER_SWEEP_SECONDS is no number of seconds: the sweep would
    refuse it at every restart.
    """
    python, manage_py = sys.executable, str(options.manage_py)
    server = [python, manage_py, "runserver", f"127.0.0.1:{options.api_port}"]
    return {
        "the API": server if options.reload else [*server, "--noreload"],
        "the worker": [python, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO"],
        "the outbox relay": [python, manage_py, "relay_stream"],
        "the reminder sweep": [
            python,
            manage_py,
            "remind_due_tasks",
            "--loop",
            "--interval",
            f"{_reminder_seconds():g}",
        ],
    }


def _banner(api_url: str, aws_url: str, options: LocalStackOptions) -> str:
    """What is running where, shown once the API answers; its first URL opens on a page that works."""
    resources, autosave = options.resources, options.autosave_seconds
    return "\n".join(
        [
            "",
            "Task API is running:",
            f"  API         {api_url}/  (start here: links to everything, and how to authenticate)",
            *_access_lines(api_url, options),
            _rate_limits_line(),
            f"  Swagger UI  {api_url}/swagger",
            f"  OpenAPI     {api_url}/api/schema",
            f"  Local AWS   {aws_url}  (table {resources.table_name}, topic {resources.topic_name}, "
            f"queues {resources.queue_name} and {resources.webhooks_queue_name})",
            f"  Events      published as the table's stream reports them, applied by a Celery worker "
            f"(history: {api_url}/tasks/<id>/events)",
            "  Webhooks    delivered by the same worker; `manage.py webhook_listen` is a local receiver",
            f"  Reminders   due tasks swept every {_reminder_seconds():g} s (TaskDueSoon and TaskOverdue in histories)",
            f"  Data        {options.state_dir}  (every write and message journalled at once; snapshots on stop"
            + (f" and every {autosave:g} s)" if autosave else ")"),
            f"  Logs        {options.state_dir / LOG_DIRECTORY}  (a file per process; `manage.py request_trail "
            "<X-Request-ID>` shows what one request caused)",
            "  Crashes     a crashed worker, relay, reminder sweep or API is restarted; the rest keeps serving",
            "Press Ctrl-C to stop.",
            "",
        ]
    )


def _rate_limits_line() -> str:
    """The banner's line on the rate limits the API counts with (THROTTLE_USER_RATE and
    THROTTLE_IP_RATE, as `config.environment` read them; `off` where lifted), for the AUTH_MODE it
    was started with: without tokens every request is counted by its address."""
    user, ip = (settings.THROTTLE_RATES.get(scope) or "off" for scope in ("user", "ip"))
    if settings.AUTH_MODE != "jwt":
        return (
            f"  Rate limits THROTTLE_IP_RATE={ip} per address, for every request "
            f"(AUTH_MODE=none signs no one in: THROTTLE_USER_RATE={user} is unused)"
        )
    return (
        f"  Rate limits THROTTLE_USER_RATE={user} per signed-in user, "
        f"THROTTLE_IP_RATE={ip} per address for requests without a valid token"
    )


def _reminder_seconds() -> float:
    """Seconds between the reminder sweeps: REMINDER_SWEEP_SECONDS, else 60 (the deployed
    schedule's `rate(1 minute)`), checked as `remind_due_tasks --interval` checks it. Raises
    LocalStackError for a value it would refuse, which would crash the sweep at every restart."""
    text = os.environ.get(INTERVAL_VARIABLE, f"{DEFAULT_INTERVAL_SECONDS:g}")
    try:
        return interval_seconds(text)
    except ArgumentTypeError:
        raise LocalStackError(
            f"{INTERVAL_VARIABLE}={text!r}: give the seconds between reminder sweeps, like 60."
        ) from None


def _access_lines(api_url: str, options: LocalStackOptions) -> list[str]:
    """The banner's task listing, and how to authenticate, for the AUTH_MODE the API was started with.

    The children inherit this process's environment (`child_environment`), so its settings are theirs.
    """
    if settings.AUTH_MODE != "jwt":
        # With authentication off a listing must name its user: a bare /tasks is a 400.
        return [
            f"  Tasks       {api_url}/tasks?user_id={LOCAL_EXAMPLE_USER}  (AUTH_MODE=none: requests name their user)"
        ]
    listing = f"  Tasks       {api_url}/tasks  (AUTH_MODE=jwt: every request needs a bearer token)"
    if not tokens_are_local():
        return [
            listing,
            "  Token       an access token of the user pool JWT_ISSUER names, sent as Authorization: Bearer <token>",
        ]
    issue_token = f"{_manage_py(options)} issue_token"
    return [
        listing,
        f"  Token       {issue_token} <user>  (add --admin for the admin group)",
        "              prints one; send it as Authorization: Bearer <token>, e.g.",
        f'              curl -H "Authorization: Bearer $({issue_token} {LOCAL_EXAMPLE_USER})" {api_url}/tasks',
    ]


def _manage_py(options: LocalStackOptions) -> str:
    """How to run this checkout's manage.py from its directory, as the stack does ('.venv/bin/python manage.py').

    With LOCAL_STATE_DIR when the stack's state is not where a plain shell's commands look for it:
    `issue_token` signs with the key kept there, and the API trusts only that one.
    """
    checkout = options.manage_py.parent
    python = Path(sys.executable)
    shown = python.relative_to(checkout) if python.is_relative_to(checkout) else python
    default_state = (checkout / ".local").resolve()
    state = "" if options.state_dir == default_state else f"LOCAL_STATE_DIR={shlex.quote(str(options.state_dir))} "
    return f"{state}{shlex.quote(str(shown))} {options.manage_py.name}"


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

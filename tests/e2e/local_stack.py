"""`make run`'s stack as processes, for the end-to-end tests: start it, drive it, hurt it, check it.

- `RunningStack`: one `manage.py runlocal` process group on free ports, its output, HTTP helpers,
  the PIDs of its processes (found under the supervisor's PID, never by name), and an SQS client
  for its local AWS.
- `start_stack`: a fixture that starts stacks on the test's state directory and always stops them.
- `Load`: client threads creating tasks, recording every task answered 201.
- `assert_nothing_lost`: once the backlog drains, every task answered 201 exists with its whole
  history, nothing was applied twice, and each user's statistics are exact.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from django.conf import settings

from config.environment import LOCAL_ACCOUNT

STARTUP_TIMEOUT = 90
STOP_TIMEOUT = 60  # the supervisor gives the worker up to 10 s to drain, then saves
READY_LINE = "Press Ctrl-C to stop."
RUNLOCAL = [sys.executable, "manage.py", "runlocal"]
EVENTS_QUEUE = "tasks-events"
DEAD_LETTER_QUEUE = "tasks-events-dlq"
# The stack's processes by what their command line runs. Each of the API, the worker and the relay
# runs under `ops.local.orphan_guard`, whose command line holds the command it guards: the real
# process is the guard's child.
ROLES = {
    "local AWS": "ops.local.embedded_aws",
    "API": "runserver",
    "worker": "celery",
    "outbox relay": "relay_stream",
}
ORPHAN_GUARD = "ops.local.orphan_guard"


def eventually(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """`check()`'s first truthy result, polled every `interval` s; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: nothing within {timeout} s")
        time.sleep(interval)
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def base_environment(**extra: str) -> dict[str, str]:
    """A clean environment for the project's commands: none of this test process's AWS settings."""
    return {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **extra}


# The test run's own settings (tests/settings.py), handed to an API server it starts.
_TEST_SETTINGS = (
    *("ENVIRONMENT", "AUTH_MODE", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "TABLE_NAME"),
    *("TOPIC_ARN", "LOG_LEVEL", "THROTTLE_USER_RATE", "THROTTLE_IP_RATE", "LOCAL_STATE_DIR"),
)


@contextmanager
def api_server(aws_url: str, startup_timeout: float = 60, **extra: str) -> Iterator[int]:
    """`manage.py runserver --noreload` (the local stack's API server) on a free port of
    127.0.0.1, on the local AWS at `aws_url`, with the test run's settings and `extra`
    environment; yields the port, and stops it by PID."""
    port = free_port()
    env = base_environment(
        **{
            **{name: os.environ[name] for name in _TEST_SETTINGS},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "AWS_ENDPOINT_URL": aws_url,
            "EVENTS_QUEUE_URL": settings.EVENTS_QUEUE_URL,
            "EVENTS_DLQ_URL": settings.EVENTS_DLQ_URL,
            **extra,
        }
    )
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        eventually(lambda: port_is_open(port) or process.poll() is not None, startup_timeout, "runserver")
        assert process.poll() is None, f"runserver exited with status {process.returncode} while starting"
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def run_manage(*args: str, env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """`python manage.py ARGS...` in the checkout, with exactly `env`; its output captured."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_to_failure(*args: str) -> subprocess.CompletedProcess[str]:
    """runlocal with arguments that should stop it during start-up."""
    return run_manage("runlocal", "--autosave", "0", *args, env=base_environment())


# Processes


def child_pids(pid: int) -> list[int]:
    """The PIDs whose parent is `pid`: from /proc/<pid>/task/*/children, else from every /proc/<n>/stat."""
    listed = list(Path(f"/proc/{pid}/task").glob("*/children"))
    if listed:
        children: list[int] = []
        for path in listed:
            try:
                children += [int(part) for part in path.read_text().split()]
            except OSError:
                continue  # the thread is gone
        return children
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process is gone
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
        if int(text.rpartition(")")[2].split()[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def descendants(pid: int) -> list[int]:
    """Every process under `pid`, parents before their children."""
    found, waiting = [], [pid]
    while waiting:
        for child in child_pids(waiting.pop(0)):
            found.append(child)
            waiting.append(child)
    return found


def command_line(pid: int) -> list[str]:
    """The process's arguments; empty if it is gone (or a zombie)."""
    try:
        return [part for part in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0") if part]
    except OSError:
        return []


def is_alive(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie has exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in {"Z", "X"}


def is_stopped(pid: int) -> bool:
    """Whether `pid` is stopped by a signal (SIGSTOP), as `ps` shows with state T."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "T"
    except OSError:
        return False


# The stack


class RunningStack:
    """One `manage.py runlocal` process group on free ports, its output, and HTTP helpers.

    `autosave` is `--autosave`'s seconds (0: only on stop); `reload=False` passes `--no-reload`,
    which spares the reloader's polling of every source file on a busy machine.
    """

    def __init__(self, state_dir: Path, *, autosave: float = 0, reload: bool = True, **extra_env: str) -> None:
        self.state_dir = state_dir
        self.api_port, self.aws_port = free_port(), free_port()
        self.env = base_environment(HOME=str(state_dir), **extra_env)
        arguments = ["--port", str(self.api_port), "--aws-port", str(self.aws_port), "--state-dir", str(state_dir)]
        arguments += ["--autosave", f"{autosave:g}", *([] if reload else ["--no-reload"])]
        self.process = subprocess.Popen(
            [*RUNLOCAL, *arguments],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._sqs: Any = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self.wait_for(re.escape(READY_LINE), STARTUP_TIMEOUT)
        except BaseException:
            self.kill()
            raise

    @property
    def pid(self) -> int:
        """The supervisor's PID (runlocal itself: the process group's leader)."""
        return self.process.pid

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def is_running(self) -> bool:
        return self.process.poll() is None

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout: float, *, since: int = 0) -> re.Match[str]:
        """The first match of the regular expression `pattern` in the output from line `since` on.

        Raises AssertionError, with the output, if none within `timeout` s or if the stack exits first.
        """
        deadline = time.monotonic() + timeout
        while True:
            if found := re.search(pattern, "".join(self.lines[since:])):
                return found
            if time.monotonic() > deadline or self.process.poll() is not None:
                self._reader.join(timeout=1)  # the last lines of a stack that exited
                if found := re.search(pattern, "".join(self.lines[since:])):
                    return found
                raise AssertionError(f"no {pattern!r} after {timeout} s; output:\n{self.output[-6000:]}")
            time.sleep(0.1)

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        timeout: float = 10,
    ) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.api_url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def pids_of(self, role: str) -> list[int]:
        """The PIDs of the stack's processes that run `role` (a key of ROLES), found under the supervisor.

        Orphan guards are left out: for the API, the worker and the relay, these are the real
        processes, the guards' children (the API's reloader, when on, is two of them).
        """
        marker = ROLES[role]
        return [
            pid
            for pid in descendants(self.pid)
            if marker in (argv := command_line(pid)) and ORPHAN_GUARD not in argv and is_alive(pid)
        ]

    def pid_of(self, role: str, timeout: float = 30) -> int:
        """The PID of the one process running `role`; waits for it (it may be restarting)."""
        found: list[int] = eventually(lambda: self.pids_of(role), timeout, f"the {role}'s process")
        assert len(found) == 1, f"{len(found)} processes run the {role}: {found}"
        return found[0]

    def sqs(self) -> Any:
        """An SQS client for this stack's local AWS, named as this checkout's (the local AWS refuses others)."""
        from config.local_stack import client_id

        if self._sqs is None:
            self._sqs = boto3.client(
                "sqs",
                endpoint_url=self.aws_url,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(
                    user_agent_extra=f"app/{client_id(Path(settings.BASE_DIR))}", retries={"max_attempts": 1}
                ),
            )
        return self._sqs

    def queue_url(self, name: str) -> str:
        return f"{self.aws_url}/{LOCAL_ACCOUNT}/{name}"

    def queue_depth(self, name: str) -> tuple[int, int]:
        """(visible, in flight) messages on the queue `name`, without receiving any."""
        attributes = self.sqs().get_queue_attributes(
            QueueUrl=self.queue_url(name),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        """What Ctrl-C does: the signal goes to the foreground process group, the supervisor's."""
        os.killpg(self.process.pid, sig)
        code = self.process.wait(timeout=STOP_TIMEOUT)
        self._reader.join(timeout=5)  # every line it printed
        return code

    def kill(self) -> None:
        """Clean up after a test: ask nicely first, so the supervisor stops its children.

        Stopped (SIGSTOP) processes are continued first: the supervisor does that for its
        children, but a stopped supervisor could not.
        """
        if self.process.poll() is None:
            for pid in [self.pid, *descendants(self.pid)]:
                if is_stopped(pid):
                    os.kill(pid, signal.SIGCONT)
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._reader.join(timeout=5)


@pytest.fixture
def start_stack(tmp_path: Path) -> Iterator[Callable[..., RunningStack]]:
    """Starts stacks on `tmp_path / "state"` (one at a time, or they refuse); stops them after the test."""
    stacks: list[RunningStack] = []

    def start(**options: Any) -> RunningStack:
        stacks.append(RunningStack(tmp_path / "state", **options))
        return stacks[-1]

    yield start
    for stack in stacks:
        stack.kill()


# Load


@dataclass
class Load:
    """`clients` threads, each POSTing /tasks in a loop as its own user (`<prefix>-<n>`), until `stop()`.

    Each request has its own connection and a `timeout`; every answer other than 201, and every
    exception, is counted in `outcomes`, never a failure: faults are the point.
    """

    api_url: str
    prefix: str
    clients: int = 6
    timeout: float = 15.0
    created: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # task ids by user
    outcomes: Counter[str] = field(default_factory=Counter)  # "201", "500", "TimeoutError", ...
    uncertain: Counter[str] = field(default_factory=Counter)  # by user: answers that may hide a created task
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def users(self) -> list[str]:
        return [f"{self.prefix}-{n}" for n in range(self.clients)]

    @property
    def total_created(self) -> int:
        with self._lock:
            return sum(len(ids) for ids in self.created.values())

    def start(self) -> Load:
        for user in self.users:
            thread = threading.Thread(target=self._client, args=(user,), name=f"load {user}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self, *, check: bool = True) -> Load:
        """Stop the clients and wait for their last requests (each bounded by `timeout`)."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 10)
        if check:
            assert not any(thread.is_alive() for thread in self._threads), "a load client did not stop"
        return self

    def wait_for_creates(self, count: int, timeout: float = 60) -> None:
        """Until at least `count` more tasks were answered 201 than now."""
        target = self.total_created + count
        eventually(lambda: self.total_created >= target, timeout, f"{count} creates ({self.outcomes})")

    def summary(self) -> str:
        """How many tasks were created, and every outcome, for a test's output."""
        with self._lock:
            return f"{self.prefix}: {sum(map(len, self.created.values()))} created; outcomes {dict(self.outcomes)}"

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        self.stop(check=kind is None)  # a failing test's own error is the one to see

    def _client(self, user: str) -> None:
        host, port = urllib.parse.urlsplit(self.api_url).hostname, urllib.parse.urlsplit(self.api_url).port
        n = 0
        while not self._stopping.is_set():
            n += 1
            connection = http.client.HTTPConnection(str(host), port, timeout=self.timeout)
            body = json.dumps({"user_id": user, "title": f"{user} task {n}"})
            task_id, outcome = None, ""
            try:
                connection.request("POST", "/tasks", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = response.read()
                outcome = str(response.status)
                if response.status == 201:
                    task_id = str(json.loads(answer)["data"]["task_id"])
            except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
                outcome = type(error).__name__
            finally:
                connection.close()
            with self._lock:
                self.outcomes[outcome] += 1
                if task_id:
                    self.created[user].append(task_id)
                elif not outcome.startswith("4"):  # a 5xx or no answer: the task may exist all the same
                    self.uncertain[user] += 1
            if task_id is None:
                time.sleep(0.2)  # a failing stack is not hammered


# Checks


def assert_nothing_lost(
    stack: RunningStack,
    created: dict[str, list[str]],
    *,
    uncertain: Counter[str] | None = None,
    dead_letters: int = 0,
    timeout: float = 120,
) -> None:
    """After the backlog drains, nothing the stack answered is lost, and nothing is applied twice.

    `created` is the task ids answered 201, by user; `uncertain` counts, by user, requests whose
    answer was lost or an error (their task may exist all the same). Checks, polling until the
    worker has caught up (at most `timeout` s):
    - every task answered 201 exists (GET /tasks/{id} answers 200) and is in its user's list;
    - a user has no more tasks than were answered 201 plus their uncertain requests;
    - each user's statistics count every one of their tasks exactly once: pending and created
      today equal the tasks they have, the other statuses 0 (an event applied twice would count twice);
    - every task's history is exactly one TaskCreated;
    - the events queue is empty, and the dead-letter queue holds `dead_letters` messages.
    """
    uncertain = uncertain or Counter()
    users = [user for user, ids in created.items() if ids] + [
        user for user, count in uncertain.items() if count and not created.get(user)
    ]
    assert users, "nothing was created: the load did not reach the stack"
    with ThreadPoolExecutor(max_workers=6) as pool:
        task_ids = [task_id for ids in created.values() for task_id in ids]
        statuses = list(pool.map(lambda task_id: _status_of(stack, f"/tasks/{task_id}"), task_ids))
        missing = [task_id for task_id, status in zip(task_ids, statuses, strict=True) if status != 200]
        assert not missing, f"{len(missing)} of {len(task_ids)} tasks answered 201 are not found: {missing[:10]}"

        owned = dict(zip(users, pool.map(lambda user: _task_ids_of(stack, user), users), strict=True))
        for user in users:
            answered = set(created.get(user, []))
            assert answered <= owned[user], f"{user}: tasks answered 201 but not listed: {answered - owned[user]}"
            extra = owned[user] - answered
            assert len(extra) <= uncertain[user], (
                f"{user} has {len(extra)} tasks never answered 201, with only {uncertain[user]} uncertain requests"
            )

        expected = {user: len(owned[user]) for user in users}
        counted: dict[str, tuple[int, int, int]] = {}

        def target(user: str) -> tuple[int, int, int]:
            return expected[user], expected[user], 0

        def all_counted() -> bool:
            for user in users:
                if counted.get(user) != target(user):
                    counted[user] = _counts_of(stack, user)
            return all(counted[user] == target(user) for user in users)

        deadline = time.monotonic() + timeout
        while not all_counted():
            if time.monotonic() > deadline:
                wrong = {user: (counted[user], expected[user]) for user in users if counted[user] != target(user)}
                raise AssertionError(
                    f"statistics not exact after {timeout} s: (pending, created today, other statuses) "
                    f"vs tasks, by user: {wrong}; queues: {_queues(stack)}"
                )
            time.sleep(1)

        all_ids = sorted(set().union(*owned.values()))
        histories = dict(zip(all_ids, pool.map(lambda task_id: _history_of(stack, task_id), all_ids), strict=True))
    wrong_histories = {task_id: types for task_id, types in histories.items() if types != ["TaskCreated"]}
    assert not wrong_histories, (
        f"{len(wrong_histories)} of {len(all_ids)} histories are not one TaskCreated: "
        f"{dict(list(wrong_histories.items())[:10])}"
    )
    # The worker may still hold a message it applied but has not acked: give it a moment.
    eventually(lambda: stack.queue_depth(EVENTS_QUEUE) == (0, 0), 30, f"an empty events queue ({_queues(stack)})")
    assert stack.queue_depth(DEAD_LETTER_QUEUE)[0] == dead_letters, f"dead letters: {_queues(stack)}"


def _status_of(stack: RunningStack, path: str) -> int:
    return stack.request("GET", path, timeout=30)[0]


def _task_ids_of(stack: RunningStack, user: str) -> set[str]:
    """Every task `user` has (not in the trash), following the cursors."""
    ids: set[str] = set()
    cursor: str | None = None
    while True:
        query = {"user_id": user, "limit": "100", **({"cursor": cursor} if cursor else {})}
        status, body = stack.request("GET", f"/tasks?{urllib.parse.urlencode(query)}", timeout=30)
        assert status == 200, body
        ids |= {task["task_id"] for task in body["data"]}
        cursor = body["pagination"]["next_cursor"]
        if not cursor:
            return ids


def _counts_of(stack: RunningStack, user: str) -> tuple[int, int, int]:
    """(pending, created today, in any other status) from the user's statistics."""
    status, body = stack.request("GET", f"/tasks/stats?user_id={urllib.parse.quote(user)}", timeout=30)
    assert status == 200, body
    counts = body["data"]["counts"]
    others = sum(count for name, count in counts.items() if name != "pending")
    return counts["pending"], body["data"]["today"]["created"], others


def _history_of(stack: RunningStack, task_id: str) -> list[str]:
    status, body = stack.request("GET", f"/tasks/{task_id}/events", timeout=30)
    assert status == 200, body
    events = body["data"]
    assert len({event["event_id"] for event in events}) == len(events), f"an event twice in {task_id}'s history"
    return [event["event_type"] for event in events]


def _queues(stack: RunningStack) -> dict[str, tuple[int, int] | str]:
    """The depth of the events queue and the dead-letter queue, for messages; the error if unreadable."""
    depths: dict[str, tuple[int, int] | str] = {}
    for name in (EVENTS_QUEUE, DEAD_LETTER_QUEUE):
        try:
            depths[name] = stack.queue_depth(name)
        except Exception as error:  # noqa: BLE001 - a diagnostic: say what went wrong instead
            depths[name] = repr(error)
    return depths

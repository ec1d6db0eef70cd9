"""`BENCH_ONLY=local`: the local stack as `make run` starts it, under concurrent clients creating tasks.

The stack (`manage.py runlocal`, on free ports, a temporary state directory, no autosave, no
reloader) is driven by `BENCH_CLIENTS` threads (default 20), each POSTing /tasks in a loop for
`BENCH_LOAD_SECONDS` (default 20) as user `bench-<n>`. Reported: creates per second, latency
p50/p95, answers other than 201, and how long after the load stops the worker takes to drain the
backlog (until every user's `GET /tasks/stats` counts all the tasks created for them). Then the
CPU each of the stack's processes used meanwhile, and, from a short second load of
`BENCH_RECORDED_CREATES` creates (default 100) recorded by the local AWS, the AWS requests one
create costs the whole stack. Rate limits are off, as in the API
benchmark: every client here is 127.0.0.1, one IP. Target (issue 10): at least `TARGET_RATE`
creates/s, every answer a 201, the backlog drained within `TARGET_DRAIN_SECONDS`.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ops.bench.stack_process import StackProcess, cpu_between, cpu_by_role
from ops.local.embedded_aws import AwsCall

CLIENTS = 20
LOAD_SECONDS = 20.0
RECORDED_CREATES = 100  # the recorded second load: enough for the per-create averages to settle
TARGET_RATE = 50.0  # creates per second
TARGET_DRAIN_SECONDS = 10.0
DRAIN_TIMEOUT = 300.0  # seconds: give up waiting for the worker after this
REQUEST_TIMEOUT = 30.0  # seconds: a client gives up on one request after this
POLL_SECONDS = 0.2  # between two looks at a user's statistics while the backlog drains


@dataclass
class Load:
    """What the clients saw: answers by status, latencies in ms, 201s by user, and the wall time in s."""

    statuses: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    created: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def total_created(self) -> int:
        """Tasks created (201s), all users together."""
        return sum(self.created.values())

    @property
    def rate(self) -> float:
        """Creates (201s) per second of load."""
        return self.total_created / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        """Answers other than 201, errors (no answer) included."""
        return sum(count for status, count in self.statuses.items() if status != "201")

    def percentile_ms(self, fraction: float) -> float:
        """The latency (ms) that `fraction` (0 to 1) of the requests stayed under."""
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


@dataclass
class Usage:
    """CPU seconds by process role during the load and during the drain, and the drain's wall time (None: timed out)."""

    loaded: dict[str, float]
    drained: dict[str, float]
    drain_seconds: float | None


def run() -> bool:
    """Start the stack, measure, always stop it; print the figures. True if the targets are met."""
    clients = int(os.environ.get("BENCH_CLIENTS", str(CLIENTS)))
    seconds = float(os.environ.get("BENCH_LOAD_SECONDS", str(LOAD_SECONDS)))
    recorded_creates = int(os.environ.get("BENCH_RECORDED_CREATES", str(RECORDED_CREATES)))
    with tempfile.TemporaryDirectory(prefix="bench-local-") as state:
        with StackProcess(Path(state), _stack_environment(state)) as stack:
            _warm_up(stack.api_url)
            load, usage = _measured_load(stack, clients, seconds)
            calls, recorded = _recorded_load(stack, clients, recorded_creates)
        pool_full = stack.output.count("Connection pool is full")
    drain = usage.drain_seconds
    met = load.rate >= TARGET_RATE and drain is not None and drain <= TARGET_DRAIN_SECONDS and not load.failures
    _report(load, clients, drain, pool_full, met)
    _report_cpu(usage, load)
    _report_requests(calls, recorded)
    return met


def _warm_up(api_url: str) -> None:
    """One task created and counted: the API's clients and connections are made, the worker is up.
    Raises RuntimeError if the create is not a 201 or the worker does not count it within
    DRAIN_TIMEOUT: the load would measure a broken stack, and its drain would wait as long again."""
    status = _create(api_url, "bench-warmup", 0)
    if status != "201":
        raise RuntimeError(f"The stack answered the warm-up POST /tasks with {status}, not 201")
    if _wait_for_counts(api_url, Counter({"bench-warmup": 1}), DRAIN_TIMEOUT) is None:
        raise RuntimeError(f"The worker did not count the warm-up task within {DRAIN_TIMEOUT:.0f} s")


def _stack_environment(state: str) -> dict[str, str]:
    """Only what the stack needs (not this shell's AWS settings), with the rate limits off."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": state,
        "LANG": "C.UTF-8",
        "THROTTLE_USER_RATE": "off",
        "THROTTLE_IP_RATE": "off",
    }


def _measured_load(stack: StackProcess, clients: int, seconds: float) -> tuple[Load, Usage]:
    """The load of `clients` threads for `seconds`, then the drain; what the clients saw and the CPU used."""
    before = cpu_by_role(stack.pid)
    load = _drive(stack.api_url, clients, seconds, prefix="bench")
    loaded = cpu_by_role(stack.pid)
    drain = _wait_for_counts(stack.api_url, load.created, DRAIN_TIMEOUT)
    drained = cpu_by_role(stack.pid)
    return load, Usage(cpu_between(before, loaded), cpu_between(loaded, drained), drain)


def _drive(api_url: str, clients: int, seconds: float, *, prefix: str, creates: int | None = None) -> Load:
    """`clients` threads creating tasks for `seconds`, or until `creates` requests were sent in all."""
    load, lock = Load(), threading.Lock()
    deadline = time.monotonic() + seconds
    budget = [creates if creates is not None else -1]  # requests still to send; -1: no limit

    def take_one() -> bool:
        with lock:
            if budget[0] == 0:
                return False
            budget[0] -= 1
            return True

    def client(user: str) -> None:
        n = 0
        while time.monotonic() < deadline and take_one():
            started = time.perf_counter()
            status = _create(api_url, user, n)
            elapsed_ms = (time.perf_counter() - started) * 1000
            with lock:
                load.statuses[status] += 1
                load.latencies_ms.append(elapsed_ms)
                load.created[user] += status == "201"
            n += 1

    threads = [threading.Thread(target=client, args=(f"{prefix}-{n}",)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.seconds = time.perf_counter() - started
    return load


def _create(api_url: str, user: str, n: int) -> str:
    """POST /tasks on a new connection; the answer's status, or the exception's name."""
    host, port = api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=REQUEST_TIMEOUT)
    body = json.dumps({"user_id": user, "title": f"bench task {n}"})
    try:
        connection.request("POST", "/tasks", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return str(response.status)
    except (OSError, http.client.HTTPException) as error:
        return type(error).__name__
    finally:
        connection.close()


def _wait_for_counts(api_url: str, created: Counter[str], timeout: float) -> float | None:
    """Seconds until each user's statistics count every task created for them; None on timeout.

    One user at a time, every POLL_SECONDS: asking for all of them at once would load the stack
    that is draining (each ask is a DynamoDB read behind the same lock as the worker's)."""
    started = time.perf_counter()
    for user in (user for user, count in created.items() if count):
        while _counted(api_url, user) < created[user]:
            if time.perf_counter() - started > timeout:
                return None
            time.sleep(POLL_SECONDS)
    return time.perf_counter() - started


def _counted(api_url: str, user: str) -> int:
    """How many tasks `user`'s statistics count, over all statuses."""
    with urllib.request.urlopen(f"{api_url}/tasks/stats?user_id={user}", timeout=REQUEST_TIMEOUT) as response:
        counts: dict[str, int] = json.loads(response.read())["data"]["counts"]
    return sum(counts.values())


def _recorded_load(stack: StackProcess, clients: int, creates: int) -> tuple[Counter[tuple[str, str]], int]:
    """`creates` more creates, drained, with the local AWS's recorder on: the AWS requests by
    (service, operation), and how many tasks were created meanwhile."""
    _moto_api(stack.aws_url, "recorder/reset-recording")
    _moto_api(stack.aws_url, "recorder/start-recording")
    try:
        load = _drive(stack.api_url, clients, DRAIN_TIMEOUT, prefix="recorded", creates=creates)
        _wait_for_counts(stack.api_url, load.created, DRAIN_TIMEOUT)
    finally:
        _moto_api(stack.aws_url, "recorder/stop-recording")
    lines = _moto_api(stack.aws_url, "recorder/download-recording").splitlines()
    calls = Counter((call.service, call.operation) for call in (AwsCall.from_entry(json.loads(x)) for x in lines if x))
    return calls, load.total_created


def _moto_api(aws_url: str, path: str) -> str:
    """POST to the local AWS's /moto-api/`path` (the request recorder); the answer's text."""
    request = urllib.request.Request(f"{aws_url}/moto-api/{path}", method="POST")
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
        return str(response.read().decode())


def _report(load: Load, clients: int, drain: float | None, pool_full: int, met: bool) -> None:
    """The clients' figures, the drain's, the pool warnings, and whether the targets were met."""
    others = ", ".join(f"{status}: {count}" for status, count in load.statuses.items() if status != "201") or "none"
    drained = f"{drain:.1f} s" if drain is not None else f"not within {DRAIN_TIMEOUT:.0f} s"
    print(f"\nThe local stack (manage.py runlocal), {clients} concurrent clients creating tasks, rate limits off\n")
    print(f"  {load.total_created} tasks created in {load.seconds:.1f} s: {load.rate:.1f} creates/s")
    print(f"  latency p50 {statistics.median(load.latencies_ms or [0]):.0f} ms, p95 {load.percentile_ms(0.95):.0f} ms")
    print(f"  answers other than 201: {others}")
    print(f"  backlog drained (every user's stats count all their tasks) {drained} after the load stopped")
    print(f"  'Connection pool is full' in the stack's output: {pool_full} times")
    print(
        f"  target: at least {TARGET_RATE:.0f} creates/s, all 201, drained within {TARGET_DRAIN_SECONDS:.0f} s: "
        f"{'met' if met else 'MISSED'}"
    )


def _report_cpu(usage: Usage, load: Load) -> None:
    """CPU by process during the load and the drain; then what one create costs each process end
    to end, which bounds the rate sustainable with the worker keeping up: a Python process uses at
    most one core (the GIL), and all of them together at most the machine's."""
    cores = os.cpu_count() or 1
    print(f"\n  CPU seconds by process ({cores} cores): during the load ({load.seconds:.0f} s), then the drain")
    for role in sorted(usage.loaded, key=lambda name: -usage.loaded[name]):
        used, share = usage.loaded[role], usage.loaded[role] / load.seconds * 100 if load.seconds else 0.0
        print(f"    {role:<20} {used:6.1f} s ({share:3.0f}% of a core)   {usage.drained.get(role, 0.0):6.1f} s")
    loaded, drained = sum(usage.loaded.values()), sum(usage.drained.values())
    machine = loaded / load.seconds / cores * 100 if load.seconds else 0.0
    drain = usage.drain_seconds or 0.0
    print(f"    {'all':<20} {loaded:6.1f} s ({machine:3.0f}% of the machine)   {drained:6.1f} s in {drain:.1f} s")
    if not load.total_created or usage.drain_seconds is None:
        return
    per_create = {
        role: (usage.loaded[role] + usage.drained.get(role, 0.0)) / load.total_created * 1000 for role in usage.loaded
    }
    busiest = max(per_create, key=lambda role: per_create[role])
    total = sum(per_create.values())
    ranked = sorted(per_create.items(), key=lambda item: -item[1])
    shown = ", ".join(f"{role} {ms:.0f}" for role, ms in ranked if ms >= 1)
    print(f"  CPU per create, load and drain, in ms: {shown}; in all {total:.0f}")
    print(
        f"  so, with the worker keeping up, at most {1000 / per_create[busiest]:.0f} creates/s for the {busiest} "
        f"(one core) and {cores * 1000 / total:.0f} creates/s for the {cores} cores"
    )


def _report_requests(calls: Counter[tuple[str, str]], creates: int) -> None:
    """The recorded AWS requests by service and operation, per task created while recording."""
    if not creates:
        return
    print(f"\n  AWS requests per create, recorded over {creates} creates until drained (the whole stack):")
    for (service, operation), count in sorted(calls.items(), key=lambda item: -item[1]):
        print(f"    {service:<9} {operation:<22} {count / creates:6.2f}")
    dynamodb = sum(count for (service, _), count in calls.items() if service == "dynamodb")
    print(f"    DynamoDB in all: {dynamodb / creates:.2f}, each behind the local AWS's one DynamoDB lock")
    print("    (BatchGetItem is this benchmark's own GET /tasks/stats while it waits for the drain)")

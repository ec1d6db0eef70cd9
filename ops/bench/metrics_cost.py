"""What the EMF metrics (`tasks_app.adapters.metrics`) cost: AWS requests (none: the target),
request time, and the cold start of importing Powertools.

- Requests: one call of each operation recorded on the wire with metrics on and with them off
  (`POWERTOOLS_METRICS_DISABLED`, Powertools' own switch, which the middleware honours): the
  same requests, and none to CloudWatch or CloudWatch Logs.
- Time: the same operations through the Lambda handler, warm, in interleaved rounds with metrics
  on and off (which goes first alternates); median and p95 of each, and the difference. The
  local AWS's own time varies far more than the metrics take, so the metrics' own work is also
  timed alone: writing one request's line, many times over.
- Cold start: fresh interpreters that first import what the function imports anyway (boto3,
  Django, DRF, PynamoDB), then `aws_lambda_powertools.metrics`; the median of the last import.

While the benchmark runs, the EMF lines go to a sink that counts them (`Sink`), not into its tables.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ops.bench import capacity
from ops.bench.harness import BenchStack
from ops.bench.lambda_api import LambdaApi
from ops.bench.operations import user
from ops.bench.targets import Timing

SWITCH = "POWERTOOLS_METRICS_DISABLED"
FORBIDDEN_SERVICES = frozenset({"monitoring", "logs"})  # CloudWatch's and CloudWatch Logs' signing names
ALONE_CALLS = 2000
IMPORT_RUNS = 9
IMPORT_PRELUDE = "import boto3, django, rest_framework, pynamodb.models, jmespath, typing_extensions"
IMPORT_PROBE = (
    f"{IMPORT_PRELUDE}\nimport time\nstarted = time.perf_counter()\nimport aws_lambda_powertools.metrics\n"
    "print((time.perf_counter() - started) * 1000)"
)


class Sink(io.TextIOBase):
    """Where EMF lines go during the benchmark: counted, then dropped."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)

    def writable(self) -> bool:
        return True


def run(stack: BenchStack, api: LambdaApi, rounds: int, tidy: Callable[[], None], sink: Sink) -> bool:
    """Print the metrics' cost; True if they made no AWS request of their own."""
    task = api.call("POST", "/tasks", user=user(0), body={"title": "metrics bench"}).body["data"]
    operations: dict[str, Callable[[], dict[str, Any]]] = {
        "get (tasks.retrieve)": lambda: api.event("GET", f"/tasks/{task['task_id']}", user=user(0)),
        "create (tasks.create)": _creates(api),
    }
    print(f"\nMetrics (EMF lines on stdout), on against off, through the Lambda handler: {rounds} rounds, ms\n")
    header = (
        f"{'operation':<22} {'on p50':>7} {'p95':>6} {'off p50':>7} {'p95':>6} {'added p50':>9}  AWS requests on / off"
    )
    print(header)
    print("-" * len(header))
    no_requests = True
    for name, event in operations.items():
        on_calls, off_calls = _recorded(stack, api, event(), on=True), _recorded(stack, api, event(), on=False)
        # A read and its rate count run side by side, so only the multiset of requests is comparable.
        same = Counter(on_calls) == Counter(off_calls) and not {service for service, _ in on_calls} & FORBIDDEN_SERVICES
        no_requests &= same
        on, off = _rounds(api, event, rounds)
        print(
            f"{name:<22} {on.median:>7.2f} {on.p95:>6.1f} {off.median:>7.2f} {off.p95:>6.1f} "
            f"{on.median - off.median:>+9.2f}  {_describe(on_calls)} / {_describe(off_calls)}  "
            f"{'met: none added' if same else 'MISSED: metrics changed the requests'}"
        )
        tidy()
    lines_before = sink.lines
    alone = _alone()
    print(
        f"\nThe metrics' own work for one request (its line: Requests + Latency, from the line Powertools "
        f"built for its operation, written): {alone * 1_000_000:.0f} us\n"
        f"(median of {ALONE_CALLS} calls; {sink.lines - lines_before} lines). "
        "The on/off difference above is that, within the local AWS's noise.\n"
        f"Cold start: importing aws_lambda_powertools.metrics after boto3, Django, DRF and PynamoDB: "
        f"{_import_ms():.1f} ms (median of {IMPORT_RUNS} fresh interpreters).\n"
        f"Target: metrics add no AWS request ({'met' if no_requests else 'MISSED'}). EMF lines written during "
        f"the API benchmark: {sink.lines}."
    )
    return no_requests


def _creates(api: LambdaApi) -> Callable[[], dict[str, Any]]:
    count = iter(range(1, 10**9))

    def event() -> dict[str, Any]:
        number = next(count)
        return api.event("POST", "/tasks", user=user(number), body={"title": f"metrics bench {number}"})

    return event


def _recorded(stack: BenchStack, api: LambdaApi, event: dict[str, Any], *, on: bool) -> list[tuple[str, str]]:
    with _metrics(on=on), capacity.recorded(stack.aws) as requests:
        api.invoke(event)
    return [(request.service, request.operation) for request in requests]


def _rounds(api: LambdaApi, event: Callable[[], dict[str, Any]], rounds: int) -> tuple[Timing, Timing]:
    times: dict[bool, list[float]] = {True: [], False: []}
    for number in range(rounds + 5):  # five rounds of warm-up
        for on in (True, False) if number % 2 else (False, True):
            call = event()
            with _metrics(on=on):
                started = time.perf_counter()
                api.invoke(call)
                elapsed = (time.perf_counter() - started) * 1000
            if number >= 5:
                times[on].append(elapsed)
    return Timing.of(times[True]), Timing.of(times[False])


@contextmanager
def _metrics(*, on: bool) -> Iterator[None]:
    """Metrics on or off inside the block, by Powertools' own switch."""
    before = os.environ.pop(SWITCH, None)
    if not on:
        os.environ[SWITCH] = "true"
    try:
        yield
    finally:
        os.environ.pop(SWITCH, None)
        if before is not None:
            os.environ[SWITCH] = before


def _alone() -> float:
    """Seconds one request's metrics take: `record_request`, median over batches of 100 calls."""
    from tasks_app.adapters import metrics

    batches = []
    with _metrics(on=True):
        for _ in range(ALONE_CALLS // 100):
            started = time.perf_counter()
            for _ in range(100):
                metrics.record_request(operation="tasks.retrieve", status=200, latency_ms=3.2, request_id="bench")
            batches.append((time.perf_counter() - started) / 100)
    return statistics.median(batches)


def _import_ms() -> float:
    """Milliseconds of `import aws_lambda_powertools.metrics` in a fresh interpreter, after the
    function's other big imports (median of `IMPORT_RUNS`: a busy machine makes single runs vary 3x)."""
    times = []
    for _ in range(IMPORT_RUNS):
        done = subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True)
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def _describe(calls: list[tuple[str, str]]) -> str:
    return " + ".join(operation for _, operation in calls) or "-"

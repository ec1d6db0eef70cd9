"""DynamoDB requests, write units and median latency per API operation, next to bare PynamoDB doing the same.

Each operation runs in-process through the WSGI application (what runserver and Zappa call)
against the embedded local AWS, alternating with bare PynamoDB calls that make the same
DynamoDB requests (`operations`). Latency is to the complete response; the relay that publishes
the request's events runs after it (when the server closes the response) and is shown apart.
Requests and write units are those of one call of each way, recorded on the wire (`capacity`).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ops.bench import capacity
from ops.bench.harness import call_wsgi
from ops.bench.operations import RARE_EVERY, Operation
from ops.local.embedded_aws import EmbeddedAws

# 100 interleaved rounds take about 5 minutes for the table on a busy 2-core machine; 300 (the
# default while there were 4 operations) would take about 13 now, mostly relaying after responses.
ROUNDS = 100
WARMUP = 10
# A page of 50 costs moto about 1.5 ms per item to serialize, ten times a single-task request:
# pages run rounds // PAGE_ROUNDS_DIVISOR rounds (at least MIN_PAGE_ROUNDS), after PAGE_WARMUP.
PAGE_ROUNDS_DIVISOR = 5
MIN_PAGE_ROUNDS = 10
PAGE_WARMUP = 3
MAX_RATIO = 1.5
INDEX_NOTE = (
    "Not in WCU: the index writes DynamoDB adds, each at least 1 WCU (an entry is the item's size + 100 bytes):\n"
    "a live task is in GSI1-3, so a create or an update writes 3 (4 if the due date changes: it moves in GSI3);\n"
    "a status action 4 (the task moves within GSI2); delete and restore 4 (it moves within GSI1, and leaves or\n"
    "rejoins GSI2 and GSI3)."
)


@dataclass(frozen=True)
class Row:
    requests: Counter[str]
    writes: capacity.Writes
    api_ms: float
    bare_ms: float
    added_ms: float  # median over rounds of the API's time minus the bare calls' in the same round
    relay: str
    problems: list[str]

    @property
    def ratio(self) -> float:
        return self.api_ms / self.bare_ms


def run(aws: EmbeddedAws, rounds: int = ROUNDS) -> bool:
    """Print the table; True if every target is met."""
    from ops.bench.operations import prepare

    page_rounds = max(MIN_PAGE_ROUNDS, rounds // PAGE_ROUNDS_DIVISOR)
    bench = prepare(calls=1 + WARMUP + rounds)  # per change and side: the recorded call, warm-up, rounds
    header = (
        f"{'operation':<26} {'DynamoDB req':>12}  {'requests in the request':<28} {'WCU':<20} {'API p50 ms':>10} "
        f"{'bare p50 ms':>11} {'ratio':>6} {'+ms':>6}  {'after the response (relay)':<28} target"
    )
    print(
        f"\nAPI against bare PynamoDB: {rounds} rounds each (pages {page_rounds}), in-process over WSGI, "
        "local AWS (moto)\n"
    )
    print(header)
    print("-" * len(header))
    all_met = True
    answers: dict[str, list[Any]] = {}
    notes: list[str] = []
    for operation in bench.operations:
        row, body = _measure(aws, operation, page_rounds if operation.page else rounds, answers)
        bench.tidy()
        all_met &= not row.problems
        print(
            f"{operation.name:<26} {row.requests.total():>12}  {capacity.describe(row.requests):<28} "
            f"{row.writes!s:<20} {row.api_ms:>10.2f} {row.bare_ms:>11.2f} {row.ratio:>6.2f} {row.added_ms:>6.1f}  "
            f"{row.relay:<28} "
            f"{'MISSED: ' + '; '.join(row.problems) if row.problems else 'met'}"
        )
        if operation.name.startswith("page: tag"):
            cursor = "with" if body.get("pagination", {}).get("next_cursor") else "without"
            notes.append(
                f"The tag page read {row.requests['Query']} Queries of up to 51 tasks (1 in {RARE_EVERY} has the tag) "
                f"and answered {len(body['data'])} tasks, {cursor} a next_cursor."
            )
    print(
        f"\nTargets: the DynamoDB requests shown, made inside the request; API p50 at most {MAX_RATIO}x bare; the\n"
        "bare calls make requests of the same shape (operation, index, expressions, items) writing as many units.\n"
        "A change reads the task (consistent GetItem), then writes it in one TransactWriteItems conditioned on the\n"
        "version read, with its events as outbox items (and the Idempotency-Key's record, when given).\n"
        "WCU: write capacity units of one call, from the items in its recorded TransactWriteItems: 2 per started\n"
        "KB of each item (ops/bench/capacity.py). Asked on the bare calls (ReturnConsumedCapacity=TOTAL), moto\n"
        f"answered {capacity.summarize_capacity(answers)}: constants, not the items' cost.\n"
        "+ms: the median, over rounds, of the API's time minus the bare calls' in the same round: what the app\n"
        "adds to the same requests. moto answers a page slowly (about 1.5 ms per task), so the ratio of a page\n"
        "understates the app's share against DynamoDB; +ms does not.\n"
        f"{INDEX_NOTE}"
    )
    for note in notes:
        print(note)
    _rate_limit_cost(aws, bench.sample, rounds)
    return all_met


def _measure(
    aws: EmbeddedAws, operation: Operation, rounds: int, answers: dict[str, list[Any]]
) -> tuple[Row, dict[str, Any]]:
    """One call of each way recorded, then warm-up and `rounds` rounds alternating them."""
    with capacity.recorded(aws) as through_api:
        body, close = operation.through_api()
    with capacity.recorded(aws) as after:
        close()
    with capacity.recorded(aws) as bare, capacity.reported_capacity() as reported:
        operation.bare()
    for name, values in reported.items():
        answers.setdefault(name, []).extend(values)
    api_times, bare_times, relay_times, added = [], [], [], []
    warmup = PAGE_WARMUP if operation.page else WARMUP
    for round_number in range(rounds + warmup):
        started = time.perf_counter()
        _, close = operation.through_api()
        responded = time.perf_counter()
        close()
        relayed = time.perf_counter()
        bare_elapsed = _timed(operation.bare)
        if round_number >= warmup:
            api_times.append((responded - started) * 1000)
            relay_times.append((relayed - responded) * 1000)
            bare_times.append(bare_elapsed)
            added.append(api_times[-1] - bare_elapsed)
    requests, writes = capacity.by_operation(through_api), capacity.writes(through_api)
    problems = []
    if dict(requests) != operation.expected:
        problems.append(f"expected {capacity.describe(Counter(operation.expected))}")
    if [capacity.shape(call) for call in capacity.dynamodb(bare)] != [
        capacity.shape(call) for call in capacity.dynamodb(through_api)
    ]:
        problems.append(f"bare made {capacity.describe(capacity.by_operation(bare))}, other requests")
    bare_writes = capacity.writes(bare)  # sizes differ by a few bytes (ids, times): compare what is billed
    if (bare_writes.items, bare_writes.units) != (writes.items, writes.units):
        problems.append(f"bare wrote {bare_writes}")
    api_ms, bare_ms = statistics.median(api_times), statistics.median(bare_times)
    if api_ms > MAX_RATIO * bare_ms:
        problems.append(f"ratio over {MAX_RATIO}")
    relay = f"{statistics.median(relay_times):5.1f} ms, {len(after)} AWS requests" if after else "-"
    return Row(requests, writes, api_ms, bare_ms, statistics.median(added), relay, problems), body


def _rate_limit_cost(aws: EmbeddedAws, task_id: str, rounds: int) -> None:
    """What the shared rate limit adds to every request (here the per-IP one; a token adds the per-user one)."""
    from django.conf import settings

    def get() -> None:
        call_wsgi("GET", f"/tasks/{task_id}")[1]()

    without = [_timed(get) for _ in range(rounds)]
    settings.THROTTLE_RATES = {"user": "1000000/min", "ip": "1000000/min"}
    try:
        with aws.recording() as calls:
            get()
        with_limit = [_timed(get) for _ in range(rounds)]
    finally:
        settings.THROTTLE_RATES = {"user": None, "ip": None}
    extra = sum(1 for call in calls if call.service == "dynamodb") - 1
    print(
        f"Rate limits on (off above): +{extra} DynamoDB request(s) per anonymous request; get p50 "
        f"{statistics.median(with_limit):.2f} ms instead of {statistics.median(without):.2f} ms."
    )


def _timed(operation: Callable[[], object]) -> float:
    started = time.perf_counter()
    operation()
    return (time.perf_counter() - started) * 1000

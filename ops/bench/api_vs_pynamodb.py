"""DynamoDB requests and median latency per API operation, next to bare PynamoDB doing the same.

Each operation runs in-process through the WSGI application (what runserver and Zappa call)
against the embedded local AWS, alternating with bare PynamoDB calls that make the same
DynamoDB requests. Latency is to the complete response; the relay that publishes the
request's events runs after it (when the server closes the response) and is shown apart.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ops.bench.harness import call_wsgi

ROUNDS = 300
WARMUP = 30
USER = "bench-user"
MAX_RATIO = 1.5
# DynamoDB requests inside the request. Complete reads before it writes: the transaction that
# stores the change must hold its events, and they need the task as it was.
EXPECTED = {"create": 1, "get": 1, "list (one page)": 1, "complete": 2}


def run(aws: Any, rounds: int = ROUNDS) -> bool:
    """Print the table; True if every target is met."""
    from pynamodb.transactions import TransactWrite

    from tasks_app import bootstrap
    from tasks_app.adapters.dynamodb.models import OutboxItem, TaskItem
    from tasks_app.application.ports import OutboxEntry
    from tasks_app.domain.task import Task
    from tasks_app.domain.values import UserId

    connection = bootstrap.table_connection()  # binds the models, as the first request would

    def api(method: str, path: str, body: dict[str, Any] | None = None) -> Callable[[], None]:
        return call_wsgi(method, path, body)[1]

    def created_id() -> str:
        body, close = call_wsgi("POST", "/tasks", {"user_id": USER, "title": "bench"})
        close()
        return str(body["data"]["task_id"])

    def bare_write(task: Task, condition: Any) -> None:
        with TransactWrite(connection=connection) as transaction:
            transaction.save(TaskItem.from_domain(task), condition=condition)
            for event in task.pull_events():
                transaction.save(OutboxItem.from_entry(OutboxEntry.from_event(event)))

    def bare_create() -> None:
        task = Task.create(user_id=UserId(USER), title="bench", now=datetime.now(UTC))
        bare_write(task, TaskItem.pk.does_not_exist())

    def bare_complete() -> None:
        key = TaskItem.key(pending_bare.pop())
        task = TaskItem.get(key, key, consistent_read=True).to_domain()
        task.complete(datetime.now(UTC))
        bare_write(task, TaskItem.version == task.stored_version)

    for _ in range(120):
        created_id()
    sample = created_id()
    pending_api = [created_id() for _ in range(rounds + WARMUP + 1)]
    pending_bare = [created_id() for _ in range(rounds + WARMUP + 1)]
    bootstrap.relay_all()

    operations: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "create": (lambda: api("POST", "/tasks", {"user_id": USER, "title": "t"}), bare_create),
        "get": (
            lambda: api("GET", f"/tasks/{sample}"),
            lambda: TaskItem.get(TaskItem.key(sample), TaskItem.key(sample), consistent_read=True),
        ),
        "list (one page)": (
            lambda: api("GET", f"/tasks?user_id={USER}"),
            lambda: list(TaskItem.by_user.query(f"USER#{USER}", scan_index_forward=False, limit=51, page_size=51)),
        ),
        "complete": (lambda: api("POST", f"/tasks/{pending_api.pop()}/complete"), bare_complete),
    }
    header = (
        f"{'operation':<16} {'DynamoDB req':>12} {'API p50 ms':>11} {'bare p50 ms':>12} {'ratio':>6}  "
        f"{'after the response (relay)':<28} target"
    )
    print(f"\nAPI against bare PynamoDB: {rounds} rounds each, in-process over WSGI, local AWS (moto)\n")
    print(header)
    print("-" * len(header))
    all_met = True
    for name, (through_api, bare) in operations.items():
        with aws.recording() as in_request:
            close = through_api()
        with aws.recording() as after:
            close()
        api_times, bare_times, relay_times = [], [], []
        for round_number in range(rounds + WARMUP):
            started = time.perf_counter()
            close = through_api()
            responded = time.perf_counter()
            close()
            relayed = time.perf_counter()
            bare_elapsed = _timed(bare)
            if round_number >= WARMUP:
                api_times.append((responded - started) * 1000)
                relay_times.append((relayed - responded) * 1000)
                bare_times.append(bare_elapsed)
        requests = sum(1 for call in in_request if call.service == "dynamodb")
        ratio = statistics.median(api_times) / statistics.median(bare_times)
        met = requests == EXPECTED[name] and ratio <= MAX_RATIO
        all_met &= met
        relay_text = f"{statistics.median(relay_times):5.1f} ms, {len(after)} AWS requests" if after else "-"
        print(
            f"{name:<16} {requests:>12} {statistics.median(api_times):>11.2f} {statistics.median(bare_times):>12.2f} "
            f"{ratio:>6.2f}  {relay_text:<28} {'met' if met else 'MISSED'}"
        )
    print(
        f"\nTargets: DynamoDB requests in the request {EXPECTED}; API p50 at most {MAX_RATIO}x bare.\n"
        "Complete reads before its transaction, which holds the change and its outbox events."
    )
    _rate_limit_cost(aws, api, sample, rounds)
    return all_met


def _rate_limit_cost(aws: Any, api: Callable[..., Callable[[], None]], task_id: str, rounds: int) -> None:
    """What the shared rate limit adds to every request (here the per-IP one; a token adds the per-user one)."""
    from django.conf import settings

    def get() -> None:
        api("GET", f"/tasks/{task_id}")()

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

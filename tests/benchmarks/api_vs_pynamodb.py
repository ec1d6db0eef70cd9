"""`make bench`: DynamoDB requests and median latency per API operation, next to bare PynamoDB.

Each operation runs in-process through the WSGI application (what runserver and Zappa call)
against the embedded local AWS, alternating with the bare calls that do the same AWS work:
the PynamoDB call(s), plus the SNS PublishBatch where the API publishes events. The ratio of
the two medians is the API's own overhead: Django, DRF, validation, the domain, rendering.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tasks_app.infrastructure.local_aws import LocalAws

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "300"))
WARMUP = 30
USER = "bench-user"
MAX_RATIO = 1.5
EXPECTED_DYNAMODB_REQUESTS = {"create": (0, 1), "get": (1, 1), "list (one page)": (1, 1), "complete": (1, 1)}


def main() -> int:
    with LocalAws() as aws:
        os.environ.update(
            {"ENVIRONMENT": "development", "AWS_ENDPOINT_URL": aws.url, "TABLE_NAME": "bench", "LOG_LEVEL": "WARNING"}
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        return run(aws)


def run(aws: LocalAws) -> int:
    from django.conf import settings
    from django.core.management import call_command

    from config.wsgi import application
    from tasks_app import bootstrap
    from tasks_app.adapters.dynamodb.models import TaskItem
    from tasks_app.adapters.sns import sns_entry
    from tasks_app.domain.task import Task
    from tasks_app.domain.values import UserId

    call_command("provision", stdout=io.StringIO())
    bootstrap.task_repository()  # binds the model to the table, as the first request would
    sns = bootstrap.aws_target().client("sns")

    def api(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return call_wsgi(application, method, path, body)

    def new_item() -> tuple[TaskItem, Task]:
        task = Task.create(user_id=UserId(USER), title="bench", now=datetime.now(UTC))
        return TaskItem.from_domain(task), task

    def bare_publish(task: Task) -> None:
        entries = [sns_entry(str(i), event) for i, event in enumerate(task.pull_events())]
        sns.publish_batch(TopicArn=settings.TOPIC_ARN, PublishBatchRequestEntries=entries)

    for _ in range(120):
        api("POST", "/tasks", {"user_id": USER, "title": "seed"})
    sample_id = api("POST", "/tasks", {"user_id": USER, "title": "sample"})["data"]["task_id"]
    pending_api = [
        api("POST", "/tasks", {"user_id": USER, "title": "c"})["data"]["task_id"] for _ in range(ROUNDS + WARMUP + 1)
    ]
    pending_bare = []
    for _ in range(ROUNDS + WARMUP + 1):
        item, task = new_item()
        item.save()
        task.pull_events()  # published when it was created; completing publishes only its own two
        pending_bare.append((item, task))

    def bare_create() -> None:
        item, task = new_item()
        item.save(condition=TaskItem.pk.does_not_exist())
        bare_publish(task)

    def bare_complete() -> None:
        item, task = pending_bare.pop()
        now = datetime.now(UTC)
        item.update(
            actions=[TaskItem.status.set("completed"), TaskItem.updated_at.set(now), TaskItem.completed_at.set(now)],
            condition=TaskItem.status.is_in("pending", "in_progress"),
        )
        task.complete(now)
        bare_publish(task)

    operations: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "create": (lambda: api("POST", "/tasks", {"user_id": USER, "title": "t"}), bare_create),
        "get": (
            lambda: api("GET", f"/tasks/{sample_id}"),
            lambda: TaskItem.get(f"TASK#{sample_id}", f"TASK#{sample_id}", consistent_read=True),
        ),
        "list (one page)": (
            lambda: api("GET", f"/tasks?user_id={USER}"),
            lambda: list(TaskItem.by_user.query(f"USER#{USER}", scan_index_forward=False, limit=51, page_size=51)),
        ),
        "complete": (lambda: api("POST", f"/tasks/{pending_api.pop()}/complete"), bare_complete),
    }

    rows = []
    for name, (through_api, bare) in operations.items():
        with aws.recording() as api_calls:
            through_api()
        with aws.recording() as bare_calls:
            bare()
        api_times, bare_times = [], []
        for round_number in range(ROUNDS + WARMUP):
            api_elapsed, bare_elapsed = timed(through_api), timed(bare)
            if round_number >= WARMUP:
                api_times.append(api_elapsed)
                bare_times.append(bare_elapsed)
        rows.append((name, api_calls, bare_calls, api_times, bare_times))
    return report(rows)


def timed(operation: Callable[[], object]) -> float:
    start = time.perf_counter()
    operation()
    return (time.perf_counter() - start) * 1000


def call_wsgi(application: Any, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
    """What a WSGI server does, up to the point the client has the whole response."""
    raw = json.dumps(body).encode() if body is not None else b""
    route, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": route, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1", "wsgi.input": io.BytesIO(raw), "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(raw)), "wsgi.errors": sys.stderr,
    }  # fmt: skip
    status: list[str] = []
    result = application(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        payload = b"".join(result)
    finally:
        result.close()
    if not status[0].startswith("2"):
        raise RuntimeError(f"{method} {path}: {status[0]} {payload!r}")
    return dict(json.loads(payload))


def report(rows: list[tuple[str, list[Any], list[Any], list[float], list[float]]]) -> int:
    header = (
        f"{'operation':<16} {'DynamoDB req':>12} {'other AWS req':>16} {'API p50 ms':>11} {'bare p50 ms':>12} "
        f"{'ratio':>6}  target"
    )
    print(f"\n{ROUNDS} rounds per operation, in-process over WSGI, against the local AWS (moto)\n")
    print(header)
    print("-" * len(header))
    missed = 0
    for name, api_calls, bare_calls, api_times, bare_times in rows:
        dynamodb = [c for c in api_calls if c.service == "dynamodb"]
        others = [f"{c.service}:{c.operation}" for c in api_calls if c.service != "dynamodb"]
        bare_dynamodb = [c for c in bare_calls if c.service == "dynamodb"]
        api_p50, bare_p50 = statistics.median(api_times), statistics.median(bare_times)
        ratio = api_p50 / bare_p50
        low, high = EXPECTED_DYNAMODB_REQUESTS[name]
        ok = low <= len(dynamodb) <= high and ratio <= MAX_RATIO and len(bare_dynamodb) == len(dynamodb)
        missed += not ok
        print(
            f"{name:<16} {len(dynamodb):>12} {', '.join(others) or '-':>16} {api_p50:>11.2f} {bare_p50:>12.2f} "
            f"{ratio:>6.2f}  {'met' if ok else 'MISSED'}"
        )
    print("\nTargets: get, a list page and complete make exactly 1 DynamoDB request, create at most 1;")
    print(f"API p50 at most {MAX_RATIO}x the bare calls' p50. Bare calls make the same AWS requests.")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())

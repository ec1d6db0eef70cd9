"""Events through the whole pipeline: outbox relay, SNS, SQS, a Celery worker, the read models.

Throughput: a backlog of events waits in the outbox; the clock runs from the relay starting
to the last one counted in the statistics. Latency: from an API response to the task's first
history entry being readable, its event relayed from the table's stream by the function's
stream handler, as deployed, the stream read continuously (Lambda's poller reads each shard
about 4 times a second: the `stack` part's relay lag is the local stack's, polling twice).

Sizes: `BACKLOG` events (`BENCH_PIPELINE_BACKLOG`), `LATENCY_SAMPLES` creates
(`BENCH_PIPELINE_SAMPLES`). Raises RuntimeError if the relay publishes another number of events
than the backlog holds, or if an event does not reach the read models within `WAIT_TIMEOUT`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from ops.bench.harness import BenchStack, call_wsgi, relay_as_lambda, stream_follower
from ops.bench.targets import Timing
from ops.local.stream_relay import StreamFollower
from ops.local.worker_process import Worker

BACKLOG = 500
LATENCY_SAMPLES = 60
WAIT_TIMEOUT = 120.0  # seconds for the events to reach the read models: a busy machine's worst, not a target


def run(stack: BenchStack, backlog: int = BACKLOG, samples: int = LATENCY_SAMPLES) -> None:
    """Print the throughput of a `backlog` of events and the latency of `samples` creates."""
    with tempfile.TemporaryDirectory() as logs:
        worker = Worker(stack.aws.url, Path(logs) / "worker.log")
        try:
            _throughput(backlog)
            _latency(samples, stack.bearer("bench-latency"))
        finally:
            worker.stop()


def _throughput(count: int) -> None:
    from events_app import bootstrap as events_wiring
    from tasks_app import bootstrap
    from tasks_app.domain.task import Task
    from tasks_app.domain.values import UserId

    repository, read_models = bootstrap.task_repository(), events_wiring.read_models()
    for _ in range(count):
        repository.add(Task.create(user_id=UserId("bench-backlog"), title="t", now=datetime.now(UTC)))
    started = time.perf_counter()
    relayed = bootstrap.relay_all(settle=timedelta(0))
    relay_seconds = time.perf_counter() - started
    if relayed.published != count:  # the statistics would never count them all: say so now
        raise RuntimeError(f"The relay published {relayed.published} of the backlog's {count} events")
    _wait(lambda: read_models.stats("bench-backlog", bootstrap.utc_today()).counts["pending"] >= count)
    total = time.perf_counter() - started
    print("\nEvent pipeline, one Celery worker (solo pool), local AWS (moto)\n")
    rate = relayed.published / relay_seconds
    print(f"  backlog of {count} events: {relayed.published} relayed to SNS in {relay_seconds:.2f} s ({rate:.0f}/s)")
    print(f"  end to end, relay -> SNS -> SQS -> worker -> history and stats: {total:.2f} s ({count / total:.0f}/s)")


def _latency(samples: int, bearer: dict[str, str]) -> None:
    from events_app import bootstrap as events_wiring

    read_models = events_wiring.read_models()
    stream = stream_follower()
    stream.start()
    latencies = []
    for n in range(samples):
        body, close = call_wsgi("POST", "/tasks", {"title": f"t{n}"}, headers=bearer)
        responded = time.perf_counter()
        close()
        _wait(partial(_relayed_and_applied, stream, read_models, body["data"]["task_id"]), poll=0.002)
        latencies.append((time.perf_counter() - responded) * 1000)
    timing = Timing.of(latencies)
    print(f"  API response -> history entry, {samples} creates: p50 {timing.median:.0f} ms, p95 {timing.p95:.0f} ms")


def _relayed_and_applied(stream: StreamFollower, read_models: Any, task_id: str) -> bool:
    """Relays what the stream holds, then whether the task's history has its first entry."""
    stream.poll(relay_as_lambda)
    return bool(read_models.history(task_id))


def _wait(done: Callable[[], bool], *, poll: float = 0.05, timeout: float = WAIT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"Gave up after {timeout:.0f} s: is the worker running? Are events in the DLQ?")
        time.sleep(poll)

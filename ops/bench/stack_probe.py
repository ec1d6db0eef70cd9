"""`BENCH_ONLY=stack`: the local stack as `make run` starts it, idle and then relaying.

The stack (`manage.py runlocal`, on free ports, a temporary state directory, no autosave, no
reloader, the shipped rate limits) is left to settle for `SETTLE_SECONDS` after it says it is ready.

- **Idle AWS requests**: the local AWS's request recorder (moto's) runs for `BENCH_IDLE_SECONDS`
  (default 60) while nothing is asked of the API; every request it receives, by service and
  operation, is shown per minute. Whatever polls (the outbox sweeper, the worker's long polls, a
  stream reader) shows up here, whichever relays.
- **Relay lag, write -> SNS**: a probe SQS queue is subscribed to the events topic (raw
  delivery), then `BENCH_RELAY_SAMPLES` tasks (default 40) are created through the API one after
  another, `PACE_SECONDS` apart. Each `TaskCreated` the probe receives carries the event's
  `timestamp` (taken by the API just before the transaction that stores it) and the SQS
  `SentTimestamp` (when SNS delivered it to the queue, which moto does inside the Publish call).
  Their difference is an upper bound of the lag from the write to SNS (the write comes after the
  timestamp); the same from the moment the API's response arrived is a lower bound (the write
  came before it: negative when the event was published before the response was sent). The
  target (issue 12: p95 at most `TARGET_P95_SECONDS`) is held against the upper bound. Nothing
  here depends on what relays: the request, a sweeper, a stream reader.
"""

from __future__ import annotations

import http.client
import json
import os
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ops.bench.stack_process import StackProcess
from ops.bench.targets import Timing, Verdict
from ops.local.embedded_aws import AwsCall
from ops.rehearsal.package import local_client

SETTLE_SECONDS = 5.0  # after "ready": the stack's first sweeps and the worker's start are done
IDLE_SECONDS = 60.0  # two sweeps of the relay (every 30 s): a shorter window could miss them
SAMPLES = 40
PACE_SECONDS = 0.25  # between creates: slower than a burst, faster than any sweeper interval
RECEIVE_TIMEOUT = 60.0  # seconds to wait for the last event to reach the probe
TARGET_P95_SECONDS = 1.0
PROBE_QUEUE = "bench-relay-probe"
REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Created:
    """One task created through the API: its id, and when the response arrived (epoch seconds)."""

    task_id: str
    responded: float


@dataclass(frozen=True)
class Lag:
    """One event's lag to SNS, in ms: from its timestamp (upper bound) and from the response (lower bound)."""

    from_event_ms: float
    from_response_ms: float


def run() -> bool:
    """Start the stack, measure, always stop it; print the figures. True if the lag target is met."""
    idle_seconds = float(os.environ.get("BENCH_IDLE_SECONDS", str(IDLE_SECONDS)))
    samples = int(os.environ.get("BENCH_RELAY_SAMPLES", str(SAMPLES)))
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as state:
        env = {"PATH": os.environ["PATH"], "HOME": state, "LANG": "C.UTF-8"}  # `make run`'s defaults
        with StackProcess(Path(state), env) as stack:
            time.sleep(SETTLE_SECONDS)
            idle = idle_requests(stack.aws_url, idle_seconds)
            lags, missing = relay_lag(stack, samples)
    _report_idle(idle, idle_seconds)
    return _report_lag(lags, missing, samples)


def idle_requests(aws_url: str, seconds: float) -> Counter[tuple[str, str]]:
    """The AWS requests the local AWS received over `seconds`, by (service, operation)."""
    _moto_api(aws_url, "recorder/reset-recording")
    _moto_api(aws_url, "recorder/start-recording")
    try:
        time.sleep(seconds)
    finally:
        _moto_api(aws_url, "recorder/stop-recording")
    lines = _moto_api(aws_url, "recorder/download-recording").splitlines()
    return Counter((call.service, call.operation) for call in (AwsCall.from_entry(json.loads(x)) for x in lines if x))


def per_minute(count: int, seconds: float) -> float:
    """`count` events over `seconds`, as a rate per minute."""
    return count * 60.0 / seconds


def relay_lag(stack: StackProcess, samples: int) -> tuple[list[Lag], int]:
    """Creates `samples` tasks and times their `TaskCreated` events to the probe queue; returns the
    lags and how many events did not arrive within RECEIVE_TIMEOUT."""
    sqs, queue_url = _subscribe_probe(stack.aws_url)
    created: dict[str, Created] = {}
    for n in range(samples):
        task = _create(stack.api_url, n)
        created[task.task_id] = task
        time.sleep(PACE_SECONDS)
    lags: list[Lag] = []
    deadline = time.monotonic() + RECEIVE_TIMEOUT
    waiting = set(created)
    while waiting and time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["SentTimestamp"]
        )
        for message in answer.get("Messages", []):
            timed = event_lag(message, created)
            if timed is not None and timed[0] in waiting:  # SNS may deliver twice: count each event once
                waiting.discard(timed[0])
                lags.append(timed[1])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return lags, len(waiting)


def event_lag(message: dict[str, Any], created: dict[str, Created]) -> tuple[str, Lag] | None:
    """The task id and lag of one SQS message (raw delivery: the body is the event, with
    `SentTimestamp` asked for) creating a task in `created`; None for any other message."""
    event = json.loads(message["Body"])
    task = created.get(str(event.get("aggregate_id")))
    if task is None or event.get("event_type") != "TaskCreated":
        return None
    delivered = int(message["Attributes"]["SentTimestamp"]) / 1000
    stamped = datetime.fromisoformat(str(event["timestamp"])).timestamp()
    return task.task_id, Lag((delivered - stamped) * 1000, (delivered - task.responded) * 1000)


def _subscribe_probe(aws_url: str) -> tuple[Any, str]:
    """A new queue subscribed to the events topic with raw delivery; (SQS client, its URL)."""
    sns, sqs = local_client(aws_url, "sns"), local_client(aws_url, "sqs")
    topics = [topic["TopicArn"] for topic in sns.list_topics()["Topics"] if topic["TopicArn"].endswith("-events")]
    if len(topics) != 1:
        raise RuntimeError(f"Expected one events topic in the local stack, found {topics}")
    queue_url = sqs.create_queue(QueueName=PROBE_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topics[0], Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return sqs, queue_url


def _create(api_url: str, n: int) -> Created:
    """POST /tasks as user `bench-relay`; raises RuntimeError unless the answer is a 201."""
    host, port = api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=REQUEST_TIMEOUT)
    try:
        body = json.dumps({"user_id": "bench-relay", "title": f"relay lag {n}"})
        connection.request("POST", "/tasks", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        responded = time.time()
    finally:
        connection.close()
    if response.status != 201:
        raise RuntimeError(f"POST /tasks: {response.status} {payload[:300]!r}")
    return Created(str(json.loads(payload)["data"]["task_id"]), responded)


def _moto_api(aws_url: str, path: str) -> str:
    request = urllib.request.Request(f"{aws_url}/moto-api/{path}", method="POST")
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
        return str(response.read().decode())


def _report_idle(calls: Counter[tuple[str, str]], seconds: float) -> None:
    total = sum(calls.values())
    print(f"\nThe local stack (manage.py runlocal) idle: AWS requests over {seconds:.0f} s, per minute\n")
    for (service, operation), count in sorted(calls.items(), key=lambda item: -item[1]):
        print(f"  {service:<9} {operation:<24} {per_minute(count, seconds):7.1f}")
    print(f"  {'in all':<34} {per_minute(total, seconds):7.1f}  (reported, no target)")


def _report_lag(lags: list[Lag], missing: int, samples: int) -> bool:
    print(f"\nRelay lag, write -> SNS, {samples} creates through the local stack's API, {PACE_SECONDS} s apart\n")
    if not lags:
        print(f"  no event reached the probe queue within {RECEIVE_TIMEOUT:.0f} s: MISSED")
        return False
    upper = Timing.of([lag.from_event_ms for lag in lags])
    lower = Timing.of([lag.from_response_ms for lag in lags])
    verdict = Verdict.at_most(upper.p95 / 1000, TARGET_P95_SECONDS)
    met = verdict.met and not missing
    for label, timing in (
        ("from the event's timestamp (before the write: upper bound)", upper),
        ("from the API's response (after the write: lower bound)", lower),
    ):
        print(f"  {label:<60} p50 {timing.median:6.0f} ms, p95 {timing.p95:6.0f} ms")
    print(f"  events not received within {RECEIVE_TIMEOUT:.0f} s: {missing}")
    verdict_text = "met" if met else "MISSED"
    print(f"  target: p95 at most {TARGET_P95_SECONDS:.0f} s (upper bound), every event received: {verdict_text}")
    return met

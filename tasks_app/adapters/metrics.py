"""The project's metrics (SPEC §9, issue 13): CloudWatch Embedded Metric Format (EMF) lines, built
with aws-lambda-powertools, written to the process's standard output. No AWS request is made.

Deployed, Lambda sends a function's standard output and error to CloudWatch Logs, which turns
every line that is an EMF object (a JSON object with an `_aws` member) into metrics; locally
(`make run`, the tests) the same lines are in each process's output. Beside them, the JSON log
lines (`config.observability`) go to standard error: both are one JSON object per line, and a
log line has no `_aws` member, so CloudWatch never takes it for metrics, while an EMF line stays
a log event too (searchable, with the request id of an API request as a plain member).

Every line is written whole, with one `write` under a lock, so threads (runserver's) never
interleave two lines; to the process's own standard output (`sys.__stdout__`), not through a
redirect such as the Celery worker's, which would wrap it in a log record.

The metrics, in the namespace `POWERTOOLS_METRICS_NAMESPACE` (the stage's, `TasksApi/<stage>`;
`TasksApi/local` when unset), each with the dimension `service` = `POWERTOOLS_SERVICE_NAME`
(`tasks-api` when unset) and the others named: the names, units and dimensions the stage's dashboard
and alarms (issue 13) are built on, so change them only together:

| Metric | Unit | Dimensions | Meaning |
|---|---|---|---|
| `Requests` | Count | operation, status_class | one per API request answered |
| `Latency` | Milliseconds | operation | the request's time inside the app, first middleware to last |
| `ThrottledRequests` | Count | - | one per 429 answer (the rate limits) |
| `TasksCreated`, `TasksCompleted`, `TasksDeleted` | Count | - | the events published to subscribers |
| `EventsRelayed` | Count | - | events SNS accepted from the relays |
| `RelayLag` | Milliseconds | - | from an event's outbox write to SNS accepting it |
| `EventsConsumed` | Count | - | events a consumer applied (or found applied) |
| `ConsumerFailures` | Count | - | deliveries a consumer could not apply (retried, then the DLQ) |
| `ConsumerLag` | Milliseconds | - | from an event's occurrence to a consumer finishing it |
| `ColdStart` | Count | function | one per process, named after the entry point it began with |

`POWERTOOLS_METRICS_DISABLED=true` (Powertools' own switch) turns them all off.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Protocol

# Only the metrics utility; Python still runs the package's `__init__` (Logger, Tracer: about
# 5 ms of a cold start on top of boto3, measured with `python -X importtime`).
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.shared.functions import strtobool

from tasks_app.application.ports import OutboxEntry
from tasks_app.domain.events import TaskCompleted, TaskCreated, TaskDeleted

logger = logging.getLogger(__name__)

NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
SERVICE_ENV = "POWERTOOLS_SERVICE_NAME"
METRICS_DISABLED_ENV = "POWERTOOLS_METRICS_DISABLED"  # Powertools' switches (`enabled`)
POWERTOOLS_DEV_ENV = "POWERTOOLS_DEV"
LOCAL_NAMESPACE = "TasksApi/local"
SERVICE = "tasks-api"


@dataclass(frozen=True)
class Metric:
    """A metric's name and CloudWatch unit."""

    name: str
    unit: MetricUnit


REQUESTS = Metric("Requests", MetricUnit.Count)
LATENCY = Metric("Latency", MetricUnit.Milliseconds)
THROTTLED_REQUESTS = Metric("ThrottledRequests", MetricUnit.Count)
TASKS_CREATED = Metric("TasksCreated", MetricUnit.Count)
TASKS_COMPLETED = Metric("TasksCompleted", MetricUnit.Count)
TASKS_DELETED = Metric("TasksDeleted", MetricUnit.Count)
EVENTS_RELAYED = Metric("EventsRelayed", MetricUnit.Count)
RELAY_LAG = Metric("RelayLag", MetricUnit.Milliseconds)
EVENTS_CONSUMED = Metric("EventsConsumed", MetricUnit.Count)
CONSUMER_FAILURES = Metric("ConsumerFailures", MetricUnit.Count)
CONSUMER_LAG = Metric("ConsumerLag", MetricUnit.Milliseconds)
COLD_START = Metric("ColdStart", MetricUnit.Count)

# Counted from the relayed events, not the API's answers: a replayed idempotent create creates nothing.
_TASK_COUNTS = {
    TaskCreated.__name__: TASKS_CREATED,
    TaskCompleted.__name__: TASKS_COMPLETED,
    TaskDeleted.__name__: TASKS_DELETED,
}


class Stream(Protocol):
    """Where lines are written: standard output, or a test's or benchmark's collector."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


_write_lock = threading.Lock()
_sink: Stream | None = None
_cold_start_reported = False
_unreadable_warned: set[str] = set()  # the switches already warned about


def _never_raises[**P](record: Callable[P, None]) -> Callable[P, None]:
    """Metrics must not fail what they measure: an error is logged, and the request, relay or
    consumer carries on (a consumer that raised would have its event delivered again)."""

    @functools.wraps(record)
    def recording(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            record(*args, **kwargs)
        except Exception:
            logger.exception("Could not write metrics")

    return recording


def enabled() -> bool:
    """False when Powertools' `POWERTOOLS_METRICS_DISABLED` (or `POWERTOOLS_DEV` alone) says so,
    by Powertools' rules (its `is_metrics_disabled`) and truth words (`true`, `1`, `yes`, `on`…, any
    case, surrounding spaces ignored). Raises nothing: Powertools' own reading raises ValueError
    for an empty or unknown value, which made every request a 500. Empty is unset; an unknown
    value is unset too (metrics stay on: nothing is lost), with one warning per variable."""
    disabled, dev = _switch(METRICS_DISABLED_ENV), _switch(POWERTOOLS_DEV_ENV)
    return not (disabled or (disabled is None and dev))


def _switch(name: str) -> bool | None:
    """The variable `name` as Powertools' `strtobool` reads it, or None when unset, empty or
    unreadable (warned about once per variable)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        return strtobool(value)
    except ValueError:
        if name not in _unreadable_warned:
            _unreadable_warned.add(name)
            logger.warning(
                "%s=%r is not a truth value Powertools reads (true/false, 1/0, yes/no, on/off); "
                "it is taken as unset: metrics stay on unless another switch turns them off",
                name,
                value,
            )
        return None


@_never_raises
def record_request(
    *,
    operation: str,
    status: int,
    latency_ms: float,
    request_id: str | None = None,
    details: Mapping[str, str | int] | None = None,
) -> None:
    """One API request, in one line: `Requests` [operation, status_class], `Latency` [operation]
    (ms) and, for a 429, `ThrottledRequests`, each under its own directive (EMF allows several per
    line); the request id and `details` (the access log's method, path, status, address) plain
    members, searchable, never dimensions. `operation` must come from a bounded set (a route's
    name, `unmatched`): every value is a metric CloudWatch bills for."""
    if not enabled():
        return
    if not math.isfinite(latency_ms):  # JSON has no NaN or infinity; Powertools refuses them too
        raise ValueError(f"Latency {latency_ms!r} is not a number of milliseconds")
    throttled = status == HTTPStatus.TOO_MANY_REQUESTS
    opening = _request_line_opening(namespace(), _service(), operation, f"{status // 100}xx", throttled)
    members = {**({"request_id": request_id} if request_id else {}), **(details or {})}
    if not _REQUEST_LINE_NAMES.isdisjoint(members):
        raise ValueError(f"{sorted(_REQUEST_LINE_NAMES & set(members))}: the line's own names, not details")
    request = f",{json.dumps(members, separators=(',', ':'))[1:-1]}" if members else ""
    # The line's own parts after the opening; a float's repr is its JSON (json.dumps writes it so).
    _emit(f'{opening}{time.time_ns() // 1_000_000}}},"{LATENCY.name}":[{float(latency_ms)!r}]{request}}}\n')


# Members of every request's line (the dimensions, the metrics, EMF's own), which details must not repeat.
_REQUEST_LINE_NAMES = frozenset(
    {"_aws", "service", "operation", "status_class", REQUESTS.name, LATENCY.name, THROTTLED_REQUESTS.name}
)


@functools.lru_cache(maxsize=1024)  # operations x status classes: a few hundred at most
def _request_line_opening(
    namespace_name: str, service_name: str, operation: str, status_class: str, throttled: bool
) -> str:
    """The JSON text of a request's line up to its timestamp: the line as Powertools builds it
    (names, units and dimensions checked by it), its directives side by side, with `_aws` last
    and its `Timestamp` last in it; `record_request` writes the rest. Built once per operation
    and status class: building and serializing the line for every request took about 0.3 ms of
    a warm request's 3 ms of work outside its DynamoDB call (issue 12)."""
    route = {"operation": operation}
    stage = {"namespace_name": namespace_name, "service_name": service_name}
    blobs = [
        _blob({REQUESTS: [1]}, {**route, "status_class": status_class}, **stage),
        _blob({LATENCY: [0.0]}, route, **stage),
    ]
    if throttled:
        blobs.append(_blob({THROTTLED_REQUESTS: [1]}, {}, **stage))
    members: dict[str, Any] = {}
    for blob in blobs:
        members.update({name: value for name, value in blob.items() if name not in ("_aws", LATENCY.name)})
    directives = [directive for blob in blobs for directive in blob["_aws"]["CloudWatchMetrics"]]
    text = json.dumps({**members, "_aws": {"CloudWatchMetrics": directives, "Timestamp": 0}}, separators=(",", ":"))
    opening, timestamp, rest = text.rpartition('"Timestamp":0}')
    if not timestamp or rest != "}":
        raise ValueError(f"Unexpected EMF layout from Powertools: {text}")
    return f'{opening}"Timestamp":'


@_never_raises
def record_cold_start(function: str) -> None:
    """`ColdStart` [function] once per process: `function` (`api`, `consumer`, `relay`, `sweeper`)
    is the entry point of the process's first invocation, which paid for its start; later calls
    do nothing (one Lambda function serves every trigger: a warm process is not cold again)."""
    global _cold_start_reported
    if _cold_start_reported:
        return
    _cold_start_reported = True
    if enabled():
        _write([_blob({COLD_START: [1]}, {"function": function})])


class EmfRelayMetrics:
    """The relay's metrics port (`tasks_app.application.ports.RelayMetrics`): for each batch SNS
    accepted, `EventsRelayed`, `RelayLag` (from each event's outbox write, its `stored_at`, to
    now) and `TasksCreated`/`TasksCompleted`/`TasksDeleted` by event type, in one line. An event
    published twice (both relays at once, a retried batch) is counted twice."""

    @_never_raises
    def published(self, entries: Sequence[OutboxEntry]) -> None:
        if not entries or not enabled():
            return
        now = datetime.now(UTC)
        values: dict[Metric, list[float]] = {EVENTS_RELAYED: [len(entries)]}
        lags = [_ms_between(entry.stored_at, now) for entry in entries if entry.stored_at is not None]
        if lags:
            values[RELAY_LAG] = lags
        for event_type, count in Counter(entry.event_type for entry in entries).items():
            if event_type in _TASK_COUNTS:
                values[_TASK_COUNTS[event_type]] = [count]
        _write([_blob(values, {})])


@_never_raises
def record_event_consumed(occurred_at: datetime) -> None:
    """A consumer finished an event that occurred at `occurred_at` (aware): `EventsConsumed` and
    `ConsumerLag` (ms, from then to now). A redelivered event counts each time it is finished."""
    if enabled():
        _write([_blob({EVENTS_CONSUMED: [1], CONSUMER_LAG: [_ms_between(occurred_at, datetime.now(UTC))]}, {})])


@_never_raises
def record_consumer_failure() -> None:
    """A consumer could not apply a delivery (a poison message, a storage error): `ConsumerFailures`."""
    if enabled():
        _write([_blob({CONSUMER_FAILURES: [1]}, {})])


@contextmanager
def lines_to[S: Stream](stream: S) -> Iterator[S]:
    """Send the EMF lines to `stream` instead of standard output while inside (a test reads them,
    the benchmark keeps them out of its tables). Not for concurrent use with different streams."""
    global _sink
    previous, _sink = _sink, stream
    try:
        yield stream
    finally:
        _sink = previous


def namespace() -> str:
    """The stage's namespace: `POWERTOOLS_METRICS_NAMESPACE`, else `TasksApi/local`."""
    return os.environ.get(NAMESPACE_ENV) or LOCAL_NAMESPACE


def _service() -> str:
    """The `service` dimension's value: `POWERTOOLS_SERVICE_NAME`, else `tasks-api`."""
    return os.environ.get(SERVICE_ENV) or SERVICE


def _blob(
    values: Mapping[Metric, Sequence[float]],
    dimensions: Mapping[str, str],
    *,
    namespace_name: str | None = None,
    service_name: str | None = None,
) -> Any:
    """One EMF object: `values` under the dimensions `service` + `dimensions`, in the namespace
    `namespace_name` for the service `service_name` (by default the stage's: `namespace()`, `_service()`)."""
    service = service_name or _service()
    emf = _builder()
    emf.namespace, emf.service = namespace_name or namespace(), service
    try:
        emf.add_dimension(name="service", value=service)
        for name, value in dimensions.items():
            emf.add_dimension(name=name, value=value)
        for metric, numbers in values.items():
            for number in numbers:
                emf.add_metric(name=metric.name, unit=metric.unit, value=number)
        return emf.serialize_metric_set()
    finally:
        emf.clear_metrics()


_builders = threading.local()


def _builder() -> EphemeralMetrics:
    """This thread's Powertools EMF builder: its state is its own (Powertools' `Metrics` shares one
    across instances and threads), and it is made once per thread (making one takes 25 us)."""
    emf: EphemeralMetrics | None = getattr(_builders, "emf", None)
    if emf is None:
        emf = _builders.emf = EphemeralMetrics()
    return emf


def _write(blobs: Sequence[Any]) -> None:
    _emit("".join(json.dumps(blob, separators=(",", ":")) + "\n" for blob in blobs))


def _emit(text: str) -> None:
    """Writes whole lines at once (see the module's docstring)."""
    stream: Stream = _sink or sys.__stdout__ or sys.stdout
    with _write_lock:
        stream.write(text)
        stream.flush()


def _ms_between(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() * 1000)

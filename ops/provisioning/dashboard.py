"""The stage's CloudWatch dashboard (issue 13), put only when missing or different.

One dashboard per stage, named like the function (`<project>-<stage>`), in the order an on-call
engineer reads it: the alarms' states; the API (our EMF metrics by operation, and API Gateway's
own counts); the function (Lambda's duration, errors, concurrency, and its init duration, which
Lambda writes only on its REPORT log lines); the table; the events queue and every dead-letter
queue; the relay; the consumers. The EMF metrics are found with SEARCH on the exact dimension
sets the metrics contract gives them (`service` plus each metric's own), so a new operation
appears without provisioning again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ops.provisioning.changes import Change, act, error_code
from ops.provisioning.cloudwatch import QUEUE_AGE_SECONDS, RELAY_LAG_P95_MS, Watched

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.client import CloudWatchClient

PERIOD_SECONDS = 60  # SQS, Lambda and standard-resolution EMF metrics come once a minute
WIDTH, HEIGHT, COLUMNS = 8, 6, 3  # three graphs a row on CloudWatch's 24-unit grid
# Lambda puts no init duration in AWS/Lambda (Lambda Insights would, as an extension in every
# cold start): Logs Insights reads it from the REPORT lines, `Restore Duration` with SnapStart.
INIT_DURATION_QUERY = (
    'filter @type = "REPORT"'
    " | parse @message /Restore Duration: (?<restoreMs>[0-9.]+) ms/"
    " | stats count(@initDuration) as coldStarts, pct(@initDuration, 95) as initP95Ms,"
    " max(@initDuration) as initMaxMs, count(restoreMs) as snapStartRestores, pct(restoreMs, 95) as restoreP95Ms"
    " by bin(5m)"
)
_MISSING = {"ResourceNotFound", "ResourceNotFoundException"}

Widget = dict[str, Any]


def dashboard_body(watched: Watched, alarm_names: Sequence[str]) -> dict[str, Any]:
    """The dashboard's body (CloudWatch's dashboard body structure), `alarm_names` in its status widget."""
    sections = [_api(watched), _function(watched), _table(watched), _queues(watched), _pipeline(watched)]
    header: list[Widget] = [
        {
            "type": "text",
            "properties": {
                "markdown": f"## {watched.function_name}: the Task API's stage {watched.stage}\n"
                "What each alarm means and what to do when it fires: README, *Operations*. "
                "Find a failing request's id in the logs, inspect a dead-letter queue with "
                "`manage.py dlq_list`, redrive it with `manage.py dlq_redrive`."
            },
        },
        {
            "type": "alarm",
            "properties": {
                "title": "Alarms",
                "alarms": [watched.alarm_arn(name) for name in alarm_names],
                "sortBy": "stateUpdatedTimestamp",
            },
        },
    ]
    header[0] |= {"x": 0, "y": 0, "width": 24, "height": 2}
    header[1] |= {"x": 0, "y": 2, "width": 24, "height": 3}
    placed, top = [], 5
    for section in sections:  # each on rows of its own
        for index, graph in enumerate(section):
            place = {"x": (index % COLUMNS) * WIDTH, "y": top + (index // COLUMNS) * HEIGHT}
            placed.append(place | {"width": WIDTH, "height": HEIGHT} | graph)
        top += -(-len(section) // COLUMNS) * HEIGHT
    return {"start": "-PT3H", "periodOverride": "inherit", "widgets": [*header, *placed]}


def ensure_dashboard(client: CloudWatchClient, name: str, body: Mapping[str, Any], *, dry_run: bool) -> Change:
    """Put `body` as dashboard `name` unless it is there already (compared as JSON, not as text).

    Returns the change; an update names the widgets (by title) that differ. Raises botocore's
    `ClientError` when CloudWatch refuses a call (an invalid body: `InvalidParameterInput`).
    """
    widgets = len(body["widgets"])
    try:
        current = json.loads(client.get_dashboard(DashboardName=name)["DashboardBody"])
    except ClientError as error:
        if error_code(error) not in _MISSING:
            raise
        current = None
    if current == body:
        return Change("dashboard", name, "unchanged", f"{widgets} widgets")
    if not dry_run:
        client.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body))
    if current is None:
        return Change("dashboard", name, act("created", dry_run), f"{widgets} widgets")
    return Change("dashboard", name, act("updated", dry_run), _differing(current, body))


def _differing(current: Any, wanted: Mapping[str, Any]) -> str:
    def by_title(body: Any) -> dict[str, Any]:
        widgets = body.get("widgets") if isinstance(body, dict) else None
        return {_title(widget): widget for widget in widgets} if isinstance(widgets, list) else {}

    now, then = by_title(current), by_title(wanted)
    titles = sorted({title for title in {*now, *then} if now.get(title) != then.get(title)})
    return f"widgets: {', '.join(titles)}" if titles else "layout"


def _title(widget: Any) -> str:
    if not isinstance(widget, dict):
        return "widget"
    return str(widget.get("properties", {}).get("title") or widget.get("type", "widget"))


def _graph(
    watched: Watched,
    title: str,
    metrics: list[list[Any]],
    *,
    stat: str = "Sum",
    alarm_at: float | None = None,
) -> Widget:
    properties: dict[str, Any] = {
        "title": title,
        "view": "timeSeries",
        "stacked": False,
        "region": watched.region,
        "period": PERIOD_SECONDS,
        "stat": stat,
        "metrics": metrics,
    }
    if alarm_at is not None:
        properties["annotations"] = {"horizontal": [{"label": "alarm", "value": alarm_at}]}
    return {"type": "metric", "properties": properties}


def _search(watched: Watched, metric: str, dimensions: Sequence[str], stat: str, *terms: str) -> str:
    """A SEARCH of our EMF metric with exactly `dimensions` besides `service` (the metrics contract)."""
    schema = ",".join([json.dumps(watched.namespace), *sorted({"service", *dimensions})])
    query = " ".join([f'MetricName="{metric}"', f'service="{watched.service}"', *terms])
    return f"SEARCH('{{{schema}}} {query}', '{stat}', {PERIOD_SECONDS})"


def _expression(expression: str, id_: str) -> list[Any]:
    """A line of expression results, each labelled by CloudWatch with its dimension values."""
    return [{"expression": expression, "id": id_}]


def _emf(watched: Watched, metric: str, stat: str, label: str | None = None) -> list[Any]:
    """One of our EMF metrics that has no dimension besides `service`."""
    return [watched.namespace, metric, "service", watched.service, {"stat": stat, "label": label or metric}]


def _api(watched: Watched) -> list[Widget]:
    api = ("ApiName", watched.api_name, "Stage", watched.stage)
    requests = ("operation", "status_class")
    return [
        _graph(
            watched,
            "API requests by operation and status class",
            [_expression(_search(watched, "Requests", requests, "Sum"), "requests")],
        ),
        _graph(
            watched,
            "API errors by operation (5xx, 4xx) and throttled requests",
            [
                _expression(_search(watched, "Requests", requests, "Sum", 'status_class="5xx"'), "server"),
                _expression(_search(watched, "Requests", requests, "Sum", 'status_class="4xx"'), "client"),
                _emf(watched, "ThrottledRequests", "Sum"),
            ],
        ),
        _graph(
            watched,
            "API latency by operation (ms, p50 and p95)",
            [
                _expression(_search(watched, "Latency", ["operation"], "p50"), "p50"),
                _expression(_search(watched, "Latency", ["operation"], "p95"), "p95"),
            ],
        ),
        _graph(
            watched,
            "API Gateway: requests, 4xx and 5xx",
            [["AWS/ApiGateway", metric, *api, {"label": metric}] for metric in ("Count", "4XXError", "5XXError")],
        ),
        _graph(
            watched,
            "Tasks created, completed and deleted",
            [_emf(watched, metric, "Sum") for metric in ("TasksCreated", "TasksCompleted", "TasksDeleted")],
        ),
    ]


def _function(watched: Watched) -> list[Widget]:
    function = ("FunctionName", watched.function_name)
    return [
        _graph(
            watched,
            "Lambda invocations, errors and throttles",
            [["AWS/Lambda", metric, *function, {"label": metric}] for metric in ("Invocations", "Errors", "Throttles")],
        ),
        _graph(
            watched,
            "Lambda duration (ms)",
            [
                ["AWS/Lambda", "Duration", *function, {"stat": stat, "label": stat}]
                for stat in ("p50", "p95", "Maximum")
            ],
        ),
        _graph(
            watched,
            "Lambda concurrent executions",
            [["AWS/Lambda", "ConcurrentExecutions", *function, {"label": "ConcurrentExecutions"}]],
            stat="Maximum",
        ),
        {
            "type": "log",
            "properties": {
                "title": "Cold starts: init and SnapStart restore duration (ms, from REPORT lines)",
                "region": watched.region,
                "view": "timeSeries",
                "stacked": False,
                "query": f"SOURCE '{watched.log_group}' | {INIT_DURATION_QUERY}",
            },
        },
        _graph(
            watched,
            "Cold starts by handler",
            [_expression(_search(watched, "ColdStart", ["function"], "Sum"), "cold")],
        ),
    ]


def _table(watched: Watched) -> list[Widget]:
    table = ("TableName", watched.table_name)
    indexes = (
        f'SEARCH(\'{{AWS/DynamoDB,GlobalSecondaryIndexName,TableName}} TableName="{watched.table_name}" '
        f'(MetricName="ReadThrottleEvents" OR MetricName="WriteThrottleEvents")\', \'Sum\', {PERIOD_SECONDS})'
    )
    consumed = ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits")
    return [
        _graph(
            watched,
            "DynamoDB consumed capacity units",
            [["AWS/DynamoDB", metric, *table, {"label": metric}] for metric in consumed],
        ),
        _graph(
            watched,
            "DynamoDB throttles (table and indexes)",
            [
                *(["AWS/DynamoDB", m, *table, {"label": m}] for m in ("ReadThrottleEvents", "WriteThrottleEvents")),
                _expression(indexes, "indexes"),
            ],
        ),
    ]


def _queues(watched: Watched) -> list[Widget]:
    queue = ("QueueName", watched.queue_name)
    depth = ("ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible")
    return [
        _graph(
            watched,
            f"Events queue depth ({watched.queue_name})",
            [["AWS/SQS", metric, *queue, {"label": metric}] for metric in depth],
            stat="Maximum",
        ),
        _graph(
            watched,
            "Events queue: age of the oldest message (s)",
            [["AWS/SQS", "ApproximateAgeOfOldestMessage", *queue, {"label": "ApproximateAgeOfOldestMessage"}]],
            stat="Maximum",
            alarm_at=QUEUE_AGE_SECONDS,
        ),
        _graph(
            watched,
            "Dead-letter queues: messages",
            [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name, {"label": name}]
                for name in watched.dead_letter_queues
            ],
            stat="Maximum",
            alarm_at=1,
        ),
    ]


def _pipeline(watched: Watched) -> list[Widget]:
    lag_stats = ("p50", "p95", "Maximum")
    return [
        _graph(
            watched,
            "Relay lag (ms, outbox write to SNS publish)",
            [_emf(watched, "RelayLag", stat, f"RelayLag {stat}") for stat in ("p50", "p95")],
            alarm_at=RELAY_LAG_P95_MS,
        ),
        _graph(
            watched,
            "Stream relay: events relayed and iterator age (ms)",
            [
                _emf(watched, "EventsRelayed", "Sum"),
                [
                    "AWS/Lambda",
                    "IteratorAge",
                    "FunctionName",
                    watched.function_name,
                    {"stat": "Maximum", "label": "IteratorAge", "yAxis": "right"},
                ],
            ],
        ),
        _graph(
            watched,
            "Consumers: events consumed and failures",
            [_emf(watched, metric, "Sum") for metric in ("EventsConsumed", "ConsumerFailures")],
        ),
        _graph(
            watched,
            "Consumer lag (ms, event to consumer done)",
            [_emf(watched, "ConsumerLag", stat, f"ConsumerLag {stat}") for stat in lag_stats],
        ),
    ]

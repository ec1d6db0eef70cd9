"""What `provision --stage` must have left in CloudWatch for one stage: the alarms and the dashboard.

The expectations are written out here from SPEC §6, issue 13 and the metrics contract, not
taken from the provisioning code, so a change there that loses an alarm or a graph is caught.
The dashboard is read back and parsed: the graphs that matter must plot the stage's real
function, table and queues, and our EMF metrics under the stage's namespace with exactly the
contract's dimensions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ops.provisioning.dynamodb import INDEX_NAMES

DEFAULT_SERVICE = "tasks-api"  # the metrics contract's POWERTOOLS_SERVICE_NAME


@dataclass(frozen=True)
class ExpectedAlarm:
    name: str
    namespace: str
    metric: str
    dimensions: dict[str, str]
    statistic: str  # a percentile (p95) is an ExtendedStatistic
    threshold: float
    comparison: str


def check_monitoring(cloudwatch: Any, name: str, stage: str, settings: dict[str, Any]) -> list[str]:
    """The stage's alarms and dashboard, as `provision --stage` should have made them; returns the problems."""
    variables = settings["aws_environment_variables"]
    namespace = variables.get("POWERTOOLS_METRICS_NAMESPACE") or f"TasksApi/{stage}"
    service = variables.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE
    table, queue = variables["TABLE_NAME"], variables["EVENTS_QUEUE_URL"].rsplit("/", 1)[-1]
    dead_letter_queues = [f"{queue}-dlq", f"{table}-stream-failures"]
    alarms = expected_alarms(name, stage, table, queue, dead_letter_queues, namespace, service)
    problems = _check_alarms(cloudwatch, name, alarms)
    dashboards = [entry["DashboardName"] for entry in cloudwatch.list_dashboards()["DashboardEntries"]]
    if name not in dashboards:
        return [*problems, f"no CloudWatch dashboard {name} (dashboards: {dashboards})"]
    body = json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
    plotted = _Plotted.read(body)
    wanted = [
        *(("AWS/Lambda", metric, {"FunctionName": name}) for metric in ("Duration", "Errors", "ConcurrentExecutions")),
        ("AWS/Lambda", "IteratorAge", {"FunctionName": name}),  # the stream mapping's
        *(
            ("AWS/DynamoDB", metric, {"TableName": table})
            for metric in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits")
        ),
        *(("AWS/DynamoDB", metric, {"TableName": table}) for metric in ("ReadThrottleEvents", "WriteThrottleEvents")),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue}),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": queue}),
        *(("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": dlq}) for dlq in dead_letter_queues),
        *(
            (namespace, metric, {"service": service})
            for metric in ("RelayLag", "EventsRelayed", "EventsConsumed", "ConsumerFailures", "ConsumerLag")
        ),
    ]
    problems += [
        f"dashboard {name} plots no {metric} of {namespace_} {dimensions}"
        for namespace_, metric, dimensions in wanted
        if (namespace_, metric, tuple(sorted(dimensions.items()))) not in plotted.metrics
    ]
    if "p95" not in plotted.stats.get((namespace, "RelayLag"), set()):
        problems.append(f"dashboard {name} plots no RelayLag p95 (its alarm's statistic)")
    # Our EMF metrics by operation: found by SEARCH on the contract's exact dimension sets.
    searches = {
        "Requests": f'{{"{namespace}",operation,service,status_class}} MetricName="Requests"',
        "Latency": f'{{"{namespace}",operation,service}} MetricName="Latency"',
    }
    problems += [
        f"dashboard {name}: no SEARCH for {metric} by operation ({search})"
        for metric, search in searches.items()
        if not any(search in expression for expression in plotted.expressions)
    ]
    if not any(f"SOURCE '/aws/lambda/{name}'" in q and "@initDuration" in q for q in plotted.log_queries):
        problems.append(f"dashboard {name}: no Logs Insights graph of @initDuration on /aws/lambda/{name}")
    shown = {arn.rsplit(":", 1)[-1] for arn in plotted.alarm_arns}
    problems += [f"dashboard {name} does not show alarm {a.name}" for a in alarms if a.name not in shown]
    return problems


def expected_alarms(
    name: str, stage: str, table: str, queue: str, dead_letter_queues: list[str], namespace: str, service: str
) -> list[ExpectedAlarm]:
    """SPEC §6's four alarms, then issue 13's: each dead-letter queue, the queue's age, the relay's lag;
    issue 14's on the webhooks dead-letter queue."""
    at_least = "GreaterThanOrEqualToThreshold"
    return [
        ExpectedAlarm(f"{name}-lambda-errors", "AWS/Lambda", "Errors", {"FunctionName": name}, "Sum", 5, at_least),
        ExpectedAlarm(
            f"{name}-api-5xx", "AWS/ApiGateway", "5XXError", {"ApiName": name, "Stage": stage}, "Sum", 10, at_least
        ),
        *(
            ExpectedAlarm(
                f"{name}-dynamodb-{kind}-throttles",
                "AWS/DynamoDB",
                f"{kind.title()}ThrottleEvents",
                {"TableName": table},
                "Sum",
                1,
                at_least,
            )
            for kind in ("read", "write")
        ),
        *(
            ExpectedAlarm(
                f"{name}-dynamodb-{index.lower()}-{kind}-throttles",
                "AWS/DynamoDB",
                f"{kind.title()}ThrottleEvents",
                {"TableName": table, "GlobalSecondaryIndexName": index},
                "Sum",
                1,
                at_least,
            )
            for index in INDEX_NAMES
            for kind in ("read", "write")
        ),
        *(
            ExpectedAlarm(
                f"{name}-{ending}",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": dlq},
                "Maximum",
                1,
                at_least,
            )
            for ending, dlq in zip(("dead-letters", "stream-failures"), dead_letter_queues, strict=True)
        ),
        ExpectedAlarm(
            f"{name}-webhook-dead-letters",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": f"{table}-webhooks-dlq"},  # issue 14's webhooks queue
            "Maximum",
            1,
            at_least,
        ),
        ExpectedAlarm(
            f"{name}-events-queue-age",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": queue},
            "Maximum",
            300,
            at_least,
        ),
        ExpectedAlarm(
            f"{name}-relay-lag-p95",
            namespace,
            "RelayLag",
            {"service": service},
            "p95",
            60_000,
            "GreaterThanThreshold",
        ),
    ]


def _check_alarms(cloudwatch: Any, name: str, expected: list[ExpectedAlarm]) -> list[str]:
    found = {
        alarm["AlarmName"]: alarm
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{name}-")
        for alarm in page["MetricAlarms"]
    }
    problems = []
    for wanted in expected:
        alarm = found.get(wanted.name)
        if alarm is None:
            problems.append(f"no CloudWatch alarm {wanted.name} (provision --stage makes it)")
            continue
        actual = (
            alarm.get("Namespace"),
            alarm.get("MetricName"),
            {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])},
            alarm.get("ExtendedStatistic") or alarm.get("Statistic"),
            float(alarm.get("Threshold", 0)),
            alarm.get("ComparisonOperator"),
        )
        expected_shape = (
            wanted.namespace,
            wanted.metric,
            wanted.dimensions,
            wanted.statistic,
            float(wanted.threshold),
            wanted.comparison,
        )
        if actual != expected_shape:
            problems.append(f"alarm {wanted.name} is {actual}, expected {expected_shape}")
    extra = sorted(set(found) - {wanted.name for wanted in expected})
    if extra:
        problems.append(f"alarms {extra} are named after {name} but no longer made by provision --stage")
    return problems


@dataclass
class _Plotted:
    """What a dashboard body plots: metrics (namespace, name, sorted dimensions), the statistics
    each (namespace, name) is shown with, SEARCH and math expressions, Logs Insights queries, and
    the alarms its alarm widgets show."""

    metrics: set[tuple[str, str, tuple[tuple[str, str], ...]]]
    stats: dict[tuple[str, str], set[str]]
    expressions: list[str]
    log_queries: list[str]
    alarm_arns: list[str]

    @classmethod
    def read(cls, body: dict[str, Any]) -> _Plotted:
        plotted = cls(set(), {}, [], [], [])
        for widget in body.get("widgets", []):
            properties = widget.get("properties", {})
            if widget.get("type") == "log":
                plotted.log_queries.append(str(properties.get("query", "")))
            elif widget.get("type") == "alarm":
                plotted.alarm_arns += properties.get("alarms", [])
            elif widget.get("type") == "metric":
                for line in properties.get("metrics", []):
                    plotted._add(line, default_stat=str(properties.get("stat", "Average")))
        return plotted

    def _add(self, line: list[Any], *, default_stat: str) -> None:
        """A metric line: `[namespace, name, dim, value, ..., {options}]`, or `[{"expression": ...}]`."""
        options = line[-1] if line and isinstance(line[-1], dict) else {}
        names = [part for part in line if isinstance(part, str)]
        if "expression" in options:
            self.expressions.append(str(options["expression"]))
            return
        if len(names) < 2 or len(names) % 2:
            return  # "." shorthand or a malformed line: the checks above then miss it and say so
        namespace, metric, pairs = names[0], names[1], names[2:]
        self.metrics.add((namespace, metric, tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True)))))
        self.stats.setdefault((namespace, metric), set()).add(str(options.get("stat", default_stat)))

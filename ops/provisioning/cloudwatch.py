"""The CloudWatch alarms of one stage, put only when missing or different.

SPEC §6's: Lambda errors, API 5xx and DynamoDB throttles, each summed over five-minute periods.
Issue 13's, for what SPEC §6 cannot see: a message in a dead-letter queue, the events queue's
oldest message older than five minutes, and the relay's p95 lag over a minute. An alarm fires
when its threshold is crossed in every one of its evaluation periods; no data (no traffic, an
empty queue) is not an alarm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from ops.provisioning.changes import Change, act
from ops.provisioning.dynamodb import INDEX_NAMES

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.client import CloudWatchClient
    from mypy_boto3_cloudwatch.literals import StatisticType
    from mypy_boto3_cloudwatch.type_defs import PutMetricAlarmInputTypeDef

PERIOD_SECONDS = 300
DEFAULT_SERVICE = "tasks-api"  # POWERTOOLS_SERVICE_NAME: the `service` dimension of every EMF metric
QUEUE_AGE_SECONDS = 300  # issue 13: the events queue's oldest message older than 5 minutes
RELAY_LAG_P95_MS = 60_000  # issue 13: relay lag p95 over 60 s
_COMPARED = (
    "AlarmDescription",
    "Namespace",
    "MetricName",
    "Statistic",
    "ExtendedStatistic",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "ComparisonOperator",
    "TreatMissingData",
)
_SYMBOLS = {"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">"}

Comparison = Literal["GreaterThanOrEqualToThreshold", "GreaterThanThreshold"]


@dataclass(frozen=True)
class Watched:
    """The names a stage's alarms and dashboard watch, as zappa_settings.json gives them.

    `namespace` and `service` are the EMF metrics' namespace and `service` dimension (the
    stage's POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME).
    """

    stage: str
    region: str
    account: str
    partition: str
    function_name: str
    api_name: str
    table_name: str
    queue_name: str
    dead_letter_queue: str  # the events queue's
    stream_failures_queue: str  # where Lambda notes the stream batches the relay gave up on
    namespace: str
    service: str = DEFAULT_SERVICE

    @property
    def dead_letter_queues(self) -> tuple[str, str]:
        return (self.dead_letter_queue, self.stream_failures_queue)

    @property
    def webhooks_dead_letter_queue(self) -> str:
        """The webhooks queue's (issue 14), named after the table as `provision` makes it."""
        return f"{self.table_name}-webhooks-dlq"

    @property
    def log_group(self) -> str:
        """Where Lambda writes the function's log lines, its REPORT lines (init duration) included."""
        return f"/aws/lambda/{self.function_name}"

    def alarm_arn(self, alarm_name: str) -> str:
        return f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}:alarm:{alarm_name}"


@dataclass(frozen=True)
class Alarm:
    """A threshold on one statistic of one metric, crossed in `periods` periods in a row.

    `statistic` is a plain statistic (`Sum`, `Maximum`...) or a percentile (`p95`), which
    CloudWatch takes as an ExtendedStatistic. `period` is in seconds.
    """

    name: str
    description: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    threshold: float
    periods: int
    statistic: str = "Sum"
    comparison: Comparison = "GreaterThanOrEqualToThreshold"
    period: int = PERIOD_SECONDS

    def definition(self, actions: Sequence[str], ok_actions: Sequence[str]) -> PutMetricAlarmInputTypeDef:
        definition: PutMetricAlarmInputTypeDef = {
            "AlarmName": self.name,
            "AlarmDescription": self.description,
            "Namespace": self.namespace,
            "MetricName": self.metric,
            "Dimensions": [{"Name": name, "Value": value} for name, value in self.dimensions],
            "Period": self.period,
            "EvaluationPeriods": self.periods,
            "DatapointsToAlarm": self.periods,
            "Threshold": float(self.threshold),
            "ComparisonOperator": self.comparison,
            "TreatMissingData": "notBreaching",
            "ActionsEnabled": True,
            "AlarmActions": list(actions),
            "OKActions": list(ok_actions),
        }
        if self.percentile:
            definition["ExtendedStatistic"] = self.statistic
        else:
            definition["Statistic"] = cast("StatisticType", self.statistic)
        return definition

    @property
    def percentile(self) -> bool:
        return self.statistic.startswith("p")

    @property
    def summary(self) -> str:
        """e.g. `RelayLag p95 > 60000 in 1 period`, as the change line shows it."""
        statistic = "" if self.statistic == "Sum" else f" {self.statistic}"
        periods = f"{self.periods} period{'s' * (self.periods > 1)}"
        return f"{self.metric}{statistic} {_SYMBOLS[self.comparison]} {self.threshold:g} in {periods}"


def stage_alarms(watched: Watched) -> list[Alarm]:
    """SPEC §6's alarms, then issue 13's (`monitoring_alarms`)."""
    return spec_alarms(watched) + monitoring_alarms(watched)


_LISTINGS = "the listings read it; the API answers 503 with Retry-After"
_INDEX_READERS = {"GSI4": "the reminder sweep reads it; the sweep fails and its next run catches up"}


def spec_alarms(watched: Watched) -> list[Alarm]:
    """Lambda errors ≥ 5 and API 5xx ≥ 10, each in 2 periods; any DynamoDB throttle, of the table
    and of each index (SPEC §6)."""
    function_name, table_name = watched.function_name, watched.table_name
    table = (("TableName", table_name),)
    return [
        Alarm(
            f"{function_name}-lambda-errors",
            f"{function_name} raised errors: 5 or more in each of 2 periods of 5 minutes.",
            "AWS/Lambda",
            "Errors",
            (("FunctionName", function_name),),
            threshold=5,
            periods=2,
        ),
        Alarm(
            f"{function_name}-api-5xx",
            f"{watched.api_name}/{watched.stage} answered 5xx: 10 or more in each of 2 periods of 5 minutes.",
            "AWS/ApiGateway",
            "5XXError",
            (("ApiName", watched.api_name), ("Stage", watched.stage)),
            threshold=10,
            periods=2,
        ),
        Alarm(
            f"{function_name}-dynamodb-read-throttles",
            f"DynamoDB throttled reads on {table_name}.",
            "AWS/DynamoDB",
            "ReadThrottleEvents",
            table,
            threshold=1,
            periods=1,
        ),
        Alarm(
            f"{function_name}-dynamodb-write-throttles",
            f"DynamoDB throttled writes on {table_name}.",
            "AWS/DynamoDB",
            "WriteThrottleEvents",
            table,
            threshold=1,
            periods=1,
        ),
        # CloudWatch counts an index's throttles under the index alone, not the table: SPEC §6's
        # "DynamoDB throttles" would miss the listings' (GSI1-GSI3) and the reminder sweep's (GSI4)
        # without these.
        *(
            Alarm(
                f"{function_name}-dynamodb-{index.lower()}-{kind}-throttles",
                f"DynamoDB throttled {kind}s on index {index} of {table_name} "
                f"({_INDEX_READERS.get(index, _LISTINGS)}).",
                "AWS/DynamoDB",
                f"{kind.title()}ThrottleEvents",
                (*table, ("GlobalSecondaryIndexName", index)),
                threshold=1,
                periods=1,
            )
            for index in INDEX_NAMES
            for kind in ("read", "write")
        ),
    ]


def monitoring_alarms(watched: Watched) -> list[Alarm]:
    """Issue 13's: any message in each dead-letter queue (issue 14's webhooks one too); the events
    queue's oldest message older than QUEUE_AGE_SECONDS; the relay's p95 lag (the EMF metric RelayLag, milliseconds from
    the outbox write to SNS accepting the publish) over RELAY_LAG_P95_MS. Each in one period of
    5 minutes: SQS publishes its metrics once a minute, so the maximum over 5 minutes sees a
    message that arrived in any of them."""
    function_name = watched.function_name
    what_to_do = {  # alarm name's ending: (queue, what its messages are and what to do)
        "dead-letters": (
            watched.dead_letter_queue,
            "events a consumer failed 3 times. Inspect them with manage.py dlq_list, find the failure by "
            "their request id in the logs, fix the cause, then manage.py dlq_redrive.",
        ),
        "webhook-dead-letters": (
            watched.webhooks_dead_letter_queue,
            "webhooks-queue messages (events to fan out, delivery attempts) the consumer failed 3 times: "
            "their deliveries stopped. Inspect them with manage.py dlq_list --queue webhooks, fix the cause, "
            "then manage.py dlq_redrive --queue webhooks.",
        ),
        "stream-failures": (
            watched.stream_failures_queue,
            "stream batches the relay gave up on (the sweeper publishes their events within 5 minutes; "
            "nothing to replay). Find why the relay failed in the function's logs.",
        ),
    }
    dead_letters = [
        Alarm(
            f"{function_name}-{ending}",
            f"{queue} holds messages: {what}",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            (("QueueName", queue),),
            threshold=1,
            periods=1,
            statistic="Maximum",
        )
        for ending, (queue, what) in what_to_do.items()
    ]
    return [
        *dead_letters,
        Alarm(
            f"{function_name}-events-queue-age",
            f"The oldest message in {watched.queue_name} is {QUEUE_AGE_SECONDS // 60} minutes old or more: "
            "the consumers are not keeping up, or not running.",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            (("QueueName", watched.queue_name),),
            threshold=QUEUE_AGE_SECONDS,
            periods=1,
            statistic="Maximum",
        ),
        Alarm(
            f"{function_name}-relay-lag-p95",
            f"The outbox relay's p95 lag (outbox write to SNS publish) was over {RELAY_LAG_P95_MS // 1000} s "
            "in 5 minutes: events reach the consumers late.",
            watched.namespace,
            "RelayLag",
            (("service", watched.service),),
            threshold=RELAY_LAG_P95_MS,
            periods=1,
            statistic="p95",
            comparison="GreaterThanThreshold",
        ),
    ]


def ensure_alarms(
    client: CloudWatchClient, alarms: Sequence[Alarm], *, actions: Sequence[str] = (), dry_run: bool
) -> list[Change]:
    """`actions` (SNS topic ARNs) notify on alarm and on recovery; none given leaves existing ones be."""
    found = client.describe_alarms(AlarmNames=[alarm.name for alarm in alarms], AlarmTypes=["MetricAlarm"])
    current = {alarm.get("AlarmName"): alarm for alarm in found.get("MetricAlarms", [])}
    changes = []
    for alarm in alarms:
        existing = current.get(alarm.name)
        if actions or existing is None:
            wanted = alarm.definition(actions, actions)
        else:  # no topic given: keep whatever notifies now, rather than silence a production alarm
            wanted = alarm.definition(existing.get("AlarmActions", []), existing.get("OKActions", []))
        different = differences(existing, wanted) if existing is not None else []
        if existing is not None and not different:
            changes.append(Change("alarm", alarm.name, "unchanged", alarm.summary))
            continue
        if not dry_run:
            client.put_metric_alarm(**wanted)
        if existing is None:
            changes.append(Change("alarm", alarm.name, act("created", dry_run), alarm.summary))
        else:
            changes.append(Change("alarm", alarm.name, act("updated", dry_run), ", ".join(different)))
    return changes


def differences(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """The settings (by their API names) in which an existing alarm is not the wanted one."""
    now, then = _comparable(current), _comparable(wanted)
    return [key for key, value in then.items() if now[key] != value]


def _comparable(alarm: Mapping[str, Any]) -> dict[str, object]:
    values: dict[str, object] = {key: alarm.get(key) for key in _COMPARED}
    values["Threshold"] = float(alarm.get("Threshold") or 0)
    values["Dimensions"] = sorted((d["Name"], d["Value"]) for d in alarm.get("Dimensions") or [])
    values["AlarmActions"] = sorted(alarm.get("AlarmActions") or [])
    values["OKActions"] = sorted(alarm.get("OKActions") or [])
    return values

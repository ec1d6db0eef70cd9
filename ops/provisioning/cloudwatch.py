"""The CloudWatch alarms of SPEC §6 for one stage, put only when missing or different.

Each alarm sums its metric over five-minute periods and fires when the threshold is reached in
every one of its evaluation periods. No data (no traffic) is not an alarm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ops.provisioning.changes import Change, act

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.client import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import PutMetricAlarmInputTypeDef

PERIOD_SECONDS = 300
_COMPARED = (
    "AlarmDescription",
    "Namespace",
    "MetricName",
    "Statistic",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "ComparisonOperator",
    "TreatMissingData",
)


@dataclass(frozen=True)
class Alarm:
    """A threshold on the sum of one metric, reached in `periods` periods in a row."""

    name: str
    description: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    threshold: int
    periods: int

    def definition(self, actions: Sequence[str], ok_actions: Sequence[str]) -> PutMetricAlarmInputTypeDef:
        return {
            "AlarmName": self.name,
            "AlarmDescription": self.description,
            "Namespace": self.namespace,
            "MetricName": self.metric,
            "Dimensions": [{"Name": name, "Value": value} for name, value in self.dimensions],
            "Statistic": "Sum",
            "Period": PERIOD_SECONDS,
            "EvaluationPeriods": self.periods,
            "DatapointsToAlarm": self.periods,
            "Threshold": float(self.threshold),
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "ActionsEnabled": True,
            "AlarmActions": list(actions),
            "OKActions": list(ok_actions),
        }


def stage_alarms(*, function_name: str, api_name: str, stage: str, table_name: str) -> list[Alarm]:
    """Lambda errors ≥ 5 and API 5xx ≥ 10, each in 2 periods; any DynamoDB throttle (SPEC §6)."""
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
            f"{api_name}/{stage} answered 5xx: 10 or more in each of 2 periods of 5 minutes.",
            "AWS/ApiGateway",
            "5XXError",
            (("ApiName", api_name), ("Stage", stage)),
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
        summary = f"{alarm.metric} >= {alarm.threshold} in {alarm.periods} period{'s' * (alarm.periods > 1)}"
        different = differences(existing, wanted) if existing is not None else []
        if existing is not None and not different:
            changes.append(Change("alarm", alarm.name, "unchanged", summary))
            continue
        if not dry_run:
            client.put_metric_alarm(**wanted)
        if existing is None:
            changes.append(Change("alarm", alarm.name, act("created", dry_run), summary))
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

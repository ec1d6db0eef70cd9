"""`provision --stage`'s dashboard and issue 13's alarms, on the local AWS: made, kept, put back, planned."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from django.core.management import call_command

from ops.rehearsal.monitoring import check_monitoring
from tests.integration.test_stage_provisioning import REGION, outcome, stage_settings

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.client import CloudWatchClient

Provision = Callable[..., str]
NAMESPACE = "TasksApi/production"  # production's POWERTOOLS_METRICS_NAMESPACE below; staging sets none
ISSUE_13_ALARMS = (
    "tasks-production-dead-letters",
    "tasks-production-stream-failures",
    "tasks-production-events-queue-age",
    "tasks-production-relay-lag-p95",
    "tasks-production-webhook-dead-letters",
)


@pytest.fixture
def stages() -> dict[str, Any]:
    production = stage_settings("production")
    production["aws_environment_variables"]["POWERTOOLS_METRICS_NAMESPACE"] = NAMESPACE
    return {"staging": stage_settings("staging"), "production": production}


@pytest.fixture
def run(aws, tmp_path: Path, stages: dict[str, Any]) -> Provision:
    """`provision --stage` against an empty local AWS; returns what it printed."""
    aws.server.reset()
    settings_file = tmp_path / "zappa_settings.json"
    settings_file.write_text(json.dumps(stages))

    def provision(stage: str = "production", *args: str) -> str:
        out = StringIO()
        options = ["--stage", stage, "--settings-file", str(settings_file), "--endpoint-url", aws.server.url]
        call_command("provision", *options, *args, stdout=out)
        return out.getvalue()

    return provision


def test_provision_makes_the_alarms_beyond_spec_and_a_dashboard_the_rehearsal_accepts(run, aws, stages):
    output = run("production")
    alarms = _alarms(aws)
    assert _shape(alarms["tasks-production-dead-letters"]) == (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "tasks-production-events-dlq"},
        "Maximum", 1.0, "GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    assert _shape(alarms["tasks-production-stream-failures"])[2] == {"QueueName": "tasks-production-stream-failures"}
    assert _shape(alarms["tasks-production-events-queue-age"]) == (
        "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "tasks-production-events"},
        "Maximum", 300.0, "GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    relay = alarms["tasks-production-relay-lag-p95"]
    assert _shape(relay) == (
        NAMESPACE, "RelayLag", {"service": "tasks-api"}, "p95", 60_000.0, "GreaterThanThreshold"
    )  # fmt: skip
    assert "Statistic" not in relay  # a percentile is an ExtendedStatistic only
    assert outcome(output, "alarm", "tasks-production-relay-lag-p95") == "created (RelayLag p95 > 60000 in 1 period)"
    assert outcome(output, "dashboard", "tasks-production").startswith("created (")
    assert check_monitoring(_cloudwatch(aws), "tasks-production", "production", stages["production"]) == []


def test_the_dashboard_plots_the_stages_resources_and_its_metrics_namespace(run, aws):
    run("staging")
    body = _dashboard(aws, "tasks-staging")
    text = json.dumps(body)
    for name in ("tasks-staging-events", "tasks-staging-events-dlq", "tasks-staging-stream-failures"):
        assert f'"QueueName", "{name}"' in text
    assert '"TableName", "tasks-staging"' in text
    assert "SOURCE '/aws/lambda/tasks-staging'" in text
    # staging's settings name no namespace: the metrics contract's default for the stage
    assert '{\\"TasksApi/staging\\",operation,service,status_class} MetricName=\\"Requests\\"' in text
    assert "TasksApi/production" not in text
    [alarm_widget] = [widget for widget in body["widgets"] if widget["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == 17  # GSI4 (reminders) added two
    assert _alarms(aws, "staging")["tasks-staging-relay-lag-p95"]["Namespace"] == "TasksApi/staging"


def test_a_second_run_puts_no_alarm_and_no_dashboard(run, aws):
    run("production")
    with aws.server.recording() as calls:
        output = run("production")
    assert outcome(output, "dashboard", "tasks-production").startswith("unchanged (")
    for name in ISSUE_13_ALARMS:
        assert outcome(output, "alarm", name).startswith("unchanged (")
    assert [c.operation for c in calls if re.match(r"Put(Dashboard|MetricAlarm)", c.operation)] == []


def test_a_hand_edited_alarm_and_dashboard_are_put_back(run, aws, stages):
    run("production")
    cloudwatch = _cloudwatch(aws)
    wanted = _dashboard(aws)
    relay = _alarms(aws)["tasks-production-relay-lag-p95"]
    cloudwatch.put_metric_alarm(**{**relay, "ExtendedStatistic": "p50", "Threshold": 120_000.0})
    edited = {**wanted, "widgets": [w for w in wanted["widgets"] if "Dead-letter" not in _title(w)]}
    cloudwatch.put_dashboard(DashboardName="tasks-production", DashboardBody=json.dumps(edited))
    # The rehearsal's check sees both,
    problems = check_monitoring(cloudwatch, "tasks-production", "production", stages["production"])
    assert [problem.split(" ", 2)[:2] for problem in problems] == [
        ["alarm", "tasks-production-relay-lag-p95"],
        ["dashboard", "tasks-production"],
        ["dashboard", "tasks-production"],
    ], problems
    assert "tasks-production-events-dlq" in problems[1]
    assert "tasks-production-stream-failures" in problems[2]
    # and provision puts them back.

    output = run("production")
    assert outcome(output, "alarm", "tasks-production-relay-lag-p95") == "updated (ExtendedStatistic, Threshold)"
    assert outcome(output, "dashboard", "tasks-production") == "updated (widgets: Dead-letter queues: messages)"
    assert _alarms(aws)["tasks-production-relay-lag-p95"] == relay
    assert _dashboard(aws) == wanted


def test_a_dry_run_lists_the_dashboard_and_alarms_and_changes_nothing(run, aws):
    output = run("production", "--dry-run")
    assert outcome(output, "dashboard", "tasks-production").startswith("would be created (")
    for name in ISSUE_13_ALARMS:
        assert outcome(output, "alarm", name).startswith("would be created (")
    assert _cloudwatch(aws).list_dashboards()["DashboardEntries"] == []
    assert _alarms(aws) == {}

    run("production")
    edited = {"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 2, "properties": {"markdown": "x"}}]}
    _cloudwatch(aws).put_dashboard(DashboardName="tasks-production", DashboardBody=json.dumps(edited))
    output = run("production", "--dry-run")
    assert outcome(output, "dashboard", "tasks-production").startswith("would be updated (widgets: ")
    assert _dashboard(aws) == edited


def _cloudwatch(aws) -> CloudWatchClient:
    return boto3.session.Session().client("cloudwatch", region_name=REGION, endpoint_url=aws.server.url)


def _dashboard(aws, name: str = "tasks-production") -> dict[str, Any]:
    return dict(json.loads(_cloudwatch(aws).get_dashboard(DashboardName=name)["DashboardBody"]))


def _title(widget: dict[str, Any]) -> str:
    return str(widget.get("properties", {}).get("title", ""))


def _alarms(aws, stage: str = "production") -> dict[str, Any]:
    """Each alarm as put_metric_alarm takes it back."""
    found = _cloudwatch(aws).describe_alarms(AlarmNamePrefix=f"tasks-{stage}-")["MetricAlarms"]
    keep = {"AlarmName", "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic",
            "ExtendedStatistic", "Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold",
            "ComparisonOperator", "TreatMissingData", "AlarmActions", "OKActions"}  # fmt: skip
    return {alarm["AlarmName"]: {k: v for k, v in alarm.items() if k in keep and v is not None} for alarm in found}


def _shape(alarm: dict[str, Any]) -> tuple[Any, ...]:
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    statistic = alarm.get("ExtendedStatistic") or alarm.get("Statistic")
    return (
        alarm["Namespace"], alarm["MetricName"], dimensions, statistic, alarm["Threshold"],
        alarm["ComparisonOperator"],
    )  # fmt: skip

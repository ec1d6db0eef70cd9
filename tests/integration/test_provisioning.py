"""`provision`: creates what is missing, repairs what drifted, and is a no-op the second time."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from ops.errors import OperationsError
from ops.provisioning.dynamodb import INDEX_POLL_SECONDS, INDEX_WAIT_SECONDS, ensure_table
from ops.provisioning.resources import provision
from ops.provisioning.sqs import MAX_RECEIVE_COUNT


def run_provision(*args: str) -> str:
    out = StringIO()
    call_command("provision", *args, stdout=out)
    return out.getvalue()


def test_a_fresh_account_gets_every_resource_with_the_spec_settings(aws):
    aws.server.reset()
    output = run_provision()
    # the table; 2 queues and their DLQs (events, webhooks); topic; 2 subscriptions; SES's sender and configuration set
    assert output.count("created") == 10
    table = aws.target.client("dynamodb").describe_table(TableName=aws.resources.table_name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == [("PK", "HASH"), ("SK", "RANGE")]
    indexes = {gsi["IndexName"]: gsi for gsi in table["GlobalSecondaryIndexes"]}
    assert sorted(indexes) == ["GSI1", "GSI2", "GSI3", "GSI4"]
    for name, gsi in indexes.items():
        assert gsi["Projection"]["ProjectionType"] == "ALL"
        assert [(k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]] == [
            (f"{name}PK", "HASH"),
            (f"{name}SK", "RANGE"),
        ]

    sqs = aws.target.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=aws.queue_url(), AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == str(aws.resources.visibility_timeout)
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == MAX_RECEIVE_COUNT == 3
    assert redrive["deadLetterTargetArn"].endswith(":tasks-test-events-dlq")
    assert json.loads(attributes["Policy"])["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == (
        aws.resources.topic_arn
    )
    assert attributes["MessageRetentionPeriod"] == str(14 * 24 * 3600)  # consumers may be down for days
    webhooks_url = aws.queue_url(aws.resources.webhooks_queue_name)
    webhooks = sqs.get_queue_attributes(QueueUrl=webhooks_url, AttributeNames=["All"])["Attributes"]
    assert json.loads(webhooks["RedrivePolicy"]) == {
        "deadLetterTargetArn": redrive["deadLetterTargetArn"].replace("-events-dlq", "-webhooks-dlq"),
        "maxReceiveCount": MAX_RECEIVE_COUNT,
    }
    subscribed = aws.target.client("sns").list_subscriptions_by_topic(TopicArn=aws.resources.topic_arn)
    assert sorted(sub["Endpoint"].rsplit(":", 1)[-1] for sub in subscribed["Subscriptions"]) == [
        "tasks-test-events",
        "tasks-test-webhooks",
    ]
    expiry = aws.target.client("dynamodb").describe_time_to_live(TableName=aws.resources.table_name)
    assert expiry["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ExpiresAt"}


def test_running_it_twice_changes_nothing_the_second_time(aws):
    output = run_provision()
    lines = [line for line in output.splitlines() if line.startswith("  ")]
    assert len(lines) == 11
    assert all(line.split()[2] == "unchanged" or "unchanged" in line.split("  ")[-1] for line in lines), output
    assert "created" not in output
    assert "updated" not in output


def test_a_dry_run_on_an_empty_account_creates_nothing(aws):
    aws.server.reset()
    output = run_provision("--dry-run")
    assert output.count("would be created") == 10
    assert aws.target.client("dynamodb").list_tables()["TableNames"] == []
    assert aws.target.client("sqs").list_queues().get("QueueUrls", []) == []


def test_drifted_settings_are_put_back(aws):
    sqs, sns = aws.target.client("sqs"), aws.target.client("sns")
    sqs.set_queue_attributes(QueueUrl=aws.queue_url(), Attributes={"VisibilityTimeout": "77"})
    [subscription] = [
        subscription
        for subscription in sns.list_subscriptions_by_topic(TopicArn=aws.resources.topic_arn)["Subscriptions"]
        if subscription["Endpoint"].endswith(":tasks-test-events")
    ]
    sns.set_subscription_attributes(
        SubscriptionArn=subscription["SubscriptionArn"], AttributeName="RawMessageDelivery", AttributeValue="false"
    )
    output = run_provision()
    [queue_line] = [line for line in output.splitlines() if "queue" in line and "tasks-test-events " in line]
    assert "updated" in queue_line
    assert "VisibilityTimeout" in queue_line  # moto also drops the Policy here, which is put back too
    assert "updated (raw message delivery)" in output
    attributes = sqs.get_queue_attributes(QueueUrl=aws.queue_url(), AttributeNames=["VisibilityTimeout"])
    assert attributes["Attributes"]["VisibilityTimeout"] == str(aws.resources.visibility_timeout)


def recreate_table(aws, *indexes: str) -> None:
    """The table as an older release made it: with only `indexes`."""
    dynamodb = aws.target.client("dynamodb")
    dynamodb.delete_table(TableName=aws.resources.table_name)
    keys = [("PK", "SK"), *((f"{name}PK", f"{name}SK") for name in indexes)]
    dynamodb.create_table(
        TableName=aws.resources.table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for pair in keys for a in pair],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        **(
            {
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": name,
                        "KeySchema": [
                            {"AttributeName": f"{name}PK", "KeyType": "HASH"},
                            {"AttributeName": f"{name}SK", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                    for name in indexes
                ]
            }
            if indexes
            else {}
        ),
    )


def index_names(aws) -> list[str]:
    table = aws.target.client("dynamodb").describe_table(TableName=aws.resources.table_name)["Table"]
    return sorted(i["IndexName"] for i in table.get("GlobalSecondaryIndexes", []))


def test_a_table_without_the_indexes_gets_them(aws):
    recreate_table(aws)
    assert (
        "updated (index GSI1 added, index GSI2 added, index GSI3 added, index GSI4 added, stream NEW_IMAGE)"
        in run_provision()
    )
    assert index_names(aws) == ["GSI1", "GSI2", "GSI3", "GSI4"]


def stream_of(aws) -> dict[str, Any]:
    table = aws.target.client("dynamodb").describe_table(TableName=aws.resources.table_name)["Table"]
    return {"specification": table.get("StreamSpecification"), "arn": table.get("LatestStreamArn")}


def test_the_table_streams_new_images_for_the_outbox_relay(aws):
    aws.server.reset()
    assert "stream NEW_IMAGE" in run_provision()
    stream = stream_of(aws)
    assert stream["specification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert ":table/tasks-test/stream/" in stream["arn"]


def test_a_table_without_a_stream_gets_one_and_a_dry_run_only_says_so(aws):
    recreate_table(aws, "GSI1", "GSI2", "GSI3", "GSI4")
    assert "would be updated (stream NEW_IMAGE)" in run_provision("--dry-run")
    assert stream_of(aws)["arn"] is None
    assert "updated (stream NEW_IMAGE)" in run_provision()
    stream = stream_of(aws)
    assert stream["specification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    [table_line] = [line for line in run_provision().splitlines() if line.split()[:2] == ["table", "tasks-test"]]
    assert "unchanged" in table_line
    assert stream_of(aws)["arn"] == stream["arn"]  # a second run leaves the stream (and its position) alone


class SlowlyBuiltIndexes:
    """The local AWS's DynamoDB client, except that a new index stays CREATING for `polls`
    descriptions, as on AWS while it is backfilled; AWS refuses another index meanwhile."""

    def __init__(self, client: Any, polls: int) -> None:
        self._client = client
        self._polls = polls
        self.building: dict[str, int] = {}
        self.created: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_table(self, **request: Any) -> Any:
        for update in request.get("GlobalSecondaryIndexUpdates", []):
            assert not any(self.building.values()), "an index was added while another was still being built"
            self.building[update["Create"]["IndexName"]] = self._polls
            self.created.append(update["Create"]["IndexName"])
        return self._client.update_table(**request)

    def describe_table(self, **request: Any) -> Any:
        described = self._client.describe_table(**request)
        for index in described["Table"].get("GlobalSecondaryIndexes", []):
            if self.building.get(index["IndexName"]):
                self.building[index["IndexName"]] -= 1
                index["IndexStatus"] = "CREATING"
        return described


def test_an_older_table_gets_the_missing_indexes_one_at_a_time_each_waited_for(aws):
    recreate_table(aws, "GSI1")
    client = SlowlyBuiltIndexes(aws.target.client("dynamodb"), polls=3)
    sleeps: list[float] = []
    [change, *_] = ensure_table(client, aws.resources, dry_run=False, sleep=sleeps.append)  # type: ignore[arg-type]
    assert (change.action, change.detail) == (
        "updated",
        "index GSI2 added, index GSI3 added, index GSI4 added, stream NEW_IMAGE",
    )
    assert client.created == ["GSI2", "GSI3", "GSI4"]
    assert sleeps == [INDEX_POLL_SECONDS] * 9
    assert index_names(aws) == ["GSI1", "GSI2", "GSI3", "GSI4"]
    [again, *_] = ensure_table(client, aws.resources, dry_run=False, sleep=sleeps.append)  # type: ignore[arg-type]
    assert again.action == "unchanged"


def test_an_index_that_is_never_built_stops_provisioning_with_a_clear_error(aws):
    recreate_table(aws, "GSI1")
    client = SlowlyBuiltIndexes(aws.target.client("dynamodb"), polls=10**9)
    sleeps: list[float] = []
    with pytest.raises(OperationsError, match=r"index GSI2 still not ACTIVE after 7200 s.*run provision again"):
        ensure_table(client, aws.resources, dry_run=False, sleep=sleeps.append)  # type: ignore[arg-type]
    assert sum(sleeps) == INDEX_WAIT_SECONDS
    assert client.created == ["GSI2"]


def test_a_dry_run_on_an_older_table_says_which_indexes_would_be_added(aws):
    recreate_table(aws, "GSI1")
    assert "would be updated (index GSI2 added, index GSI3 added, index GSI4 added, stream NEW_IMAGE)" in run_provision(
        "--dry-run"
    )
    assert index_names(aws) == ["GSI1"]


@pytest.mark.parametrize("dry_run", [False, True])
def test_deployed_stages_get_point_in_time_recovery(aws, dry_run):
    resources = type(aws.resources)(**{**aws.resources.__dict__, "point_in_time_recovery": True})
    changes = provision(aws.target, resources, dry_run=dry_run)
    [backup] = [c for c in changes if c.kind == "table backup"]
    assert backup.action == ("would be updated" if dry_run else "updated")
    status = aws.target.client("dynamodb").describe_continuous_backups(TableName=resources.table_name)
    recovery = status["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
    assert recovery == ("DISABLED" if dry_run else "ENABLED")
    if not dry_run:
        [again] = [c for c in provision(aws.target, resources) if c.kind == "table backup"]
        assert again.action == "unchanged"


def test_the_rehearsal_finds_both_queues_subscribed_and_reports_a_missing_subscription(aws):
    from ops.rehearsal.checks import check_provisioned

    client = aws.target.client
    variables = {"TABLE_NAME": "tasks-test", "EVENTS_QUEUE_URL": aws.queue_url(), "TOPIC_ARN": aws.resources.topic_arn}
    stage = {"aws_environment_variables": variables}
    queue_problems = [
        p for p in check_provisioned(client("dynamodb"), client("sqs"), client("sns"), "x", stage) if "queue" in p
    ]
    assert queue_problems == []
    sns = client("sns")
    for subscription in sns.list_subscriptions_by_topic(TopicArn=aws.resources.topic_arn)["Subscriptions"]:
        if subscription["Endpoint"].endswith(":tasks-test-webhooks"):
            sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    problems = check_provisioned(client("dynamodb"), client("sqs"), client("sns"), "x", stage)
    assert any("not subscribed by queue tasks-test-webhooks" in problem for problem in problems)


def test_the_previous_releases_table_gets_the_reminder_index_alone(aws):
    recreate_table(aws, "GSI1", "GSI2", "GSI3")
    assert "updated (index GSI4 added, stream NEW_IMAGE)" in run_provision()
    assert index_names(aws) == ["GSI1", "GSI2", "GSI3", "GSI4"]

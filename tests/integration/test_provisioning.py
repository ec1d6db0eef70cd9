"""`provision`: creates what is missing, repairs what drifted, and is a no-op the second time."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from ops.provisioning.resources import provision
from ops.provisioning.sqs import MAX_RECEIVE_COUNT


def run_provision(*args: str) -> str:
    out = StringIO()
    call_command("provision", *args, stdout=out)
    return out.getvalue()


def test_a_fresh_account_gets_every_resource_with_the_spec_settings(aws):
    aws.server.reset()
    output = run_provision()
    assert output.count("created") == 5
    table = aws.target.client("dynamodb").describe_table(TableName=aws.resources.table_name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == [("PK", "HASH"), ("SK", "RANGE")]
    [gsi] = table["GlobalSecondaryIndexes"]
    assert (gsi["IndexName"], gsi["Projection"]["ProjectionType"]) == ("GSI1", "ALL")
    assert [k["AttributeName"] for k in gsi["KeySchema"]] == ["GSI1PK", "GSI1SK"]

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
    expiry = aws.target.client("dynamodb").describe_time_to_live(TableName=aws.resources.table_name)
    assert expiry["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ExpiresAt"}


def test_running_it_twice_changes_nothing_the_second_time(aws):
    output = run_provision()
    lines = [line for line in output.splitlines() if line.startswith("  ")]
    assert len(lines) == 6
    assert all(line.split()[2] == "unchanged" or "unchanged" in line.split("  ")[-1] for line in lines), output
    assert "created" not in output
    assert "updated" not in output


def test_a_dry_run_on_an_empty_account_creates_nothing(aws):
    aws.server.reset()
    output = run_provision("--dry-run")
    assert output.count("would be created") == 5
    assert aws.target.client("dynamodb").list_tables()["TableNames"] == []
    assert aws.target.client("sqs").list_queues().get("QueueUrls", []) == []


def test_drifted_settings_are_put_back(aws):
    sqs, sns = aws.target.client("sqs"), aws.target.client("sns")
    sqs.set_queue_attributes(QueueUrl=aws.queue_url(), Attributes={"VisibilityTimeout": "77"})
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=aws.resources.topic_arn)["Subscriptions"]
    sns.set_subscription_attributes(
        SubscriptionArn=subscription["SubscriptionArn"], AttributeName="RawMessageDelivery", AttributeValue="false"
    )
    output = run_provision()
    [queue_line] = [line for line in output.splitlines() if "queue" in line and "-dlq" not in line]
    assert "updated" in queue_line
    assert "VisibilityTimeout" in queue_line  # moto also drops the Policy here, which is put back too
    assert "updated (raw message delivery)" in output
    attributes = sqs.get_queue_attributes(QueueUrl=aws.queue_url(), AttributeNames=["VisibilityTimeout"])
    assert attributes["Attributes"]["VisibilityTimeout"] == str(aws.resources.visibility_timeout)


def test_a_table_without_the_index_gets_it(aws):
    dynamodb = aws.target.client("dynamodb")
    dynamodb.delete_table(TableName=aws.resources.table_name)
    dynamodb.create_table(
        TableName=aws.resources.table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("PK", "SK")],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    )
    assert "updated (index GSI1 added)" in run_provision()
    table = dynamodb.describe_table(TableName=aws.resources.table_name)["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["GSI1"]


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


def test_lambda_consumers_get_batch_item_failure_reporting(aws):
    """Zappa's SQS event source lacks ReportBatchItemFailures; provision adds it."""
    iam, lambdas = aws.target.client("iam"), aws.target.client("lambda")
    role = iam.create_role(RoleName="consumer", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambdas.create_function(
        FunctionName="tasks-staging-consumer",
        Runtime="python3.13",
        Role=role,
        Handler="config.lambda_handlers.consume_events",
        Code={"ZipFile": _empty_zip()},
    )
    queue_arn = aws.target.client("sqs").get_queue_attributes(QueueUrl=aws.queue_url(), AttributeNames=["QueueArn"])
    mapping = lambdas.create_event_source_mapping(
        EventSourceArn=queue_arn["Attributes"]["QueueArn"], FunctionName="tasks-staging-consumer", BatchSize=10
    )
    resources = type(aws.resources)(**{**aws.resources.__dict__, "lambda_consumers": True})
    [change] = [c for c in provision(aws.target, resources) if c.kind == "event source"]
    assert (change.name, change.action) == ("tasks-staging-consumer", "updated")
    updated = lambdas.get_event_source_mapping(UUID=mapping["UUID"])
    assert updated["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    [again] = [c for c in provision(aws.target, resources) if c.kind == "event source"]
    assert again.action == "unchanged"


def _empty_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return None\n")
    return buffer.getvalue()

"""Creates or updates the table, topic, queues and subscription; running it twice changes nothing.

Each `ensure_*` step compares what exists with what should, acts only on the difference, and
reports it as a `Change`, so `provision` can print what it did (or, with `dry_run`, would do).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tasks_app.adapters.aws import AwsTarget
from tasks_app.infrastructure.errors import InfrastructureError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import GlobalSecondaryIndexTypeDef
    from mypy_boto3_lambda.client import LambdaClient
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

    QueueAttributes = dict[QueueAttributeNameType, str]

EXPIRY_ATTRIBUTE = "ExpiresAt"
MAX_RECEIVE_COUNT = 3  # deliveries before a message moves to the dead-letter queue
RETENTION_SECONDS = 14 * 24 * 3600  # the longest SQS allows: consumers may be down, dead letters inspected


@dataclass(frozen=True)
class Resources:
    """Names of everything the API needs, as the settings give them."""

    table_name: str
    topic_arn: str
    queue_url: str
    visibility_timeout: int
    point_in_time_recovery: bool
    lambda_consumers: bool  # deployed stages consume the queue with a Lambda function

    @property
    def topic_name(self) -> str:
        return self.topic_arn.rsplit(":", 1)[-1]

    @property
    def queue_name(self) -> str:
        return self.queue_url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def dead_letter_queue_name(self) -> str:
        return f"{self.queue_name}-dlq"


@dataclass(frozen=True)
class Change:
    """One resource's outcome, printed by `provision` as a line."""

    kind: str
    name: str
    action: str  # "created", "updated" or "unchanged"; "would ..." in a dry run
    detail: str = ""

    def __str__(self) -> str:
        return self.line()

    def line(self, name_width: int = 28) -> str:
        return f"{self.kind:<13} {self.name:<{name_width}} {self.action}{f' ({self.detail})' if self.detail else ''}"


def provision(target: AwsTarget, resources: Resources, *, dry_run: bool = False) -> list[Change]:
    sqs = target.client("sqs")
    changes = ensure_table(target.client("dynamodb"), resources, dry_run=dry_run)
    dlq_change, dlq_arn = ensure_queue(sqs, resources.dead_letter_queue_name, _dlq_attributes(), dry_run=dry_run)
    queue_change, queue_arn = ensure_queue(
        sqs, resources.queue_name, _queue_attributes(resources, dlq_arn), dry_run=dry_run
    )
    topic_change = ensure_topic(target.client("sns"), resources, dry_run=dry_run)
    subscription_change = ensure_subscription(target.client("sns"), resources.topic_arn, queue_arn, dry_run=dry_run)
    changes += [dlq_change, queue_change, topic_change, subscription_change]
    if resources.lambda_consumers:
        changes += ensure_batch_failure_reporting(target.client("lambda"), queue_arn, dry_run=dry_run)
    return changes


def act(action: str, dry_run: bool) -> str:
    return f"would be {action}" if dry_run else action


# DynamoDB -------------------------------------------------------------------------------------

_KEY_ATTRIBUTES = ["PK", "SK", "GSI1PK", "GSI1SK"]
_GSI1: GlobalSecondaryIndexTypeDef = {
    "IndexName": "GSI1",
    "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"}, {"AttributeName": "GSI1SK", "KeyType": "RANGE"}],
    "Projection": {"ProjectionType": "ALL"},
}


def ensure_table(client: DynamoDBClient, resources: Resources, *, dry_run: bool) -> list[Change]:
    name = resources.table_name
    try:
        table = client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        if not dry_run:
            client.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in _KEY_ATTRIBUTES],
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                GlobalSecondaryIndexes=[_GSI1],
            )
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        changes = [Change("table", name, act("created", dry_run), "PAY_PER_REQUEST, GSI1")]
        changes += _ensure_expiry(client, name, dry_run=dry_run, table_exists=not dry_run)
        return changes + _ensure_recovery(client, resources, dry_run=dry_run, table_exists=not dry_run)

    updates = []
    if table.get("BillingModeSummary", {}).get("BillingMode") != "PAY_PER_REQUEST":
        updates.append("billing PAY_PER_REQUEST")
        if not dry_run:
            client.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    if not any(index["IndexName"] == "GSI1" for index in table.get("GlobalSecondaryIndexes", [])):
        updates.append("index GSI1 added")
        if not dry_run:
            client.update_table(
                TableName=name,
                AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in _KEY_ATTRIBUTES],
                GlobalSecondaryIndexUpdates=[{"Create": _GSI1}],
            )
    action = act("updated", dry_run) if updates else "unchanged"
    return [
        Change("table", name, action, ", ".join(updates)),
        *_ensure_expiry(client, name, dry_run=dry_run),
        *_ensure_recovery(client, resources, dry_run=dry_run),
    ]


def _ensure_expiry(client: DynamoDBClient, name: str, *, dry_run: bool, table_exists: bool = True) -> list[Change]:
    """Items with `ExpiresAt` (rate-limit counters) are deleted by DynamoDB once it has passed."""
    if table_exists:
        description = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if description.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"} and description.get("AttributeName") == (
            EXPIRY_ATTRIBUTE
        ):
            return [Change("table expiry", name, "unchanged", f"TTL on {EXPIRY_ATTRIBUTE}")]
    if not dry_run:
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRY_ATTRIBUTE}
        )
    return [Change("table expiry", name, act("updated", dry_run), f"TTL on {EXPIRY_ATTRIBUTE}")]


def _ensure_recovery(
    client: DynamoDBClient, resources: Resources, *, dry_run: bool, table_exists: bool = True
) -> list[Change]:
    if not resources.point_in_time_recovery:
        return []
    name = resources.table_name
    if table_exists:
        description = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        if description.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED":
            return [Change("table backup", name, "unchanged", "point-in-time recovery on")]
    if not dry_run:
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return [Change("table backup", name, act("updated", dry_run), "point-in-time recovery on")]


# SQS ------------------------------------------------------------------------------------------


def _dlq_attributes() -> QueueAttributes:
    return {"MessageRetentionPeriod": str(RETENTION_SECONDS)}


def _queue_attributes(resources: Resources, dlq_arn: str) -> QueueAttributes:
    return {
        "VisibilityTimeout": str(resources.visibility_timeout),
        "MessageRetentionPeriod": str(RETENTION_SECONDS),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}),
        "Policy": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "topic-sends-events",
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": "*",
                        "Condition": {"ArnEquals": {"aws:SourceArn": resources.topic_arn}},
                    }
                ],
            }
        ),
    }


def ensure_queue(client: SQSClient, name: str, wanted: QueueAttributes, *, dry_run: bool) -> tuple[Change, str]:
    """The queue's change and ARN (a predicted ARN when a dry run would create it)."""
    try:
        url = client.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as error:
        if _error_code(error) not in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
            raise
        if dry_run:
            return Change("queue", name, act("created", True)), f"arn:aws:sqs:::{name}"
        url = client.create_queue(QueueName=name, Attributes=wanted)["QueueUrl"]
        return Change("queue", name, "created"), _queue_arn(client, url)
    current = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    different = {key: value for key, value in wanted.items() if not _same_attribute(current.get(key), value)}
    if different and not dry_run:
        client.set_queue_attributes(QueueUrl=url, Attributes=different)
    action = act("updated", dry_run) if different else "unchanged"
    return Change("queue", name, action, ", ".join(sorted(different))), current["QueueArn"]


def _queue_arn(client: SQSClient, url: str) -> str:
    return client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _same_attribute(current: str | None, wanted: str) -> bool:
    """SQS may echo JSON attributes re-encoded (numbers as strings, other spacing)."""
    if current == wanted:
        return True
    if current is None or not wanted.startswith("{"):
        return False
    try:
        return bool(_normalized(json.loads(current)) == _normalized(json.loads(wanted)))
    except ValueError:
        return False


def _normalized(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _normalized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalized(item) for item in value]
    return str(value)


# SNS ------------------------------------------------------------------------------------------


def ensure_topic(client: SNSClient, resources: Resources, *, dry_run: bool) -> Change:
    try:
        client.get_topic_attributes(TopicArn=resources.topic_arn)
        return Change("topic", resources.topic_name, "unchanged")
    except client.exceptions.NotFoundException:
        pass
    if not dry_run:
        arn = client.create_topic(Name=resources.topic_name)["TopicArn"]
        if arn != resources.topic_arn:
            raise InfrastructureError(
                f"TOPIC_ARN is {resources.topic_arn} but these credentials created {arn}: "
                "check the region and account in TOPIC_ARN."
            )
    return Change("topic", resources.topic_name, act("created", dry_run))


def ensure_subscription(client: SNSClient, topic_arn: str, queue_arn: str, *, dry_run: bool) -> Change:
    name = f"{topic_arn.rsplit(':', 1)[-1]} -> {queue_arn.rsplit(':', 1)[-1]}"
    subscription_arn = _find_subscription(client, topic_arn, queue_arn)
    if subscription_arn is None:
        if not dry_run:
            # Raw delivery: the queue receives the event JSON itself, not SNS's wrapper around it.
            client.subscribe(
                TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
            )
        return Change("subscription", name, act("created", dry_run), "raw message delivery")
    attributes = client.get_subscription_attributes(SubscriptionArn=subscription_arn)["Attributes"]
    if attributes.get("RawMessageDelivery") == "true":
        return Change("subscription", name, "unchanged")
    if not dry_run:
        client.set_subscription_attributes(
            SubscriptionArn=subscription_arn, AttributeName="RawMessageDelivery", AttributeValue="true"
        )
    return Change("subscription", name, act("updated", dry_run), "raw message delivery")


def _find_subscription(client: SNSClient, topic_arn: str, queue_arn: str) -> str | None:
    try:
        for page in client.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
            for subscription in page["Subscriptions"]:
                if subscription["Protocol"] == "sqs" and subscription["Endpoint"] == queue_arn:
                    return subscription["SubscriptionArn"]
    except client.exceptions.NotFoundException:  # a dry run before the topic exists
        pass
    return None


# Lambda -----------------------------------------------------------------------------------


def ensure_batch_failure_reporting(client: LambdaClient, queue_arn: str, *, dry_run: bool) -> list[Change]:
    """Zappa creates the SQS event source without `ReportBatchItemFailures`. Without it Lambda
    ignores the failed message ids the consumer returns, and retries or drops whole batches."""
    mappings = client.list_event_source_mappings(EventSourceArn=queue_arn).get("EventSourceMappings", [])
    if not mappings:
        return [Change("event source", queue_arn.rsplit(":", 1)[-1], "absent", "deploy, then provision again")]
    changes = []
    for mapping in mappings:
        name = mapping.get("FunctionArn", "?").rsplit(":", 1)[-1]
        if "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []):
            changes.append(Change("event source", name, "unchanged", "ReportBatchItemFailures"))
            continue
        if not dry_run:
            client.update_event_source_mapping(UUID=mapping["UUID"], FunctionResponseTypes=["ReportBatchItemFailures"])
        changes.append(Change("event source", name, act("updated", dry_run), "ReportBatchItemFailures"))
    return changes


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))

"""The events and webhooks queues and their dead-letter queues (SPEC §4, issue 14): redrive after 3
receives, 14 days' retention, and a policy that lets the topic send (the webhooks worker sends its
retries to its own queue with its IAM role's permission). Deployed stages add the stream relay's failure queue."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ops.provisioning.changes import Change, act, error_code

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

    from ops.provisioning.resources import Resources

    QueueAttributes = dict[QueueAttributeNameType, str]

MAX_RECEIVE_COUNT = 3  # deliveries before a message moves to the dead-letter queue
RETENTION_SECONDS = 14 * 24 * 3600  # the longest SQS allows: consumers may be down, dead letters inspected


def stream_failures_queue_name(table_name: str) -> str:
    """Where Lambda sends what the stream relay gave up on (`<table>-stream-failures`)."""
    return f"{table_name}-stream-failures"


def dlq_attributes() -> QueueAttributes:
    """A dead letter's queue: kept as long as SQS allows, for people to look at."""
    return {"MessageRetentionPeriod": str(RETENTION_SECONDS)}


def queue_attributes(resources: Resources, dlq_arn: str) -> QueueAttributes:
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
        if error_code(error) not in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
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

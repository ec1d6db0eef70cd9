"""Events published to SNS arrive on the subscribed SQS queue in the SPEC §4 format."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tasks_app import bootstrap
from tasks_app.adapters.aws import AwsTarget
from tasks_app.adapters.sns import SnsEventPublisher
from tasks_app.application.ports import OutboxEntry
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def completed_task_entries() -> list[OutboxEntry]:
    task = Task.create(user_id=UserId("alice"), title="Ship it 🚀", now=NOW)
    task.complete(NOW)
    return [OutboxEntry.from_event(event) for event in task.pull_events()]


def test_each_event_arrives_on_the_queue_as_the_spec_message(aws):
    entries = completed_task_entries()
    assert bootstrap.event_publisher().publish(entries) == entries
    received = sorted(aws.drain(), key=lambda m: m["data"]["sequence"])
    assert [m["event_id"] for m in received] == [e.event_id for e in entries]
    for message, entry in zip(received, entries, strict=True):
        attributes = message.pop("_attributes")
        assert message == json.loads(entry.message)
        assert attributes["event_type"] == {"StringValue": entry.event_type, "DataType": "String"}
    assert received[2]["data"]["task_title"] == "Ship it 🚀"


def test_subscribers_without_raw_delivery_see_the_subject(aws):
    sns, sqs = aws.target.client("sns"), aws.target.client("sqs")
    url = sqs.create_queue(QueueName="wrapped")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=aws.resources.topic_arn, Protocol="sqs", Endpoint=arn)
    bootstrap.event_publisher().publish(completed_task_entries())
    subjects = sorted(m["Subject"] for m in aws.drain(url))
    assert subjects == ["Domain Event: TaskCompleted", "Domain Event: TaskCreated", "Domain Event: TaskStatusChanged"]


def test_an_unreachable_topic_publishes_nothing(aws):
    aws.target.client("sns").delete_topic(TopicArn=aws.resources.topic_arn)
    assert bootstrap.event_publisher().publish(completed_task_entries()) == []


def test_an_unreachable_endpoint_publishes_nothing(aws):
    client = AwsTarget(region="us-east-1", endpoint_url="http://127.0.0.1:9").client("sns")
    assert SnsEventPublisher(client, aws.resources.topic_arn).publish(completed_task_entries()) == []

"""Events published to SNS arrive on the subscribed SQS queue in the SPEC §4 format."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tasks_app import bootstrap
from tasks_app.adapters.sns import SnsEventPublisher
from tasks_app.application.ports import PublishFailed
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def completed_task_events() -> list:
    task = Task.create(user_id=UserId("alice"), title="Ship it 🚀", now=NOW)
    task.complete(NOW)
    return task.pull_events()


def test_each_event_arrives_on_the_queue_as_the_spec_message(aws):
    events = completed_task_events()
    bootstrap.event_publisher().publish(events)
    received = aws.drain()
    assert [m["event_id"] for m in received] == [e.event_id for e in events]
    for message, event in zip(received, events, strict=True):
        attributes = message.pop("_attributes")
        assert message == event.to_message()
        assert attributes["event_type"] == {"StringValue": event.event_type, "DataType": "String"}
    assert received[2]["data"]["task_title"] == "Ship it 🚀"


def test_subscribers_without_raw_delivery_see_the_subject(aws):
    sns, sqs = aws.target.client("sns"), aws.target.client("sqs")
    url = sqs.create_queue(QueueName="wrapped")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=aws.resources.topic_arn, Protocol="sqs", Endpoint=arn)
    bootstrap.event_publisher().publish(completed_task_events())
    subjects = [m["Subject"] for m in aws.drain(url)]
    assert subjects == ["Domain Event: TaskCreated", "Domain Event: TaskStatusChanged", "Domain Event: TaskCompleted"]


def test_more_than_ten_events_go_out_in_several_batches_in_order(aws):
    events = [e for _ in range(4) for e in completed_task_events()]  # 12 events
    with aws.server.recording() as calls:
        bootstrap.event_publisher().publish(events)
    assert [c.operation for c in calls] == ["PublishBatch", "PublishBatch"]
    assert sorted(m["event_id"] for m in aws.drain()) == sorted(e.event_id for e in events)


def test_an_unreachable_topic_is_a_publish_failure(aws):
    aws.target.client("sns").delete_topic(TopicArn=aws.resources.topic_arn)
    with pytest.raises(PublishFailed, match="SNS"):
        bootstrap.event_publisher().publish(completed_task_events())


def test_an_unreachable_endpoint_is_a_publish_failure(aws):
    publisher = SnsEventPublisher(
        type(aws.target)(region="us-east-1", endpoint_url="http://127.0.0.1:9").client("sns"), aws.resources.topic_arn
    )
    with pytest.raises(PublishFailed, match="Could not connect"):
        publisher.publish(completed_task_events())

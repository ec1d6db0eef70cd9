"""The relay woken by the table's DynamoDB stream: what Lambda's stream event source hands
`config.lambda_handlers.relay_stream`, read here from the embedded AWS's real stream."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from config.lambda_handlers import relay_stream
from tasks_app import bootstrap
from tasks_app.application.idempotency import IdempotencyClaim, IdempotencyKeyInUse, RecordedResponse
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId

# The repository checks a key's 24 hours against the real clock: a fixed date would expire the key.
NOW = datetime.now(UTC)


class Stream:
    """The table's stream read as Lambda reads it: every record since the last read, in order."""

    def __init__(self, aws: Any) -> None:
        self.client = aws.target.client("dynamodbstreams")
        arn = aws.target.client("dynamodb").describe_table(TableName=aws.resources.table_name)["Table"]
        self.arn = arn["LatestStreamArn"]
        [shard] = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        self.iterator = self.client.get_shard_iterator(
            StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]

    def records(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while True:
            answer = self.client.get_records(ShardIterator=self.iterator, Limit=1000)
            self.iterator = answer["NextShardIterator"]
            if not answer["Records"]:
                return records
            records += answer["Records"]


@pytest.fixture
def stream(aws):
    return Stream(aws)


def outbox_inserts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        r for r in records if r["eventName"] == "INSERT" and r["dynamodb"]["NewImage"]["Type"]["S"] == "OutboxEvent"
    ]


def test_the_records_of_a_create_publish_its_event_and_forget_it(api, aws, stream):
    task = api.created(title="Streamed")
    records = stream.records()
    assert len(outbox_inserts(records)) == 1
    assert relay_stream({"Records": records}, None) == {"batchItemFailures": []}
    [event] = [json.loads(m["Body"]) for m in _receive(aws)]
    assert (event["event_type"], event["aggregate_id"]) == ("TaskCreated", task["task_id"])
    assert bootstrap.outbox().pending(limit=10) == []


def test_records_other_than_outbox_inserts_publish_nothing(api, aws, stream):
    task = api.created()
    relay_stream({"Records": stream.records()}, None)  # the create's, and the outbox item's removal
    _receive(aws)
    assert api.get(task["task_id"]).status_code == 200  # the rate counter writes a record too
    others = stream.records()
    assert others  # a REMOVE of the outbox item, counter updates
    assert not outbox_inserts(others)
    assert relay_stream({"Records": others}, None) == {"batchItemFailures": []}
    assert _receive(aws) == []


def test_with_sns_down_every_outbox_record_is_reported_failed_and_the_events_stay(api, aws, stream):
    aws.target.client("sns").delete_topic(TopicArn=aws.resources.topic_arn)
    task = api.created()
    api.complete(task["task_id"])
    records = stream.records()
    failures = relay_stream({"Records": records}, None)["batchItemFailures"]
    inserted = [r["dynamodb"]["SequenceNumber"] for r in outbox_inserts(records)]
    assert [f["itemIdentifier"] for f in failures] == inserted  # Lambda retries from the lowest
    assert len(bootstrap.outbox().pending(limit=10)) == 3

    call_command("provision", stdout=StringIO())  # SNS is back: Lambda's retry succeeds, in order
    assert relay_stream({"Records": records}, None) == {"batchItemFailures": []}
    assert [json.loads(m["Body"])["data"]["sequence"] for m in _receive(aws)] == [1, 2, 3]


def test_a_batch_of_many_tasks_keeps_each_tasks_order(api, aws, stream):
    tasks = [api.created(title=f"t{i}")["task_id"] for i in range(12)]
    for task_id in tasks:
        api.complete(task_id)
    assert relay_stream({"Records": stream.records()}, None) == {"batchItemFailures": []}
    events = [json.loads(m["Body"]) for m in _receive(aws)]
    assert len(events) == 36
    for task_id in tasks:
        assert [e["data"]["sequence"] for e in events if e["aggregate_id"] == task_id] == [1, 2, 3]


def test_a_cancelled_transaction_leaves_no_record_that_could_publish_a_phantom_event(aws, stream):
    """The idempotency record is the transaction's last item: the task and its outbox event are
    written before DynamoDB finds the key taken, and must leave no trace, stream included."""
    repository = bootstrap.task_repository()
    claim = IdempotencyClaim(
        scope="alice", key="k-1", fingerprint="f", respond=lambda t: RecordedResponse(201, str(t.task_id), {})
    )
    first = Task.create(user_id=UserId("alice"), title="first", now=NOW)
    repository.add(first, idempotency=claim.record_for(first, NOW))
    second = Task.create(user_id=UserId("alice"), title="second", now=NOW)
    with pytest.raises(IdempotencyKeyInUse):
        repository.add(second, idempotency=claim.record_for(second, NOW))
    inserted = outbox_inserts(stream.records())
    assert [r["dynamodb"]["NewImage"]["AggregateId"]["S"] for r in inserted] == [str(first.task_id)]


def _receive(aws: Any) -> list[dict[str, Any]]:
    sqs, url = aws.target.client("sqs"), aws.queue_url()
    messages = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            messages.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def test_a_topic_made_again_gets_no_event_before_its_subscription_is_back(api, aws, stream):
    """The moment between `provision`'s topic and its subscription: SNS would accept a publish
    there and deliver it to nobody. The relay that found the topic missing waits for a subscriber."""
    from ops.provisioning.sns import ensure_subscription, ensure_topic

    sns = aws.target.client("sns")
    sns.delete_topic(TopicArn=aws.resources.topic_arn)
    tasks = [api.created(title=f"t{i}")["task_id"] for i in range(3)]
    records = stream.records()
    assert relay_stream({"Records": records}, None)["batchItemFailures"]  # NotFound: nothing sent

    ensure_topic(sns, aws.resources, dry_run=False)  # provision, half-way
    assert len(relay_stream({"Records": records}, None)["batchItemFailures"]) == 3
    assert len(bootstrap.outbox().pending(limit=10)) == 3

    queue_arn = aws.target.client("sqs").get_queue_attributes(QueueUrl=aws.queue_url(), AttributeNames=["QueueArn"])
    ensure_subscription(sns, aws.resources.topic_arn, queue_arn["Attributes"]["QueueArn"], dry_run=False)
    assert relay_stream({"Records": records}, None) == {"batchItemFailures": []}
    assert sorted(json.loads(m["Body"])["aggregate_id"] for m in _receive(aws)) == sorted(tasks)


def test_events_behind_one_the_stream_relay_gave_up_on_are_left_to_the_sweeper_in_order(api, aws, stream):
    """Lambda gives a record up after its retries; the task's later events must not overtake it."""
    sns = aws.target.client("sns")
    sns.delete_topic(TopicArn=aws.resources.topic_arn)
    task = api.created()
    created = stream.records()
    for _ in range(6):  # the first try and 5 retries, all refused: Lambda moves on
        assert relay_stream({"Records": created}, None)["batchItemFailures"]
    call_command("provision", stdout=StringIO())  # SNS is back
    api.complete(task["task_id"])
    assert relay_stream({"Records": stream.records()}, None) == {"batchItemFailures": []}  # not failed...
    assert _receive(aws) == []  # ...but not sent before the event it follows
    assert bootstrap.relay_all(settle=timedelta(0)).published == 3  # the sweeper, in order
    assert [json.loads(m["Body"])["data"]["sequence"] for m in _receive(aws)] == [1, 2, 3]


def test_a_task_whose_earlier_events_were_published_costs_one_read_of_the_outbox(api, aws, stream):
    task = api.created()
    relay_stream({"Records": stream.records()}, None)
    api.complete(task["task_id"])
    records = stream.records()
    with aws.server.recording() as calls:
        assert relay_stream({"Records": records}, None) == {"batchItemFailures": []}
    dynamodb = sorted(c.operation for c in calls if c.service == "dynamodb")
    assert dynamodb == ["BatchGetItem", "BatchWriteItem", "BatchWriteItem"]  # its two events: two batches
    assert [json.loads(m["Body"])["data"]["sequence"] for m in _receive(aws)] == [1, 2, 3]

"""The local AWS keeps the stack's table and queues itself: every write survives a kill, queues survive a stop."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ops.local.aws_server import Owner
from ops.local.embedded_aws import EmbeddedAws, LocalAwsError

TABLE, QUEUE, DLQ = "tasks", "tasks-events", "tasks-events-dlq"
REGION = "us-east-1"


def client(aws: EmbeddedAws, service: str, app_id: str | None = None) -> Any:
    config = Config(user_agent_appid=app_id) if app_id else None  # type: ignore[call-arg]  # newer than the stubs
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        endpoint_url=aws.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def provision(aws: EmbeddedAws) -> None:
    client(aws, "dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = client(aws, "sqs")
    sqs.create_queue(QueueName=DLQ)
    sqs.create_queue(QueueName=QUEUE)


def started(state_dir: Path, owner: Owner | None = None) -> EmbeddedAws:
    aws = EmbeddedAws(state_dir=state_dir, region=REGION, owner=owner, log_path=state_dir / "aws.log").start()
    provision(aws)
    return aws


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def servers() -> Iterator[list[EmbeddedAws]]:
    running: list[EmbeddedAws] = []
    yield running
    for aws in running:
        aws.stop()


def item(key: str, **attributes: str) -> dict[str, Any]:
    return {"PK": {"S": key}, "SK": {"S": "item"}, **{name: {"S": value} for name, value in attributes.items()}}


def table_items(aws: EmbeddedAws) -> dict[str, dict[str, Any]]:
    items = client(aws, "dynamodb").scan(TableName=TABLE)["Items"]
    return {found["PK"]["S"]: found for found in items}


def kill(aws: EmbeddedAws) -> None:
    """As an out-of-memory kill would: no save, no cleanup."""
    assert aws.pid is not None
    os.kill(aws.pid, signal.SIGKILL)
    aws.stop()


def test_every_kind_of_write_survives_killing_the_local_aws(state_dir, servers):
    aws = started(state_dir)
    servers.append(aws)
    assert aws.load_state(TABLE, [QUEUE, DLQ]) == {"items": 0, "messages": {QUEUE: 0, DLQ: 0}}
    dynamodb = client(aws, "dynamodb")
    dynamodb.put_item(TableName=TABLE, Item=item("put", Title="✓ unicode"))
    dynamodb.put_item(TableName=TABLE, Item=item("updated", Title="before"))
    dynamodb.update_item(
        TableName=TABLE,
        Key={"PK": {"S": "updated"}, "SK": {"S": "item"}},
        UpdateExpression="SET Title = :t",
        ExpressionAttributeValues={":t": {"S": "after"}},
    )
    dynamodb.put_item(TableName=TABLE, Item=item("deleted"))
    dynamodb.delete_item(TableName=TABLE, Key={"PK": {"S": "deleted"}, "SK": {"S": "item"}})
    dynamodb.batch_write_item(
        RequestItems={
            TABLE: [
                {"PutRequest": {"Item": item("batch-1")}},
                {"PutRequest": {"Item": item("batch-2")}},
                {"DeleteRequest": {"Key": {"PK": {"S": "put"}, "SK": {"S": "item"}}}},
            ]
        }
    )
    dynamodb.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": item("transacted")}}])
    with pytest.raises(ClientError):  # cancelled: changes nothing, so nothing may come back either
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": item("never")}},
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": item("transacted"),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    before = table_items(aws)
    assert sorted(before) == ["batch-1", "batch-2", "transacted", "updated"]
    kill(aws)

    again = started(state_dir)
    servers.append(again)
    assert again.load_state(TABLE, [QUEUE, DLQ])["items"] == 4
    assert table_items(again) == before
    assert table_items(again)["updated"]["Title"] == {"S": "after"}


def test_queued_and_dead_messages_survive_a_stop_with_their_receive_counts(state_dir, servers):
    aws = started(state_dir)
    servers.append(aws)
    aws.load_state(TABLE, [QUEUE, DLQ])
    sqs = client(aws, "sqs")
    queue_url, dlq_url = (sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in (QUEUE, DLQ))
    for body in ("first", "second"):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    sqs.send_message(QueueUrl=dlq_url, MessageBody="dead")
    in_flight = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, VisibilityTimeout=300)["Messages"]
    assert aws.save_state(compact=False)["messages"] == {QUEUE: 2, DLQ: 1}
    aws.stop()

    again = started(state_dir)
    servers.append(again)
    assert again.load_state(TABLE, [QUEUE, DLQ])["messages"] == {QUEUE: 2, DLQ: 1}
    sqs = client(again, "sqs")
    queue_url, dlq_url = (sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in (QUEUE, DLQ))
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    counts = {message["Body"]: message["Attributes"]["ApproximateReceiveCount"] for message in received}
    # The one in flight when it stopped is visible again, and counts its earlier receive.
    assert counts == {in_flight[0]["Body"]: "2", ({"first", "second"} - {in_flight[0]["Body"]}).pop(): "1"}
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=dlq_url)["Messages"]] == ["dead"]


def test_a_save_merges_the_journal_and_a_torn_last_line_is_skipped(state_dir, servers):
    aws = started(state_dir)
    servers.append(aws)
    aws.load_state(TABLE, [QUEUE, DLQ])
    for n in range(5):
        client(aws, "dynamodb").put_item(TableName=TABLE, Item=item(f"task-{n}"))
    saved = aws.save_state(compact=True)
    assert saved["items"] == 5
    assert saved["lock_held_seconds"] < 0.05
    assert sorted(path.name for path in state_dir.glob("table-*")) == ["table-snapshot.jsonl"]
    client(aws, "dynamodb").put_item(TableName=TABLE, Item=item("task-5"))
    kill(aws)
    journal = next(state_dir.glob("table-journal-*.jsonl"))
    with journal.open("a") as stream:  # a write cut short by the kill
        stream.write('{"key": {"PK": {"S": "torn"}')

    again = started(state_dir)
    servers.append(again)
    assert again.load_state(TABLE, [QUEUE, DLQ])["items"] == 6
    assert "torn" not in table_items(again)


def test_a_corrupt_snapshot_is_refused_and_left_as_it_is(state_dir, servers):
    snapshot = state_dir / "table-snapshot.jsonl"
    snapshot.write_text(json.dumps(item("fine")) + "\nnot json\n")
    before = snapshot.read_text()
    aws = started(state_dir)
    servers.append(aws)
    with pytest.raises(LocalAwsError, match="line 2 is not JSON"):
        aws.load_state(TABLE, [QUEUE, DLQ])
    assert table_items(aws) == {}
    assert snapshot.read_text() == before


def test_the_local_aws_of_a_stack_refuses_another_checkouts_clients(state_dir, servers, monkeypatch):
    monkeypatch.delenv("AWS_SDK_UA_APP_ID", raising=False)  # settings set this checkout's
    aws = started(state_dir, owner=Owner("tasks-mine", "/home/me/tasks"))
    servers.append(aws)
    assert client(aws, "dynamodb", app_id="tasks-mine").list_tables()["TableNames"] == [TABLE]
    assert client(aws, "dynamodb").list_tables()["TableNames"] == [TABLE]  # no claim: the AWS CLI, say
    for service in ("dynamodb", "sqs", "sns"):
        other = client(aws, service, app_id="tasks-theirs")
        call = {"dynamodb": other.list_tables if service == "dynamodb" else None}.get(service)
        call = call or (other.list_queues if service == "sqs" else other.list_topics)
        with pytest.raises(ClientError) as refused:
            call()
        assert "another checkout (/home/me/tasks)" in refused.value.response["Error"]["Message"]


def test_messages_published_or_deleted_since_the_last_save_survive_killing_the_local_aws(state_dir, servers):
    aws = started(state_dir)
    servers.append(aws)
    aws.load_state(TABLE, [QUEUE, DLQ])
    sqs, sns = client(aws, "sqs"), client(aws, "sns")
    queue_url, dlq_url = (sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in (QUEUE, DLQ))
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="events")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    aws.save_state(compact=False)  # what the last autosave saw: nothing
    for body in ("published-1", "published-2", "published-3"):
        sns.publish(TopicArn=topic, Message=body)  # delivered inside the local AWS, with no SQS call
    sqs.send_message(QueueUrl=dlq_url, MessageBody="dead")
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)["Messages"][0]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=received["ReceiptHandle"])
    kill(aws)

    again = started(state_dir)
    servers.append(again)
    assert again.load_state(TABLE, [QUEUE, DLQ])["messages"] == {QUEUE: 2, DLQ: 1}
    sqs = client(again, "sqs")
    queue_url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    bodies = {m["Body"] for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]}
    assert bodies == {"published-1", "published-2", "published-3"} - {received["Body"]}

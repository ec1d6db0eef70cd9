"""Operating the queues from the shell: depths, dead letters, redrive, the relay."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def dead_letter(aws, body: str) -> str:
    sqs = aws.target.client("sqs")
    return sqs.send_message(QueueUrl=aws.queue_url(f"{aws.resources.queue_name}-dlq"), MessageBody=body)["MessageId"]


def test_queue_status_shows_both_queues(api, aws):
    api.created()
    api.created()
    aws.relay()
    dead_letter(aws, "poison")
    lines = run("queue_status").splitlines()
    assert lines[1].split() == ["tasks-test-events", "2", "0", "0"]
    assert lines[2].split() == ["tasks-test-events-dlq", "1", "0", "0"]
    assert lines[3].split() == ["tasks-test-webhooks", "2", "0", "0"]  # the same events, to fan out
    assert lines[4].split() == ["tasks-test-webhooks-dlq", "0", "0", "0"]
    assert len(lines) == 5  # the local stack has no stream-failure queue


def test_queue_status_shows_a_deployed_stages_stream_failure_queue(aws):
    sqs = aws.target.client("sqs")
    url = sqs.create_queue(QueueName="tasks-test-stream-failures")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody='{"requestContext": {}}')  # what Lambda sends on giving up
    assert run("queue_status").splitlines()[5].split() == ["tasks-test-stream-failures", "1", "0", "0"]


def test_the_webhooks_dead_letters_are_listed_and_redriven_with_queue_webhooks(aws):
    sqs = aws.target.client("sqs")
    dlq = aws.queue_url(f"{aws.resources.webhooks_queue_name}-dlq")
    message_id = sqs.send_message(QueueUrl=dlq, MessageBody='{"webhook_delivery": {}}')["MessageId"]
    assert "0 dead letters." in run("dlq_list")  # the events queue's, by default
    assert message_id in run("dlq_list", "--queue", "webhooks")
    assert "1 dead letter moved back to tasks-test-webhooks." in run("dlq_redrive", "--queue", "webhooks", "--all")
    (moved,) = sqs.receive_message(QueueUrl=aws.queue_url(aws.resources.webhooks_queue_name))["Messages"]
    assert moved["Body"] == '{"webhook_delivery": {}}'


def test_dead_letters_are_listed_without_being_taken(aws):
    ids = {dead_letter(aws, json.dumps({"n": n})) for n in range(3)}
    listed = [json.loads(line) for line in run("dlq_list", "--json").splitlines()]
    assert {letter["message_id"] for letter in listed} == ids
    assert "3 dead letters." in run("dlq_list")  # still there


def test_every_dead_letter_is_listed_even_past_the_first_ten(aws):
    ids = {dead_letter(aws, f"m{n}") for n in range(23)}
    assert {json.loads(line)["message_id"] for line in run("dlq_list", "--json").splitlines()} == ids
    assert len(run("dlq_list", "--json", "--most", "12").splitlines()) == 12


def test_a_listing_counts_one_receive_per_dead_letter_and_says_so(aws):
    """SQS cannot peek: each listing receives each message once, and the output says it counted."""
    dead_letter(aws, "poison")
    listed = [json.loads(run("dlq_list", "--json")) for _ in range(2)]
    assert [letter["receive_count"] for letter in listed] == [1, 2]
    first = datetime.fromisoformat(listed[1]["first_received_at"])  # when it was first received, readable
    assert abs((datetime.now(UTC) - first).total_seconds()) < 60
    output = run("dlq_list")
    assert re.search(r" received 3x since 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00  poison", output)
    assert "SQS counts" in output
    assert "this one" in output


def test_a_dead_letter_names_the_request_that_caused_it_and_keeps_it_when_redriven(api, aws):
    api.client.post("/tasks", {"user_id": "alice", "title": "t"}, format="json", HTTP_X_REQUEST_ID="req-dead-1")
    [message] = aws.drain()
    sqs, dlq = aws.target.client("sqs"), aws.queue_url(f"{aws.resources.queue_name}-dlq")
    attributes = message.pop("_attributes")  # as SQS moves a message to the DLQ: with its attributes
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(message), MessageAttributes=attributes)
    assert json.loads(run("dlq_list", "--json"))["request_id"] == "req-dead-1"
    assert re.search(r"received 2x since \S+  request req-dead-1  \{", run("dlq_list"))
    run("dlq_redrive", "--all")
    [redriven] = aws.drain()
    assert redriven["_attributes"]["request_id"]["StringValue"] == "req-dead-1"


def test_listed_dead_letters_can_be_redriven_at_once(aws):
    """Listing hides each message while it reads the rest, then shows them all again at once."""
    ids = {dead_letter(aws, f"m{n}") for n in range(3)}
    run("dlq_list")
    assert {m["MessageId"] for m in _peek_dead_letters(aws)} == ids


def test_counts_of_one_are_singular(aws):
    move = dead_letter(aws, "move")
    assert run("dlq_list").splitlines()[-2] == "1 dead letter."
    assert "\n1 dead letter moved back to " in run("dlq_redrive", "--message-id", move)
    assert "0 dead letters." in run("dlq_list")


def test_one_dead_letter_can_be_redriven_by_id(aws):
    keep, move = dead_letter(aws, "keep"), dead_letter(aws, "move")
    output = run("dlq_redrive", "--message-id", move)
    assert f"moved {move}" in output
    assert [m["MessageId"] for m in _peek_dead_letters(aws)] == [keep]
    assert [m["Body"] for m in _take(aws)] == ["move"]


def test_all_dead_letters_can_be_redriven(aws):
    for n in range(12):
        dead_letter(aws, f"m{n}")
    assert "12 dead letters moved back" in run("dlq_redrive", "--all")
    assert _peek_dead_letters(aws) == []
    assert sorted(m["Body"] for m in _take(aws)) == sorted(f"m{n}" for n in range(12))


def test_redriving_an_unknown_id_says_so(aws):
    with pytest.raises(CommandError, match="Not in the dead-letter queue: nope"):
        run("dlq_redrive", "--message-id", "nope")


def test_the_relay_command_publishes_what_is_left_in_the_outbox(api, aws, settings):
    settings.OUTBOX_SETTLE_SECONDS = 0
    aws.target.client("sns").delete_topic(TopicArn=aws.resources.topic_arn)
    api.client.post("/tasks", {"user_id": "alice", "title": "t"}, format="json", HTTP_X_REQUEST_ID="req-waiting")
    aws.relay()  # fails too
    assert "Published 0 events; 1 held back" in run("relay_outbox")
    assert run("outbox_list").endswith("  request req-waiting\n1 event waiting.\n")  # what caused it
    run("provision")
    assert "Published 1 event; 0 held back" in run("relay_outbox")
    assert len(aws.drain()) == 1
    assert run("outbox_list") == "0 events waiting.\n"


def _peek_dead_letters(aws) -> list[dict]:
    """Receive without hiding; safe on the DLQ, which has no redrive policy of its own."""
    sqs = aws.target.client("sqs")
    seen: dict[str, dict] = {}
    for _ in range(5):
        for message in sqs.receive_message(
            QueueUrl=aws.queue_url(f"{aws.resources.queue_name}-dlq"), MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", []):
            seen[message["MessageId"]] = message
    return list(seen.values())


def _take(aws) -> list[dict]:
    """Receive and delete everything on the events queue (peeking there would count as deliveries)."""
    sqs = aws.target.client("sqs")
    taken = []
    while messages := sqs.receive_message(QueueUrl=aws.queue_url(), MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=aws.queue_url(), ReceiptHandle=message["ReceiptHandle"])
            taken.append(message)
    return taken


def test_the_relay_command_run_once_publishes_even_an_event_just_stored(api, aws):
    api.created()  # nothing relayed it yet, and it is seconds old: a sweep would leave it
    assert "Published 1 event; 0 held back" in run("relay_outbox")
    assert run("outbox_list") == "0 events waiting.\n"

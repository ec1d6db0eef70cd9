"""The outbox on DynamoDB, and the relay through it to SNS: nothing stored is lost, whatever fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from tasks_app import bootstrap
from tasks_app.adapters.dynamodb.models import OUTBOX_SHARDS, OutboxItem
from tasks_app.application.ports import OutboxEntry
from tasks_app.application.relay import relay_outbox
from tasks_app.domain.task import Task
from tasks_app.domain.values import TaskId, UserId
from tests.fakes import FakeOutbox

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["fake", "dynamodb"])
def outbox(request):
    if request.param == "fake":
        return FakeOutbox()
    request.getfixturevalue("aws")
    return bootstrap.outbox()


def store(outbox, entries: list[OutboxEntry]) -> None:
    """Put entries in the outbox as the repository would: with their task."""
    if isinstance(outbox, FakeOutbox):
        outbox.entries.extend(entries)
        return
    for entry in entries:
        OutboxItem.from_entry(entry).save()


def completed_task_entries() -> list[OutboxEntry]:
    task = Task.create(user_id=UserId("alice"), title="t", now=NOW)
    task.complete(NOW)
    return [OutboxEntry.from_event(event) for event in task.pull_events()]


def test_pending_entries_come_back_in_each_tasks_order(outbox):
    tasks = [completed_task_entries() for _ in range(20)]
    for entries in tasks:
        store(outbox, list(reversed(entries)))
    pending = outbox.pending(limit=1000)
    assert len(pending) == 60
    for entries in tasks:
        assert [e for e in pending if e.task_id == entries[0].task_id] == entries


def test_one_tasks_entries_can_be_asked_for(outbox):
    mine, theirs = completed_task_entries(), completed_task_entries()
    store(outbox, mine + theirs)
    assert outbox.pending(task_id=TaskId(mine[0].task_id), limit=10) == mine


def test_removed_entries_are_gone(outbox):
    entries = completed_task_entries()
    store(outbox, entries)
    outbox.remove(entries[:2])
    assert outbox.pending(limit=10) == entries[2:]


def test_a_limited_read_returns_each_tasks_oldest_events_first(outbox):
    for _ in range(5):
        store(outbox, completed_task_entries())
    first = outbox.pending(limit=1)  # one per shard at most
    assert 1 <= len(first) <= OUTBOX_SHARDS
    assert {entry.sequence for entry in first} == {1}


def test_when_sns_is_down_a_created_task_keeps_its_event_until_the_relay_publishes_it(api, aws, settings):
    settings.OUTBOX_SETTLE_SECONDS = 0
    sns = aws.target.client("sns")
    sns.delete_topic(TopicArn=aws.resources.topic_arn)  # SNS unavailable
    task = api.created(title="Survives SNS")
    assert api.get(task["task_id"]).status_code == 200
    assert aws.drain() == []
    assert [e.event_type for e in bootstrap.outbox().pending(limit=10)] == ["TaskCreated"]

    call_command("provision", stdout=StringIO())  # SNS is back
    call_command("relay_outbox", stdout=StringIO())
    [event] = aws.drain()
    assert (event["event_type"], event["aggregate_id"]) == ("TaskCreated", task["task_id"])
    assert bootstrap.outbox().pending(limit=10) == []


def test_the_stream_relay_publishes_a_requests_events_and_forgets_them(api, aws):
    task = api.created()
    assert bootstrap.outbox().pending(limit=10) != []  # the request itself publishes nothing
    assert [e["aggregate_id"] for e in aws.drain()] == [task["task_id"]]
    assert bootstrap.outbox().pending(limit=10) == []


class RecordingPublisher:
    """The real SNS publisher, noting what it was given, in order."""

    def __init__(self, publisher) -> None:
        self.publisher = publisher
        self.sent: list[tuple[str, int]] = []

    def publish(self, entries):
        accepted = self.publisher.publish(entries)
        self.sent += [(entry.task_id, entry.sequence) for entry in accepted]
        return accepted


def test_events_held_back_by_an_sns_outage_go_out_in_each_tasks_order(api, aws):
    aws.target.client("sns").delete_topic(TopicArn=aws.resources.topic_arn)
    tasks = [api.created(title=f"t{i}")["task_id"] for i in range(12)]
    for task_id in tasks:
        api.complete(task_id)
    aws.relay()  # the stream relay fails too: three events per task wait in the outbox
    call_command("provision", stdout=StringIO())
    publisher = RecordingPublisher(bootstrap.event_publisher())
    result = relay_outbox(outbox=bootstrap.outbox(), publisher=publisher)
    assert (result.published, result.held_back) == (36, 0)
    for task_id in tasks:
        assert [sequence for task, sequence in publisher.sent if task == task_id] == [1, 2, 3]
    assert len(aws.drain()) == 36


def test_the_sweeper_leaves_events_just_stored_to_the_stream_relay(api, aws):
    aws.target.client("sns").delete_topic(TopicArn=aws.resources.topic_arn)
    api.created()
    call_command("provision", stdout=StringIO())
    assert bootstrap.relay_all().published == 0  # stored less than OUTBOX_SETTLE_SECONDS ago
    assert bootstrap.relay_all(settle=timedelta(0)).published == 1


def test_outbox_list_shows_what_waits(api, aws):
    aws.target.client("sns").delete_topic(TopicArn=aws.resources.topic_arn)
    task = api.created()
    out = StringIO()
    call_command("outbox_list", stdout=out)
    assert task["task_id"] in out.getvalue()
    assert "TaskCreated" in out.getvalue()
    assert "1 event waiting." in out.getvalue()

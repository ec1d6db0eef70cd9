"""Which DynamoDB stream records hold an event to publish: only an outbox item's INSERT."""

from __future__ import annotations

from datetime import UTC, datetime

from tasks_app.adapters.dynamodb.models import OutboxItem
from tasks_app.adapters.dynamodb.stream import reported_events
from tasks_app.application.ports import OutboxEntry
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def outbox_entry() -> OutboxEntry:
    task = Task.create(user_id=UserId("alice"), title="t", now=NOW)
    return OutboxEntry.from_event(task.pull_events()[0])


def record(event_name: str, image: dict | None, sequence: str) -> dict:
    change: dict = {"SequenceNumber": sequence, "Keys": {"PK": {"S": "x"}, "SK": {"S": "y"}}}
    if image is not None:
        change["NewImage"] = image
    return {"eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": change}


def test_an_outbox_insert_gives_back_the_entry_stored_with_its_sequence_number():
    entry = outbox_entry()
    image = OutboxItem.from_entry(entry).serialize()
    [reported] = reported_events([record("INSERT", image, "101")])
    assert (reported.sequence_number, reported.entry) == ("101", entry)


def test_removals_changes_and_other_items_are_skipped():
    image = OutboxItem.from_entry(outbox_entry()).serialize()
    counter = {"PK": {"S": "RATE#user#alice"}, "SK": {"S": "0"}, "Type": {"S": "RateCounter"}, "Hits": {"N": "1"}}
    records = [
        record("REMOVE", None, "1"),  # the relay forgetting a published event
        record("MODIFY", image, "2"),
        record("INSERT", counter, "3"),
        record("INSERT", {"PK": {"S": "TASK#t"}, "SK": {"S": "TASK#t"}}, "4"),  # no Type at all
    ]
    assert reported_events(records) == []


def test_a_broken_outbox_image_is_skipped_not_raised(caplog):
    broken = {"PK": {"S": "OUTBOX#1"}, "SK": {"S": "t#1"}, "Type": {"S": "OutboxEvent"}}  # no event in it
    good = OutboxItem.from_entry(outbox_entry()).serialize()
    reported = reported_events([record("INSERT", broken, "1"), record("INSERT", good, "2")])
    assert [r.sequence_number for r in reported] == ["2"]
    assert "not an outbox event" in caplog.text


def test_records_not_shaped_as_dynamodb_sends_them_are_skipped_and_repeats_counted_once():
    good = record("INSERT", OutboxItem.from_entry(outbox_entry()).serialize(), "9")
    odd = [
        None,
        "x",
        {"eventName": "INSERT", "dynamodb": "x"},
        {"eventName": "INSERT", "dynamodb": {"NewImage": ["x"]}},
        {"eventName": "INSERT", "dynamodb": {"NewImage": {"Type": "OutboxEvent"}}},
    ]
    assert [r.sequence_number for r in reported_events([*odd, good, good])] == ["9"]

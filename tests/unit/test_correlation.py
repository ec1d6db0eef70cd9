"""Correlation (SPEC §9): the request id and trace header of the work in hand, stored with a
change's events, sent as message attributes, and on every line logged about an event."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from events_app.handlers import handle_message, handling
from events_app.messages import InvalidEventMessage, message_attributes, parse_message
from tasks_app import correlation
from tasks_app.adapters.dynamodb.models import OutboxItem
from tasks_app.adapters.dynamodb.stream import reported_events
from tasks_app.adapters.sns import sns_entry
from tasks_app.application import services
from tasks_app.application.ports import OutboxEntry
from tasks_app.application.relay import relay_outbox
from tasks_app.correlation import Origin
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId
from tests.fakes import FakeOutbox, FakePublisher, FakeReadModels, FakeTaskRepository
from tests.log_lines import about, logged_lines

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TRACE = "Root=1-674c2a10-5b0c8f2e9d1a4b3c2d1e0f9a;Parent=53995c3f42cd8ad8;Sampled=1"


def completed_task_entries(origin: Origin | None = None) -> list[OutboxEntry]:
    task = Task.create(user_id=UserId("alice"), title="t", now=NOW)
    task.complete(NOW)
    return [OutboxEntry.from_event(event, origin=origin) for event in task.pull_events()]


# The context ----------------------------------------------------------------------------------


def test_bound_ids_hold_within_the_block_and_the_earlier_ones_come_back_even_after_an_error():
    seen = []

    def handle_one_event() -> None:
        with correlation.bound(request_id="r-1", event_id="e-1", trace_header=TRACE):
            seen.append((correlation.request_id(), correlation.event_id(), correlation.trace_header()))
            raise RuntimeError

    correlation.set_request_id("the-request")
    try:
        with pytest.raises(RuntimeError):
            handle_one_event()
        assert seen == [("r-1", "e-1", TRACE)]
        assert (correlation.request_id(), correlation.event_id()) == ("the-request", None)
    finally:
        correlation.set_request_id(None)


def test_the_trace_header_is_lambdas_for_the_invocation_unless_an_event_brings_its_own(monkeypatch):
    assert correlation.trace_header() is None  # locally
    monkeypatch.setenv(correlation.TRACE_HEADER_VARIABLE, TRACE)
    assert correlation.origin() == Origin(request_id=None, trace_header=TRACE)
    with correlation.bound(request_id="r", event_id="e", trace_header="Root=1-other"):
        assert correlation.trace_header() == "Root=1-other"


# Stored with the events -------------------------------------------------------------------------


def test_a_change_made_during_a_request_stores_its_id_with_every_event():
    repository = FakeTaskRepository()
    correlation.set_request_id("req-create-1")
    try:
        task = services.task_create(repository=repository, user_id="alice", title="Trace me", now=NOW)
        services.task_act(repository=repository, task_id=str(task.task_id), action="complete", now=NOW)
    finally:
        correlation.set_request_id(None)
    assert [e.request_id for e in repository.outbox.entries] == ["req-create-1"] * 3
    assert all(e.trace_header is None for e in repository.outbox.entries)


def test_the_outbox_item_keeps_the_request_and_the_stream_reports_it():
    [entry, *_] = completed_task_entries(Origin("req-1", TRACE))
    image = OutboxItem.from_entry(entry).serialize()
    assert (image["RequestId"], image["TraceHeader"]) == ({"S": "req-1"}, {"S": TRACE})
    record = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "7", "NewImage": image}}
    [reported] = reported_events([record])
    assert (reported.entry.request_id, reported.entry.trace_header) == ("req-1", TRACE)


def test_an_outbox_item_stored_before_request_ids_reads_as_an_event_without_one():
    [entry, *_] = completed_task_entries()
    image = OutboxItem.from_entry(entry).serialize()
    assert {"RequestId", "TraceHeader"}.isdisjoint(image)  # as items written before were
    record = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "7", "NewImage": image}}
    [reported] = reported_events([record])
    assert reported.entry == entry
    assert (reported.entry.request_id, reported.entry.trace_header) == (None, None)


def test_the_request_and_trace_travel_as_message_attributes_only_when_known():
    [with_origin, *_] = completed_task_entries(Origin("req-1", TRACE))
    attributes = sns_entry("0", with_origin)["MessageAttributes"]
    assert attributes["request_id"] == {"DataType": "String", "StringValue": "req-1"}
    assert attributes["trace_header"] == {"DataType": "String", "StringValue": TRACE}
    [without, *_] = completed_task_entries(Origin("req-2", None))
    assert set(sns_entry("0", without)["MessageAttributes"]) == {"event_type", "request_id"}
    [old, *_] = completed_task_entries()
    assert set(sns_entry("0", old)["MessageAttributes"]) == {"event_type"}  # SNS refuses empty values


# On the relay's lines ---------------------------------------------------------------------------


def test_every_line_the_relay_writes_about_an_event_names_it_and_its_request():
    outbox, publisher = FakeOutbox(), FakePublisher()
    traced, old = completed_task_entries(Origin("req-1", TRACE)), completed_task_entries()
    outbox.entries = traced + old
    publisher.refuse = {traced[1].event_id}
    with logged_lines() as lines:
        relay_outbox(outbox=outbox, publisher=publisher)
    for entry in traced:
        [line] = about(lines, entry.event_id)
        assert (line["event_id"], line["request_id"], line["task_id"]) == (entry.event_id, "req-1", entry.task_id)
    assert about(lines, traced[0].event_id)[0]["message"] == "Published TaskCreated"
    assert about(lines, traced[1].event_id)[0]["level"] == "WARNING"  # refused: tried again later
    for entry in old:  # stored before request ids were kept: relayed all the same, null on its line
        [line] = about(lines, entry.event_id)
        assert (line["message"], line["request_id"]) == (f"Published {entry.event_type}", None)


# On the consumers' lines ------------------------------------------------------------------------


def test_attributes_are_read_as_sqs_and_as_lambdas_event_give_them():
    sqs = {"request_id": {"StringValue": "r-1", "DataType": "String"}, "blob": {"BinaryValue": b"x"}}
    lambda_event = {"request_id": {"stringValue": "r-1", "dataType": "String"}, "trace_header": {"stringValue": TRACE}}
    assert message_attributes(sqs) == {"request_id": "r-1"}
    assert message_attributes(lambda_event) == {"request_id": "r-1", "trace_header": TRACE}
    assert message_attributes(None) == {}


def test_the_received_event_carries_its_request_and_trace_header():
    body = completed_task_entries()[0].message
    received = parse_message(body, {"request_id": "r-1", "trace_header": TRACE})
    assert (received.request_id, received.trace_header) == ("r-1", TRACE)
    assert (parse_message(body).request_id, parse_message(body).trace_header) == (None, None)


def test_every_line_written_while_handling_a_message_names_its_event_and_request():
    [entry, *_] = completed_task_entries()
    read_models = FakeReadModels()
    with logged_lines() as lines:
        for attributes in ({"request_id": "r-1"}, {}):  # a traced delivery, then one of an old event
            with handling(entry.message, attributes):
                handle_message(entry.message, read_models=read_models, attributes=attributes)
    assert [(line["message"], line["request_id"]) for line in about(lines, entry.event_id)] == [
        ("Applied TaskCreated", "r-1"),
        ("Already applied TaskCreated", None),
    ]


def test_a_poison_messages_lines_name_what_it_names():
    body = json.dumps({"event_id": "e-poison", "event_type": "Nonsense"})
    with logged_lines() as lines, handling(body, {"request_id": "r-9"}):
        with pytest.raises(InvalidEventMessage):
            handle_message(body, read_models=FakeReadModels())
        logging.getLogger("events_app.worker").error("Poison message, rejected")  # as the worker does
    assert [(line["event_id"], line["request_id"]) for line in lines] == [("e-poison", "r-9")]

"""The pipeline's metrics on the local AWS: what the relays published (tasks by type, relay lag),
what the consumers applied or failed (consumer lag), cold starts; and no AWS request of their own."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from config.lambda_handlers import consume_events, relay_outbox, serve_http
from events_app.worker import DomainEventConsumer
from tasks_app.adapters import metrics
from tests.emf import collected
from tests.lambda_events import sqs_event


@pytest.fixture(autouse=True)
def _metrics_on(monkeypatch):
    for name in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV", metrics.NAMESPACE_ENV, metrics.SERVICE_ENV):
        monkeypatch.delenv(name, raising=False)


def bodies(aws) -> list[str]:
    return [json.dumps({k: v for k, v in m.items() if k != "_attributes"}) for m in aws.drain()]


def test_the_stream_relay_counts_tasks_created_completed_and_deleted_and_its_lag(api, aws):
    task = api.created()
    api.complete(task["task_id"])
    api.delete(task["task_id"])
    with collected() as lines:
        aws.relay()
    assert lines.total("EventsRelayed") == 4  # TaskCreated, TaskStatusChanged, TaskCompleted, TaskDeleted
    assert [lines.total(name) for name in ("TasksCreated", "TasksCompleted", "TasksDeleted")] == [1, 1, 1]
    lags = [value for point in lines.points("RelayLag") for value in point.values]
    assert len(lags) == 4
    assert all(0 <= lag < 60_000 for lag in lags)


def test_a_replayed_idempotent_create_counts_one_task(api, aws):
    headers = {"Idempotency-Key": "metrics-replay-1"}
    first = api.client.post("/tasks", {"title": "Once", "user_id": "alice"}, format="json", headers=headers)
    again = api.client.post("/tasks", {"title": "Once", "user_id": "alice"}, format="json", headers=headers)
    assert (first.status_code, again["Idempotent-Replayed"]) == (201, "true")
    with collected() as lines:
        aws.relay()
    assert lines.total("TasksCreated") == 1


def test_the_sweeper_reports_what_it_published(api, aws, settings):
    settings.OUTBOX_SETTLE_SECONDS = 0
    api.created()
    with collected() as lines:
        assert relay_outbox({}, None)["published"] == 1
    assert (lines.total("EventsRelayed"), lines.total("TasksCreated")) == (1, 1)


def test_the_lambda_consumer_counts_applied_events_failures_and_lag(api, aws):
    task = api.created()
    api.complete(task["task_id"])
    messages = bodies(aws)
    with collected() as lines:
        consume_events(sqs_event([*messages, "not an event"]), None)
    assert (lines.total("EventsConsumed"), lines.total("ConsumerFailures")) == (3, 1)
    assert all(0 <= point.values[0] < 60_000 for point in lines.points("ConsumerLag"))


class Delivery:
    """The two methods of a kombu message the worker settles it with."""

    def __init__(self) -> None:
        self.settled = ""
        self.delivery_info: dict[str, object] = {}  # what kombu's SQS transport read with the message

    def ack(self) -> None:
        self.settled = "ack"

    def reject(self) -> None:
        self.settled = "reject"


def test_the_celery_worker_counts_applied_events_and_failures(api, aws):
    api.created()
    [body] = bodies(aws)
    consumer = DomainEventConsumer.__new__(DomainEventConsumer)  # the bootstep, without a running worker
    applied: Any = Delivery()
    poison: Any = Delivery()
    with collected() as lines:
        consumer.on_message(body, applied)
        consumer.on_message("{}", poison)
    assert (applied.settled, poison.settled) == ("ack", "reject")
    assert (lines.total("EventsConsumed"), lines.total("ConsumerFailures")) == (1, 1)
    assert len(lines.points("ConsumerLag")) == 1


def test_a_cold_process_reports_one_cold_start_under_the_entry_point_it_began_with(aws, monkeypatch):
    monkeypatch.setattr(metrics, "_cold_start_reported", False)
    with collected() as lines:
        serve_http(sqs_event(["not an event"]), SimpleNamespace())  # the queue's trigger, through the one handler
        serve_http(sqs_event(["not an event"]), SimpleNamespace())
        relay_outbox({}, None)
    [cold] = lines.points("ColdStart")
    assert cold.dimensions == {"service": "tasks-api", "function": "consumer"}


def test_relay_and_consumer_metrics_make_no_aws_request(api, aws, monkeypatch):
    """The same work with metrics on and off asks AWS the same things, none of them CloudWatch's."""

    def relay_and_consume() -> list[tuple[str, str]]:
        api.created()
        with aws.server.recording() as calls:
            aws.relay()
        messages = bodies(aws)
        with aws.server.recording() as consumer_calls:
            consume_events(sqs_event(messages), None)
        return [(call.service, call.operation) for call in [*calls, *consumer_calls]]

    relay_and_consume()  # warm: clients made
    with collected() as lines:
        with_metrics = relay_and_consume()
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    without_metrics = relay_and_consume()
    assert lines.total("EventsRelayed") == lines.total("EventsConsumed") == 1
    assert with_metrics == without_metrics
    assert not {service for service, _ in with_metrics} & {"monitoring", "logs"}

"""The delivery rules on fakes of the ports: fan-out, the retry schedule, stale and early tickets,
disabling, rotation, ping."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from notifications_app.application.deliveries import attempt_delivery, fan_out_event, ping_delivery
from notifications_app.application.delivery_log import delivery_redeliver
from notifications_app.application.ports import DeliveryTicket
from notifications_app.domain.delivery import DEFAULT_RETRY_DELAYS, DeliveryState, RetrySchedule
from notifications_app.domain.endpoint import (
    FAILURES_BEFORE_DISABLING,
    WebhookEndpoint,
    new_secret,
    parse_event_types,
)
from tasks_app.domain.errors import InvalidValue
from tests.webhook_fakes import FakeDeliveries, FakeEndpoints, FakeQueue, FakeSender

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SCHEDULE = RetrySchedule()


def endpoint(event_types: tuple[str, ...] = ("*",), **fields: object) -> WebhookEndpoint:
    values: dict[str, object] = {
        "webhook_id": "wh-1",
        "user_id": "alice",
        "url": "https://hooks.example.com/x",
        "event_types": event_types,
        "secret": new_secret(),
        "created_at": NOW,
        **fields,
    }
    return WebhookEndpoint(**values)  # type: ignore[arg-type]


def event(event_type: str = "TaskCompleted", event_id: str = "e-1") -> dict[str, object]:
    return {
        "event_type": event_type,
        "event_id": event_id,
        "aggregate_id": "task-1",
        "timestamp": "2026-11-25T10:00:00.000000Z",
        "data": {"user_id": "alice", "sequence": 3},
    }


class World:
    """The fakes, and a clock the test moves."""

    def __init__(self, *endpoints: WebhookEndpoint, statuses: Sequence[int | None] = ()) -> None:
        self.endpoints = FakeEndpoints(*endpoints)
        self.deliveries = FakeDeliveries()
        self.queue = FakeQueue()
        self.sender = FakeSender(list(statuses))
        self.now = NOW

    def fan_out(self, message: dict[str, object], schedule: RetrySchedule = SCHEDULE) -> int:
        return fan_out_event(
            message=message,
            endpoints=self.endpoints,
            deliveries=self.deliveries,
            queue=self.queue,
            now=self.now,
            schedule=schedule,
        )

    def next_ticket(self, schedule: RetrySchedule = SCHEDULE):
        """Take the next queued ticket, wait its delay, and handle it."""
        ticket, delay = self.queue.take()
        self.now += timedelta(seconds=delay)
        return attempt_delivery(
            ticket=ticket,
            endpoints=self.endpoints,
            deliveries=self.deliveries,
            queue=self.queue,
            sender=self.sender,
            now=self.now,
            schedule=schedule,
        )


def test_an_event_goes_to_each_enabled_endpoint_subscribed_to_its_type():
    world = World(
        endpoint(webhook_id="wh-all"),
        endpoint(("TaskCompleted",), webhook_id="wh-done"),
        endpoint(("TaskCreated",), webhook_id="wh-created"),
        endpoint(webhook_id="wh-off", enabled=False),
        endpoint(webhook_id="wh-bob", user_id="bob"),
    )
    assert world.fan_out(event()) == 2
    assert sorted(ticket.webhook_id for ticket, _ in world.queue.sent) == ["wh-all", "wh-done"]


def test_a_redelivered_event_queues_its_first_attempt_again_only_until_it_is_made():
    world = World(endpoint())
    world.fan_out(event())
    world.fan_out(event())  # the event message again, before the first attempt
    assert len(world.deliveries.items) == 1
    assert len(world.queue.sent) == 2
    world.next_ticket()
    assert world.next_ticket() is None  # the second ticket is stale: no second POST
    assert len(world.sender.posts) == 1
    world.fan_out(event())  # and again, after the attempt: nothing more
    assert world.queue.sent == []


def test_a_receiver_that_never_answers_gets_seven_attempts_on_the_schedule():
    world = World(endpoint(), statuses=[None] * 10)
    world.fan_out(event())
    started = world.now
    times: list[timedelta] = []
    while world.queue.sent:
        world.next_ticket()
        if len(world.sender.posts) > len(times):
            times.append(world.now - started)
    assert [int(t.total_seconds()) for t in times] == [sum(DEFAULT_RETRY_DELAYS[: n + 1]) for n in range(7)]
    (delivery,) = world.deliveries.items.values()
    assert (delivery.state, delivery.attempts, delivery.last_error) == (DeliveryState.FAILED, 7, "connection refused")
    assert delivery.next_attempt_at is None


def test_a_ticket_longer_than_sqs_can_delay_is_put_back_until_it_is_due():
    world = World(endpoint(), statuses=[500, 500, 500, 500])
    world.fan_out(event())
    for _ in range(4):  # at once, 30 s, 2 min, 10 min: the fifth waits an hour
        world.next_ticket()
    _, delay = world.queue.sent[0]
    assert delay == 900  # SQS's maximum; the ticket comes back 3 more times before it is due
    for _ in range(3):
        assert world.next_ticket() is None
    assert len(world.sender.posts) == 4
    world.next_ticket()
    assert len(world.sender.posts) == 5
    (delivery,) = world.deliveries.items.values()
    assert delivery.state is DeliveryState.SUCCEEDED


def test_the_delivery_is_the_spec_message_signed_with_the_event_id():
    hook = endpoint()
    world = World(hook)
    world.now = datetime.now(UTC)  # the verifier refuses a timestamp more than 5 minutes off
    world.fan_out(event())
    world.next_ticket()
    (url, body, headers) = world.sender.posts[0]
    assert url == hook.url
    assert json.loads(body) == event()
    assert headers["webhook-id"] == "e-1"
    assert Webhook(hook.secret).verify(body, dict(headers))["event_id"] == "e-1"


def test_twenty_failed_deliveries_in_a_row_disable_the_endpoint_and_a_success_resets_the_count():
    world = World(endpoint(), statuses=[500] * (FAILURES_BEFORE_DISABLING - 1) + [200, *[500] * 50])
    one_attempt = RetrySchedule((0,))
    for number in range(FAILURES_BEFORE_DISABLING):
        world.fan_out(event(event_id=f"e-{number}"), one_attempt)
        world.next_ticket(one_attempt)
    assert world.endpoints.get("wh-1").consecutive_failures == 0  # the 20th succeeded
    for number in range(FAILURES_BEFORE_DISABLING):
        world.fan_out(event(event_id=f"f-{number}"), one_attempt)
        world.next_ticket(one_attempt)
    assert world.endpoints.get("wh-1").enabled is False
    assert world.fan_out(event(event_id="later"), one_attempt) == 0


def test_a_delivery_to_a_deleted_endpoint_fails_unsent():
    world = World(endpoint())
    world.fan_out(event())
    world.endpoints.delete(world.endpoints.get("wh-1"))
    world.next_ticket()
    (delivery,) = world.deliveries.items.values()
    assert (delivery.state, delivery.last_error) == (DeliveryState.FAILED, "The webhook was deleted.")
    assert world.sender.posts == []


def test_after_a_rotation_the_old_secret_signs_for_a_day_only():
    hook = endpoint()
    rotated = hook.rotated(NOW)
    assert rotated.signing_secrets(NOW + timedelta(hours=23)) == [rotated.secret, hook.secret]
    assert rotated.signing_secrets(NOW + timedelta(hours=24)) == [rotated.secret]


def test_a_second_rotation_ends_the_first_overlap_at_once():
    first = endpoint()
    second = first.rotated(NOW)
    third = second.rotated(NOW + timedelta(hours=1))
    assert third.signing_secrets(NOW + timedelta(hours=2)) == [third.secret, second.secret]  # not first.secret
    assert third.previous_secret_expires_at == NOW + timedelta(hours=25)


def test_a_ping_reaches_even_a_disabled_endpoint_once():
    hook = endpoint(("TaskCreated",), enabled=False)
    world = World(hook, statuses=[500])
    ping = ping_delivery(endpoint=hook, now=NOW)
    world.deliveries.add_if_absent(ping)
    world.queue.send(DeliveryTicket(hook.webhook_id, ping.delivery_id, 1), delay_seconds=0)
    world.next_ticket()
    assert world.deliveries.get(hook.webhook_id, ping.delivery_id).state is DeliveryState.FAILED  # one attempt
    assert world.endpoints.get("wh-1").consecutive_failures == 0  # a test does not count


@pytest.mark.parametrize("given", [[], ["TaskExploded"], ["ping"]])
def test_event_types_must_be_known_ones_or_the_wildcard(given):
    with pytest.raises(InvalidValue):
        parse_event_types(given)


def test_event_types_keep_their_order_without_repeats_and_the_wildcard_takes_all():
    assert parse_event_types(["TaskCompleted", "TaskCreated", "TaskCompleted"]) == ("TaskCompleted", "TaskCreated")
    assert parse_event_types(["TaskCreated", "*"]) == ("*",)


def redeliver(world: World, delivery_id: str) -> None:
    delivery_redeliver(
        webhook_id="wh-1",
        delivery_id=delivery_id,
        caller=None,
        endpoints=world.endpoints,
        deliveries=world.deliveries,
        queue=world.queue,
        now=world.now,
    )


def test_redelivering_a_pending_delivery_makes_its_next_attempt_now_and_keeps_its_schedule():
    world = World(endpoint(), statuses=[500, 500, 500, 500])
    world.fan_out(event())
    world.next_ticket()  # attempt 1 fails; attempt 2 is queued for 30 s later
    world.next_ticket()  # attempt 2 fails; attempt 3 is queued for 2 min later
    (delivery_id,) = (key[1] for key in world.deliveries.items)
    redeliver(world, delivery_id)
    assert world.deliveries.get("wh-1", delivery_id).max_attempts == SCHEDULE.attempts
    (redelivery, delay) = world.queue.sent[-1]
    assert (redelivery.attempt, delay) == (3, 0)
    world.queue.sent.insert(0, world.queue.sent.pop())  # the redelivery is due first
    world.next_ticket()  # attempt 3, now: it fails, and attempt 4 waits its 10 minutes
    delivery = world.deliveries.get("wh-1", delivery_id)
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 3)
    assert delivery.next_attempt_at == world.now + timedelta(seconds=DEFAULT_RETRY_DELAYS[3])
    assert world.next_ticket() is None  # the superseded ticket for attempt 3: no second POST
    assert len(world.sender.posts) == 3
    while world.queue.sent:
        world.next_ticket()
    assert len(world.sender.posts) == 5  # attempts 4 (500) and 5 (200): the schedule went on
    assert world.deliveries.get("wh-1", delivery_id).state is DeliveryState.SUCCEEDED


@pytest.mark.parametrize("statuses", [[200], [None] * 7])
def test_redelivering_a_settled_delivery_gives_it_one_attempt_more(statuses):
    world = World(endpoint(), statuses=[*statuses, 500])
    world.fan_out(event())
    while world.queue.sent:
        world.next_ticket()
    (delivery_id,) = (key[1] for key in world.deliveries.items)
    attempts = world.deliveries.get("wh-1", delivery_id).attempts
    redeliver(world, delivery_id)
    world.next_ticket()
    delivery = world.deliveries.get("wh-1", delivery_id)
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, attempts + 1)
    assert delivery.max_attempts == attempts + 1
    assert world.queue.sent == []

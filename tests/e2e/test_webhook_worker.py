"""Webhooks through real processes, as in `make run`: the stream relay publishes, the Celery
worker fans the event out and POSTs it; a worker killed mid-delivery loses no delivery."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from standardwebhooks import Webhook

from ops.local.worker_process import StreamRelay, Worker
from tests.webhook_receiver import running_receiver

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def stream_relay(aws, tmp_path) -> Iterator[StreamRelay]:
    relay = StreamRelay(aws.server.url, tmp_path / "relay.log")
    yield relay
    relay.stop()


@pytest.fixture
def start_worker(aws, tmp_path) -> Iterator[Callable[[], Worker]]:
    workers: list[Worker] = []

    def start() -> Worker:
        environment = {"WEBHOOKS_QUEUE_URL": settings.WEBHOOKS_QUEUE_URL}
        workers.append(Worker(aws.server.url, tmp_path / f"worker-{len(workers)}.log", environment=environment))
        return workers[-1]

    yield start
    for worker in workers:
        worker.kill()


def eventually(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.25)
    return result


def register(api: Any, url: str) -> dict[str, Any]:
    body = {"user_id": "alice", "url": url, "event_types": ["TaskCompleted"]}
    response = api.client.post("/webhooks", body, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json()["data"])


def test_a_completed_task_reaches_the_receiver_signed_through_the_worker(api, start_worker):
    start_worker()
    with running_receiver() as receiver:
        webhook = register(api, receiver.url)
        task = api.created()
        api.complete(task["task_id"])
        (got,) = receiver.wait_for(1, timeout=60)
    payload = Webhook(webhook["secret"]).verify(got.body, got.headers)
    assert (payload["event_type"], payload["aggregate_id"]) == ("TaskCompleted", task["task_id"])


def test_a_worker_killed_mid_delivery_loses_no_delivery(api, aws, start_worker):
    sqs = aws.target.client("sqs")
    sqs.set_queue_attributes(QueueUrl=settings.WEBHOOKS_QUEUE_URL, Attributes={"VisibilityTimeout": "3"})
    first = start_worker()
    with running_receiver(holds=[4.0]) as receiver:
        webhook = register(api, receiver.url)
        api.complete(api.created()["task_id"])
        receiver.wait_for(1, timeout=60)  # the first worker is waiting for the answer
        first.kill()
        start_worker()
        first_try, second_try = receiver.wait_for(2, timeout=60)
    assert first_try.headers["webhook-id"] == second_try.headers["webhook-id"]  # the receiver can deduplicate

    def succeeded() -> bool:
        log = api.client.get(f"/webhooks/{webhook['webhook_id']}/deliveries").json()["data"]
        return [(d["state"], d["attempts"]) for d in log] == [("succeeded", 1)]

    eventually(succeeded, 30, "the delivery's success in its log")

"""Connection pools sized for a threaded server: 20 concurrent requests reuse connections, none discarded."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tasks_app import bootstrap
from tasks_app.adapters.aws import MAX_POOL_CONNECTIONS
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId

CONCURRENT = 20  # the concurrent clients the local stack is measured with (make bench)


def at_once(call: Callable[[int], object]) -> None:
    """Run `call(n)` on CONCURRENT threads released together, a few times each."""
    start = threading.Barrier(CONCURRENT)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        start.wait()
        try:
            for _ in range(3):
                call(n)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def pool_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if "Connection pool is full" in record.getMessage()]


def pool_size(client: Any) -> int:
    return int(client.meta.config.max_pool_connections)


def test_the_pools_hold_more_connections_than_the_concurrent_clients_measured():
    assert MAX_POOL_CONNECTIONS > CONCURRENT
    assert pool_size(bootstrap.aws_target().client("sns")) == MAX_POOL_CONNECTIONS
    assert pool_size(bootstrap.table_connection().client) == MAX_POOL_CONNECTIONS


def test_concurrent_reads_through_the_models_discard_no_connection(aws, caplog):
    repository = bootstrap.task_repository()
    task = Task.create(user_id=UserId("pool"), title="Read by many", now=datetime.now(UTC))
    repository.add(task)
    caplog.set_level(logging.WARNING, logger="urllib3")

    at_once(lambda n: repository.get(task.task_id))

    assert pool_warnings(caplog) == []


def test_concurrent_calls_through_a_shared_client_discard_no_connection(aws, caplog):
    sqs = aws.target.client("sqs")
    caplog.set_level(logging.WARNING, logger="urllib3")

    at_once(lambda n: sqs.get_queue_attributes(QueueUrl=aws.queue_url(), AttributeNames=["QueueArn"]))

    assert pool_warnings(caplog) == []

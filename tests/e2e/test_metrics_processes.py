"""The EMF lines as `make run`'s processes write them: whole lines in each process's output, the
relay's and the Celery worker's (whose own stdout redirect must not wrap them in a log record)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from ops.local.worker_process import StreamRelay, Worker
from tests.emf import check_line, points_of

pytestmark = pytest.mark.e2e


def emf_points(log: str, name: str) -> list[Any]:
    """The `name` points of the EMF lines in a process's output, each line checked against the format."""
    found = []
    for text in log.splitlines():
        if text.startswith("{") and '"_aws"' in text:
            line = json.loads(text)
            check_line(line)
            found += [point for point in points_of(line) if point.name == name]
    return found


def test_the_relay_and_the_worker_write_their_metrics_as_whole_emf_lines(api, aws, tmp_path):
    relay = StreamRelay(aws.server.url, tmp_path / "relay.log")
    worker = Worker(aws.server.url, tmp_path / "worker.log")
    try:
        api.created(title="Seen by the metrics")
        deadline = time.monotonic() + 30
        while not emf_points(worker.log, "EventsConsumed") and time.monotonic() < deadline:
            time.sleep(0.25)
        [consumed] = emf_points(worker.log, "EventsConsumed")
        assert consumed.dimensions == {"service": "tasks-api"}
        assert len(emf_points(worker.log, "ConsumerLag")) == 1
        assert sum(sum(p.values) for p in emf_points(relay.log, "TasksCreated")) == 1
        assert emf_points(relay.log, "RelayLag")
    finally:
        worker.kill()
        relay.stop()

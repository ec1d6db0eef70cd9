"""The Celery worker with TRACING=on: each event it applies is a segment, its writes subsegments."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from ops.local.worker_process import StreamRelay, Worker
from tasks_app import tracing

pytestmark = pytest.mark.e2e


def segments_until(daemon: socket.socket, name: str, timeout: float) -> list[dict[str, Any]]:
    """Every document the daemon socket receives until one named `name` came (or the timeout)."""
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        daemon.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            datagram = daemon.recv(65536)
        except TimeoutError:
            break
        received.append(json.loads(datagram.decode().partition("\n")[2]))
        if received[-1]["name"] == name:
            break
    return received


def test_each_event_the_worker_applies_is_a_segment_with_its_dynamodb_writes(api, aws, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        relay = StreamRelay(aws.server.url, tmp_path / "relay.log")
        worker = Worker(
            aws.server.url,
            tmp_path / "worker.log",
            environment={"TRACING": "on", "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}"},
        )
        try:
            api.created(title="Traced through the worker")
            received = segments_until(daemon, tracing.CONSUMER_SEGMENT, timeout=60)
        finally:
            worker.kill()
            relay.stop()
    segments = [document for document in received if document["name"] == tracing.CONSUMER_SEGMENT]
    assert segments, f"no {tracing.CONSUMER_SEGMENT} segment; received {received}; worker log:\n{worker.log[-3000:]}"
    writes = segments[0].get("subsegments", [])
    assert writes
    assert {write["name"] for write in writes} == {"dynamodb"}
    assert not segments[0].get("fault"), segments[0]
    assert "Traceback" not in worker.log

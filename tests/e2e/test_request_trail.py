"""One create followed from its HTTP response's X-Request-ID through the stream relay, SNS, SQS and
the Celery worker of the real local stack (`make run`'s processes), SPEC §9 and issue 13."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ops.local.log_trail import LOG_DIRECTORY
from tests.e2e import local_stack
from tests.e2e.local_stack import eventually, run_manage

pytestmark = pytest.mark.e2e
start_stack = local_stack.start_stack  # the fixture


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def lines_about(path: Path, event_id: str) -> list[dict[str, Any]]:
    """The lines of a process's log file that mention the event, wherever in the line."""
    return [line for line in json_lines(path.read_text(encoding="utf-8")) if event_id in json.dumps(line)]


def test_a_creates_request_id_is_on_every_line_the_relay_and_the_worker_write_about_its_event(start_stack):
    stack = start_stack(reload=False)
    create = urllib.request.Request(
        f"{stack.api_url}/tasks",
        data=json.dumps({"user_id": "dev", "title": "Follow me through the logs"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(create, timeout=10) as response:
        assert response.status == 201
        request_id = response.headers["X-Request-ID"]  # the server's own: the client sent none
        task_id = json.loads(response.read())["data"]["task_id"]

    history = eventually(lambda: stack.request("GET", f"/tasks/{task_id}/events")[1]["data"], 30, "the event applied")
    event_id = history[0]["event_id"]
    logs = stack.state_dir / LOG_DIRECTORY
    eventually(lambda: lines_about(logs / "worker.jsonl", event_id), 10, "the worker's line about the event")

    relayed, applied = lines_about(logs / "relay.jsonl", event_id), lines_about(logs / "worker.jsonl", event_id)
    assert "Published TaskCreated" in [line["message"] for line in relayed]
    assert "Applied TaskCreated" in [line["message"] for line in applied]
    for line in relayed + applied:
        assert (line["request_id"], line["event_id"]) == (request_id, event_id), line
    in_the_terminal = [line for line in json_lines(stack.output) if event_id in json.dumps(line)]
    assert len(in_the_terminal) >= 2
    assert all(line["request_id"] == request_id for line in in_the_terminal), in_the_terminal

    # What an engineer runs: the whole trail, each process's lines, in time order.
    env = {**stack.env, "LOCAL_STATE_DIR": str(stack.state_dir)}
    trail = run_manage("request_trail", request_id, "--json", env=env)
    assert trail.returncode == 0, trail.stderr
    printed = json_lines(trail.stdout)
    assert {line["process"] for line in printed} == {"api", "relay", "worker"}
    served = [line["message"] for line in printed if line["process"] == "api"]
    assert any(message.startswith('"POST /tasks HTTP/1.1" 201') for message in served), served
    assert {"process": "relay", **relayed[0]} in printed
    assert {"process": "worker", **applied[0]} in printed
    assert [line["time"] for line in printed] == sorted(line["time"] for line in printed)
    assert all(line["request_id"] == request_id for line in printed)

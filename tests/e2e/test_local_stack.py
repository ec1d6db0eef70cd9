"""`make run`'s stack, for real: processes, ports, HTTP, Ctrl-C, and data kept across restarts."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings

from tests.e2e import local_stack
from tests.e2e.local_stack import (
    eventually,
    free_port,
    port_is_open,
    run_to_failure,
)
from tests.webhook_receiver import running_receiver

pytestmark = pytest.mark.e2e
start_stack = local_stack.start_stack  # the fixture


def test_the_local_stack_serves_the_api_and_survives_a_restart(start_stack):
    stack = start_stack()
    assert f"  API         http://127.0.0.1:{stack.api_port}/  " in stack.output  # the first URL: the root
    assert f"http://127.0.0.1:{stack.api_port}/tasks?user_id=alice " in stack.output  # not a bare /tasks (a 400)
    assert f"http://127.0.0.1:{stack.api_port}/swagger" in stack.output
    assert f"http://127.0.0.1:{stack.aws_port}" in stack.output

    status, body = stack.request("POST", "/tasks", {"user_id": "dev", "title": "Survive a restart ✓"})
    assert status == 201, body
    task_id = body["data"]["task_id"]
    assert stack.request("POST", f"/tasks/{task_id}/complete")[0] == 200
    assert stack.request("GET", "/tasks?user_id=dev")[1]["data"][0]["status"] == "completed"
    eventually(lambda: len(stack.request("GET", f"/tasks/{task_id}/events")[1]["data"]) == 3, 30, "all three events")
    history = [e["event_type"] for e in stack.request("GET", f"/tasks/{task_id}/events")[1]["data"]]
    assert history == ["TaskCreated", "TaskStatusChanged", "TaskCompleted"]
    stats = stack.request("GET", "/tasks/stats?user_id=dev")[1]["data"]
    assert stats["counts"]["completed"] == 1
    assert stack.request("GET", "/no/such/path") == (
        404,
        {"success": False, "error": {"message": "There is nothing at /no/such/path.", "code": "NOT_FOUND"}},
    )
    access_log = [json.loads(line) for line in stack.lines if line.startswith("{") and '"POST /tasks HTTP' in line]
    assert access_log, stack.output
    assert access_log[0]["logger"] == "django.server"
    assert access_log[0]["request_id"]

    assert stack.stop(signal.SIGINT) == 0
    saved = re.search(
        r"Saved (\d+) items?, (\d+) queued events? and (\d+) dead letters? to (.+)\.$", stack.output, re.M
    )
    assert saved, stack.output
    assert saved[4] == str(stack.state_dir.resolve())
    assert not port_is_open(stack.api_port), "the API is still listening"
    assert not port_is_open(stack.aws_port), "the local AWS is still listening"

    restarted = start_stack()
    restored = re.search(r"Restored (\d+) items?, (\d+) queued events? and (\d+) dead letters? from ", restarted.output)
    assert restored, restarted.output
    assert restored.groups() == saved.groups()[:3]  # the table, the queue and the dead letters as they were
    status, body = restarted.request("GET", f"/tasks/{task_id}")
    assert (status, body["data"]["title"], body["data"]["status"]) == (200, "Survive a restart ✓", "completed")
    assert restarted.stop(signal.SIGTERM) == 0
    assert not port_is_open(restarted.api_port)
    assert not port_is_open(restarted.aws_port)


def test_ctrl_c_stops_the_worker_with_one_warm_shutdown(start_stack):
    stack = start_stack(reload=False)
    assert stack.stop(signal.SIGINT) == 0
    assert stack.output.count("Warm shutdown") == 1, stack.output[-3000:]  # Celery's line, once per SIGTERM it gets
    assert "Stopped." in stack.output


def test_the_start_up_check_costs_no_one_a_request_and_the_banner_shows_the_limits(start_stack):
    # A limit of 5 per day: the window cannot end during the test.
    stack = start_stack(reload=False, THROTTLE_IP_RATE="5/d", THROTTLE_USER_RATE="7/d")
    assert "  Rate limits THROTTLE_IP_RATE=5/d per address, for every request" in stack.output
    assert "THROTTLE_USER_RATE=7/d is unused" in stack.output  # AUTH_MODE=none: no one is signed in
    statuses = [stack.request("GET", "/tasks?user_id=alice")[0] for _ in range(6)]
    assert statuses == [200] * 5 + [429], "the user's first window must be whole"
    assert stack.stop() == 0


def test_a_taken_port_is_a_clear_error(start_stack, tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = run_to_failure("--aws-port", str(port), "--state-dir", str(tmp_path))
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is in use" in result.stderr
    assert "LOCAL_AWS_PORT" in result.stderr


def test_closing_the_terminal_stops_the_stack_cleanly(start_stack):
    stack = start_stack()
    assert stack.request("POST", "/tasks", {"user_id": "dev", "title": "t"})[0] == 201
    assert stack.stop(signal.SIGHUP) == 0
    assert re.search(r"Saved \d+ items?", stack.output)
    assert not port_is_open(stack.api_port)
    assert not port_is_open(stack.aws_port)


def test_a_killed_supervisor_leaves_no_server_behind(start_stack):
    stack = start_stack()
    os.kill(stack.process.pid, signal.SIGKILL)  # no chance to clean up
    stack.process.wait(timeout=10)
    deadline = time.monotonic() + 20
    while (port_is_open(stack.api_port) or port_is_open(stack.aws_port)) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not port_is_open(stack.api_port), "the API outlived its supervisor"
    assert not port_is_open(stack.aws_port), "the local AWS outlived its supervisor"


def test_a_corrupt_snapshot_is_reported_and_left_untouched(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    snapshot = state / "table-snapshot.jsonl"
    snapshot.write_text('{"PK": {"S": "TASK#x"}, "SK": {"S": "TASK#x"}}\nthis is not json\n')
    before = snapshot.read_text()
    result = run_to_failure("--port", str(free_port()), "--aws-port", str(free_port()), "--state-dir", str(state))
    assert result.returncode == 1
    assert "Could not restore" in result.stderr
    assert "line 2 is not JSON" in result.stderr
    assert snapshot.read_text() == before


def test_the_local_stack_runs_with_authentication_on(start_stack, tmp_path):
    stack = start_stack(AUTH_MODE="jwt")
    assert "manage.py issue_token <user>" in stack.output  # the banner says how to get a token
    rates = "THROTTLE_USER_RATE=600/min per signed-in user, THROTTLE_IP_RATE=1200/min per address"
    assert f"  Rate limits {rates} for requests without a valid token" in stack.output  # the defaults
    assert "Authorization: Bearer <token>" in stack.output  # and how to send it
    assert stack.request("GET", "/tasks")[0] == 401
    token = subprocess.run(
        [sys.executable, "manage.py", "issue_token", "alice"],
        cwd=settings.BASE_DIR,
        env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "LOCAL_STATE_DIR": str(tmp_path / "state")},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    status, body = stack.request("POST", "/tasks", {"title": "mine"}, token=token)
    assert (status, body["data"]["user_id"]) == (201, "alice")
    assert stack.request("GET", "/tasks", token=token)[1]["data"][0]["title"] == "mine"
    assert stack.stop() == 0


def test_a_webhook_retry_pending_at_a_restart_is_sent_after_it(start_stack):
    # Issue 14: a delivery's retry waits on the webhooks queue, delayed; stopping `make run` must
    # keep it (the stack saves that queue as it saves the events queue), and the restarted
    # worker sends it when it falls due.
    with running_receiver(statuses=[500]) as receiver:
        stack = start_stack()
        status, body = stack.request(
            "POST", "/webhooks", {"user_id": "dev", "url": receiver.url, "event_types": ["TaskCreated"]}
        )
        assert status == 201, body
        webhook_id = body["data"]["webhook_id"]
        assert stack.request("POST", "/tasks", {"user_id": "dev", "title": "Retried across a restart"})[0] == 201
        receiver.wait_for(1, timeout=30)  # answered 500: the retry is due 30 s later
        assert stack.stop(signal.SIGINT) == 0

        restarted = start_stack()
        [_, retry] = receiver.wait_for(2, timeout=90)
        assert retry.headers["webhook-id"] == receiver.received[0].headers["webhook-id"]
        deliveries = restarted.request("GET", f"/webhooks/{webhook_id}/deliveries?user_id=dev")[1]["data"]
        eventually(
            lambda: (
                restarted.request("GET", f"/webhooks/{webhook_id}/deliveries?user_id=dev")[1]["data"][0]["state"]
                == "succeeded"
            ),
            30,
            "the delivery recorded as succeeded",
        )
        assert len(deliveries) == 1
        assert restarted.stop(signal.SIGTERM) == 0

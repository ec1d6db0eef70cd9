"""`make run` sweeps for reminders on its own (issue 14 item 6): a task falling due gets its
`TaskDueSoon` in its history with nobody running the sweep, and the sweep's lines land in the
stack's log directory like the relay's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ops.local.log_trail import LOG_DIRECTORY
from tests.e2e import local_stack
from tests.e2e.local_stack import eventually

pytestmark = pytest.mark.e2e
start_stack = local_stack.start_stack  # the fixture


def test_a_task_falling_due_is_reminded_by_the_stack_itself(start_stack):
    # A second between sweeps instead of a minute: the schedule, not its length, is under test.
    stack = start_stack(reload=False, REMINDER_SWEEP_SECONDS="1")
    assert "Reminders   due tasks swept every 1 s" in stack.output
    due_at = (datetime.now(UTC) + timedelta(minutes=10)).isoformat(timespec="seconds").replace("+00:00", "Z")
    status, body = stack.request(
        "POST", "/tasks", {"user_id": "dev", "title": "Renew the certificate", "due_at": due_at}
    )
    assert status == 201, body
    task_id = body["data"]["task_id"]

    def history() -> list[str]:
        return [event["event_type"] for event in stack.request("GET", f"/tasks/{task_id}/events")[1]["data"]]

    # The default window is an hour: due in 10 minutes, it is due soon at the first sweep.
    eventually(lambda: "TaskDueSoon" in history(), 60, f"TaskDueSoon in {task_id}'s history")
    [reminded] = [
        event for event in stack.request("GET", f"/tasks/{task_id}/events")[1]["data"]
        if event["event_type"] == "TaskDueSoon"
    ]  # fmt: skip
    assert reminded["data"]["due_at"] == body["data"]["due_at"]  # the task's, as TaskCreated carries it

    log = stack.state_dir / LOG_DIRECTORY / "reminders.jsonl"
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    [recorded] = [line for line in lines if line["message"] == "Reminders recorded"]
    assert (recorded["level"], recorded["due_soon"], recorded["overdue"]) == ("INFO", 1, 0)
    assert not [line for line in lines if line["level"] in ("WARNING", "ERROR")], lines
    assert history().count("TaskDueSoon") == 1  # many sweeps since, one reminder
